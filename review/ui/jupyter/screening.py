"""The screening widget: one record at a time, most likely relevant first.

Keys (click the dashed box once, or it takes the focus itself): ``i`` include, ``e`` exclude,
``m`` maybe, ``u`` undo the last decision, ``1``–``9`` pick a reason (the protocol's criteria
in order), ``0`` clear the reason; at the full-text stage ``n`` records that the full text
cannot be had (PRISMA "reports not retrieved"; the note is its reason). The buttons do the same.

A reason key belongs to the record it is pressed for: pressed before ``e`` it goes with that
exclusion; pressed right after an ``e`` that had no reason, it is added to that exclusion
(the status line says so), not carried to the next record.

Each decision goes through :meth:`review.screening.session.ScreeningSession.decide`, which commits it
to the store before returning; only then does the widget say "saved". The record on screen
is bookmarked in the store, so after a kernel restart a new widget shows the same record.
"""
from __future__ import annotations

import html
import sqlite3

import ipywidgets as widgets

from review.core.errors import StoreError
from review.core.protocol import Protocol
from review.core.records import Record
from review.core.store import Store
from review.screening.session import ScreeningSession

from .highlight import STYLE, legend_html, record_html, term_groups
from .keys import KeyPad

KEY_DECISIONS = {"i": "include", "e": "exclude", "m": "maybe"}
KEY_HELP = "⌨ i include · e exclude · m maybe · u undo · 1–9 reason · 0 no reason"
KEY_HELP_FULL_TEXT = KEY_HELP + " · n not retrievable"
NOT_RETRIEVED_REASON = "full text not retrievable (marked while screening)"
_BUTTON_STYLE = {"include": "success", "exclude": "danger", "maybe": "warning"}


def bookmark_key(stage: str, reviewer: str) -> str:
    """The store ``meta`` key holding the record a reviewer has on screen."""
    return f"jupyter.screening.{stage}.{reviewer}.current"


def status_html(kind: str, text: str) -> str:
    """A status line (``kind``: ok, warn or err), escaped."""
    return f'<span class="rv-{kind}">{html.escape(text)}</span>'


