"""Review the dedup stage's "maybe" pairs: both records side by side, differences marked, Same / Different.

Pairs come from :func:`review.stages.dedup.maybe_pairs`; each answer goes through
:func:`review.stages.dedup.resolve_pair` and is committed before the widget says "saved".
"""
from __future__ import annotations

import difflib
import html
import sqlite3

import ipywidgets as widgets

from review.core.errors import StoreError
from review.core.records import Record
from review.core.store import Store
from review.core.text import fold

from .highlight import STYLE
from .screening import status_html

FIELDS = ("title", "authors", "year", "venue", "volume", "issue", "pages", "doi", "openalex_id", "pmid", "type",
          "abstract")


def field_text(rec: Record, name: str) -> str:
    """A record field as display text."""
    if name == "authors":
        return "; ".join(a.name for a in rec.authors)
    value = getattr(rec, name)
    return "" if value is None else str(value)


def diff_html(a: str, b: str) -> tuple[str, str]:
    """Escaped HTML of two texts with the runs of words that differ (ignoring case and accents) marked.

    Nothing is marked when one side is empty: the whole field is the difference.
    """
    wa, wb = a.split(), b.split()
    if not wa or not wb:
        return html.escape(a), html.escape(b)
    sm = difflib.SequenceMatcher(a=[fold(w) for w in wa], b=[fold(w) for w in wb], autojunk=False)

    def mark(words: list[str], spans: list[tuple[int, int]]) -> str:
        out, pos = [], 0
        for i, j in spans:
            out += [html.escape(w) for w in words[pos:i]]
            if j > i:
                out.append('<span class="rv-diff-word">' + " ".join(html.escape(w) for w in words[i:j]) + "</span>")
            pos = j
        return " ".join(out + [html.escape(w) for w in words[pos:]])

    ops = [op for op in sm.get_opcodes() if op[0] != "equal"]
    return mark(wa, [(i1, i2) for _, i1, i2, _, _ in ops]), mark(wb, [(j1, j2) for _, _, _, j1, j2 in ops])


def pair_html(a: Record, b: Record, score: float | None = None, reasons: str = "", cut: int = 700) -> str:
    """Side-by-side table of two records; rows whose values differ are shaded, differing words marked.

    Fields longer than ``cut`` characters (abstracts) are shortened.
    """
    rows = []
    for name in FIELDS:
        ta, tb = (t if len(t) <= cut else t[:cut].rstrip() + " …" for t in (field_text(a, name), field_text(b, name)))
        if not ta and not tb:
            continue
        same = fold(ta) == fold(tb)
        ha, hb = (html.escape(ta), html.escape(tb)) if same else diff_html(ta, tb)
        cls = "" if same else ' class="rv-diff"'
        rows.append(f"<tr{cls}><th>{name}</th><td>{ha}</td><td>{hb}</td></tr>")
    head = " · ".join(x for x in (f"score {score:.3f}" if score is not None else "", html.escape(reasons)) if x)
    head = f"<p>{head}</p>" if head else ""
    return (f'{head}<table class="rv-pair"><tr><th></th><th>{html.escape(a.id)}</th><th>{html.escape(b.id)}</th></tr>'
            + "".join(rows) + "</table>")


class DedupReviewWidget(widgets.VBox):
    """Decide the possible duplicates the dedup stage was unsure about.

    Parameters
    ----------
    store : the review store (after the dedup stage).
    reviewer : your name, stored with each answer.
    """

    def __init__(self, store: Store, reviewer: str):
        if not reviewer:
            raise ValueError("DedupReviewWidget needs a reviewer name")
        self.store, self.reviewer = store, reviewer
        self.pairs: list[dict] = []
        self.position = 0
        self.header = widgets.HTML()
        self.table = widgets.HTML()
        self.same_button = widgets.Button(description="Same record", button_style="success")
        self.diff_button = widgets.Button(description="Different records", button_style="danger")
        self.skip_button = widgets.Button(description="Skip")
        self.same_button.on_click(lambda _b: self.decide(True))
        self.diff_button.on_click(lambda _b: self.decide(False))
        self.skip_button.on_click(lambda _b: self.skip())
        self.status = widgets.HTML()
        super().__init__([self.header, self.table,
                          widgets.HBox([self.same_button, self.diff_button, self.skip_button]), self.status])
        self.refresh()

    @property
    def current(self) -> dict | None:
        """The pair on screen (``{"a", "b", "score", "reasons"}`` from
        :func:`review.stages.dedup.maybe_pairs`), or None."""
        return self.pairs[self.position] if self.position < len(self.pairs) else None

    def refresh(self) -> None:
        """Reload the undecided pairs from the store."""
        from review.stages.dedup import maybe_pairs

        self.pairs = maybe_pairs(self.store, with_records=False)
        if self.position >= len(self.pairs):  # past the end after a skip: start again at the top
            self.position = 0
        self._show()

    def decide(self, same: bool) -> bool:
        """Answer the pair on screen; True once the answer is saved."""
        from review.stages.dedup import resolve_pair

        pair = self.current
        if pair is None:
            self.status.value = status_html("warn", "no pair left to review")
            return False
        a, b = pair["a"], pair["b"]
        try:
            resolve_pair(self.store, a, b, same, self.reviewer)
        except (ValueError, StoreError, sqlite3.Error) as e:
            self.status.value = status_html("err", f"NOT saved: {e}")
            return False
        answer = "same record" if same else "different records"
        self.status.value = status_html("ok", f"saved ✓ {a} and {b}: {answer}")
        self.refresh()
        return True

    def skip(self) -> None:
        """Leave the pair on screen undecided and show the next."""
        if self.pairs:
            self.position = (self.position + 1) % len(self.pairs)
        self._show()

    def _show(self) -> None:
        self.header.value = STYLE + f"<b>Possible duplicates</b> · {len(self.pairs)} pair(s) to review"
        pair = self.current
        self.same_button.disabled = self.diff_button.disabled = pair is None
        if pair is None:
            self.table.value = "<b>No pairs left to review.</b>"
            return
        a, b = pair["a"], pair["b"]
        ra, rb = self.store.record(a), self.store.record(b)
        if ra is None or rb is None:
            self.table.value = status_html("err", f"record {a if ra is None else b} is not in the store")
            return
        self.table.value = (f"<p>pair {self.position + 1} of {len(self.pairs)}</p>"
                            + pair_html(ra, rb, pair.get("score"), pair.get("reasons") or ""))
