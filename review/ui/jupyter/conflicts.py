"""Dual screening: the records two reviewers decided differently, one at a time, with resolution.

Each resolution goes through :func:`review.screening.reviewers.resolve` (a decision by reviewer
``"reconciled"``, committed before the widget says "saved").
"""
from __future__ import annotations

import html
import sqlite3

import ipywidgets as widgets

from review.core.errors import StoreError
from review.core.protocol import Protocol
from review.core.store import Store
from review.screening.reviewers import conflicts, kappa, resolve

from .highlight import STYLE, legend_html, record_html, term_groups
from .screening import status_html


def decisions_table(decisions: dict[str, dict]) -> str:
    """HTML table of each reviewer's decision, reason and note (escaped)."""
    rows = "".join(
        f"<tr><td>{html.escape(rv)}</td><td><b>{html.escape(d['decision'])}</b></td>"
        f"<td>{html.escape(d.get('criterion') or '')}</td><td>{html.escape(d.get('note') or '')}</td></tr>"
        for rv, d in decisions.items())
    return ('<table class="rv-pair"><tr><th>reviewer</th><th>decision</th><th>reason</th><th>note</th></tr>'
            f"{rows}</table>")


class ConflictView(widgets.VBox):
    """Resolve disagreements between reviewers at a screening stage.

    Parameters
    ----------
    store, protocol : the review.
    stage : "title_abstract" or "full_text".
    """

    def __init__(self, store: Store, protocol: Protocol | None, stage: str = "title_abstract"):
        self.store, self.protocol, self.stage = store, protocol, stage
        self.groups = term_groups(protocol)
        self.items: list[dict] = []
        self.position = 0
        self.header = widgets.HTML()
        self.card = widgets.HTML()
        self.table = widgets.HTML()
        options = [("— no reason —", "")] + [(c.name, c.name) for c in (protocol.criteria if protocol else [])]
        self.reason = widgets.Dropdown(options=options, value="", description="reason")
        self.note = widgets.Text(placeholder="why (optional)", description="note")
        self.buttons = {d: widgets.Button(description=f"Resolve: {d}", button_style=s)
                        for d, s in (("include", "success"), ("exclude", "danger"), ("maybe", "warning"))}
        for d, b in self.buttons.items():
            b.on_click(lambda _b, d=d: self.resolve(d))
        self.skip_button = widgets.Button(description="Skip")
        self.skip_button.on_click(lambda _b: self.skip())
        self.status = widgets.HTML()
        super().__init__([self.header, self.card, self.table, self.reason, self.note,
                          widgets.HBox([*self.buttons.values(), self.skip_button]), self.status])
        self.refresh()

    @property
    def current(self) -> dict | None:
        """The conflict on screen: ``{"record_id", "title", "decisions"}`` or None."""
        return self.items[self.position] if self.position < len(self.items) else None

    def refresh(self) -> None:
        """Reload the open conflicts and the agreement figures from the store."""
        self.items = conflicts(self.store, self.stage)
        if self.position >= len(self.items):  # past the end after a skip: start again at the top
            self.position = 0
        self._show()

    def resolve(self, decision: str) -> int | None:
        """Settle the conflict on screen; returns the decision id."""
        item = self.current
        if item is None:
            self.status.value = status_html("warn", "no open conflict")
            return None
        criterion, note = self.reason.value or None, self.note.value.strip() or None
        try:
            did = resolve(self.store, item["record_id"], decision, stage=self.stage, criterion=criterion,
                          note=note, protocol=self.protocol)
        except (ValueError, StoreError, sqlite3.Error) as e:
            self.status.value = status_html("err", f"NOT saved: {e}")
            return None
        self.status.value = status_html("ok", f"saved ✓ {item['record_id']} resolved as {decision}")
        self.reason.value, self.note.value = "", ""
        self.refresh()
        return did

    def skip(self) -> None:
        """Leave the conflict on screen open and show the next one."""
        if self.items:
            self.position = (self.position + 1) % len(self.items)
        self._show()

    def _show(self) -> None:
        k = kappa(self.store, self.stage)
        kv = "undefined" if k["kappa"] is None else f"{k['kappa']:.2f}"
        self.header.value = (STYLE + f"<b>Conflicts</b> · stage {html.escape(self.stage.replace('_', '/'))} · "
                             f"{len(self.items)} open · Cohen's κ {kv} on {k['n']} records decided by both"
                             + legend_html(self.groups))
        item = self.current
        for b in self.buttons.values():
            b.disabled = item is None
        if item is None:
            self.card.value, self.table.value = "<b>No open conflicts.</b>", ""
            return
        rec = self.store.record(item["record_id"])
        self.card.value = record_html(rec, self.groups) if rec else html.escape(item["record_id"])
        self.table.value = f"<p>{self.position + 1} of {len(self.items)}</p>" + decisions_table(item["decisions"])