class ScreeningWidget(widgets.VBox):
    """Screen a review's records in JupyterLab.

    Parameters
    ----------
    store, protocol : the review.
    reviewer : your name; in dual screening each reviewer screens blind to the others.
    stage : "title_abstract" or "full_text".
    session : an existing :class:`~review.screening.session.ScreeningSession` (else one is built, which
        fits the text model on the pool: some seconds for thousands of records).
    abstract_chars : cut abstracts longer than this (None: show all).
    """

    def __init__(self, store: Store, protocol: Protocol | None, reviewer: str, stage: str = "title_abstract",
                 session: ScreeningSession | None = None, abstract_chars: int | None = None):
        self.session = session or ScreeningSession(store, protocol, reviewer, stage=stage)
        self.store, self.protocol = store, protocol
        self.reviewer, self.stage = self.session.reviewer, self.session.stage
        self.groups = term_groups(protocol)
        self.abstract_chars = abstract_chars
        self.criteria = [c.name for c in protocol.criteria] if protocol else []
        self.current: Record | None = None
        self.last_decision_id: int | None = None
        self._amendable: tuple[str, str, str | None] | None = None  # (record, decision, note) of a reasonless exclusion
        self.full_text = self.stage == "full_text"

        self.header = widgets.HTML(
            STYLE + f"<b>Screening</b> · reviewer <b>{html.escape(self.reviewer)}</b> · stage "
            f"{html.escape(self.stage.replace('_', '/'))} · {len(self.session)} records in the pool"
            + legend_html(self.groups))
        self.bar = widgets.IntProgress(min=0, max=max(len(self.session), 1), description="screened",
                                       layout=widgets.Layout(width="60%"))
        self.counts = widgets.HTML()
        self.card = widgets.HTML()
        options = [("— no reason —", "")] + [
            (f"{i}. {c.name}" + (f" — {c.description}" if c.description else ""), c.name)
            for i, c in enumerate(protocol.criteria if protocol else [], start=1)]
        self.reason = widgets.Dropdown(options=options, value="", description="reason",
                                       layout=widgets.Layout(width="60%"))
        self.note = widgets.Text(placeholder="note (optional)", description="note", layout=widgets.Layout(width="60%"))
        self.buttons = {d: widgets.Button(description=d.capitalize() + f" ({d[0]})", button_style=_BUTTON_STYLE[d],
                                          tooltip=f"{d} this record (key {d[0]})") for d in KEY_DECISIONS.values()}
        self.undo_button = widgets.Button(description="Undo (u)", tooltip="retract your last decision")
        for d, b in self.buttons.items():
            b.on_click(lambda _b, d=d: self._clicked(d))
        self.undo_button.on_click(lambda _b: self._clicked("undo"))
        self.missing_button = widgets.Button(description="Not retrievable (n)", tooltip="the full text cannot be "
                                             "had (PRISMA: reports not retrieved); the note says why (key n)")
        self.missing_button.on_click(lambda _b: self._clicked("missing"))
        extra = [self.missing_button] if self.full_text else []
        self.keypad = KeyPad(legend=KEY_HELP_FULL_TEXT if self.full_text else KEY_HELP,
                             accept=[*KEY_DECISIONS, "u", *"0123456789", *(["n"] if self.full_text else [])])
        self.keypad.on_key(self.press)
        self.status = widgets.HTML(status_html("warn", "ready"))
        super().__init__([self.header, self.bar, self.counts, self.card, self.reason, self.note,
                          widgets.HBox([*self.buttons.values(), *extra, self.undo_button, self.keypad]), self.status])
        for w, cls in ((self, "rv-screening"), (self.counts, "rv-counts"), (self.status, "rv-status")):
            w.add_class(cls)
        self._show(self._resume())

    # -- actions ------------------------------------------------------------------------------
    def decide(self, decision: str, record_id: str | None = None) -> int | None:
        """Decide the record on screen (with the chosen reason and note); returns the decision id.

        ``record_id`` is the record the reviewer saw when pressing the key; if another record is
        on screen by now, nothing is decided. The status says "saved" only after the store
        has committed the decision.
        """
        rec = self.current
        if rec is None:
            self.status.value = status_html("warn", "nothing left to screen")
            return None
        if record_id is not None and record_id != rec.id:
            self.status.value = status_html("warn", f"key ignored: pressed on {record_id}, but {rec.id} is shown now")
            return None
        criterion, note = self.reason.value or None, self.note.value.strip() or None
        self.status.value = status_html("warn", f"saving {decision} …")
        try:
            did = self.session.decide(rec.id, decision, criterion=criterion, note=note)
        except (ValueError, StoreError, sqlite3.Error) as e:
            self.status.value = status_html("err", f"NOT saved: {e}")
            return None
        self.last_decision_id = did
        self._amendable = (rec.id, decision, note) if decision == "exclude" and not criterion else None
        reason = f" ({criterion})" if criterion else ""
        self.status.value = status_html("ok", f"saved ✓ {decision}{reason} — {rec.id}: {rec.title[:70]}")
        self.reason.value, self.note.value = "", ""
        self._show(self.session.next())
        return did

    def pick_reason(self, criterion: str) -> None:
        """A reason key: added to the exclusion just made without one, else kept for the record on screen."""
        if self._amendable is not None and not self.reason.value:
            rid, decision, note = self._amendable
            self._amendable = None
            self.status.value = status_html("warn", f"saving reason {criterion} for {rid} …")
            try:
                self.last_decision_id = self.session.decide(rid, decision, criterion=criterion, note=note)
            except (ValueError, StoreError, sqlite3.Error) as e:
                self.status.value = status_html("err", f"reason NOT saved: {e}")
                return
            self.status.value = status_html(
                "ok", f"saved ✓ {decision} ({criterion}) — reason added to {rid}, the record before this one "
                      "(press it again to give it to this record)")
            return
        self.reason.value = criterion
        shown = f" on {self.current.id}" if self.current else ""
        self.status.value = status_html("warn", f"reason {criterion}: goes with your next decision{shown}")

    def mark_not_retrieved(self, record_id: str | None = None) -> bool:
        """Full-text stage: the full text of the record on screen cannot be had (the note is the reason)."""
        rec = self.current
        if not self.full_text:
            self.status.value = status_html("warn", "not retrievable is for the full-text stage")
            return False
        if rec is None or (record_id is not None and record_id != rec.id):
            self.status.value = status_html("warn", "key ignored: the record on screen has changed")
            return False
        reason = self.note.value.strip() or NOT_RETRIEVED_REASON
        self.status.value = status_html("warn", "saving not retrievable …")
        try:
            self.session.mark_not_retrieved(rec.id, reason)
        except (ValueError, StoreError, sqlite3.Error) as e:
            self.status.value = status_html("err", f"NOT saved: {e}")
            return False
        self._amendable = None
        self.status.value = status_html("ok", f"saved ✓ not retrievable ({reason}) — {rec.id}: {rec.title[:60]}; "
                                              f"if found later: review fulltext add {rec.id} FILE")
        self.reason.value, self.note.value = "", ""
        self._show(self.session.next())
        return True

    def undo(self) -> str | None:
        """Retract your latest decision and show that record again; returns its id."""
        try:
            rid = self.session.undo()
        except (StoreError, sqlite3.Error) as e:
            self.status.value = status_html("err", f"undo NOT saved: {e}")
            return None
        if rid is None:
            self.status.value = status_html("warn", "nothing to undo")
            return None
        self._amendable = None
        self.status.value = status_html("ok", f"undone ✓ — {rid} is shown again")
        self._show(self.session.next())
        return rid

    def press(self, key: str, record_id: str | None = None) -> None:
        """Handle a key: i / e / m decide, u undoes, 1–9 pick a reason (:meth:`pick_reason`), 0 clears it,
        n (full text) marks it not retrievable."""
        if key in KEY_DECISIONS:
            self.decide(KEY_DECISIONS[key], record_id)
        elif key == "u":
            self.undo()
        elif key == "n" and self.full_text:
            self.mark_not_retrieved(record_id)
        elif key == "0":
            self.reason.value = ""
            self._amendable = None
        elif key.isdigit() and 1 <= int(key) <= len(self.criteria):
            self.pick_reason(self.criteria[int(key) - 1])
        else:
            self.status.value = status_html("warn", f"key {key!r} does nothing; {self.keypad.legend}")

    def _clicked(self, what: str) -> None:
        if what == "undo":
            self.undo()
        elif what == "missing":
            self.mark_not_retrieved()
        else:
            self.decide(what)
        self.keypad.focus()  # keys keep working after a click, and never reach JupyterLab's shortcuts

    # -- display ------------------------------------------------------------------------------
    def _resume(self) -> Record | None:
        rid = self.store.meta(bookmark_key(self.stage, self.reviewer))
        if rid and rid in self.session.row_of and rid not in self.session.decisions():
            return self.store.record(rid)
        return self.session.next()

    def _show(self, rec: Record | None) -> None:
        self.current = rec
        if rec is None:
            self.card.value = "<b>Every record in the pool is screened.</b>"
            self.keypad.record_id = ""
        else:
            self.card.value = record_html(rec, self.groups, self.abstract_chars)
            self.keypad.record_id = rec.id
            self.store.meta(bookmark_key(self.stage, self.reviewer), rec.id)
        for b in [*self.buttons.values(), self.missing_button]:
            b.disabled = rec is None
        self._update_progress()

    def _update_progress(self) -> None:
        p = self.session.progress()
        st = p["stopping"]
        self.bar.value = p["screened"]
        stop = (status_html("ok", "stopping rule met: ") if st.get("stop") else "") + html.escape(st.get("reason", ""))
        bound = st.get("recall_lower_bound")
        self.counts.value = (
            f"{p['screened']} of {p['total']} screened · relevant found {p['included'] + p['maybe']} "
            f"({p['included']} include, {p['maybe']} maybe) · {p['excluded']} excluded<br>"
            + (f"estimated recall ≥ {bound:.0%} · " if bound is not None else "") + stop)
