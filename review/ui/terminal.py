"""Screening in a terminal (``review screen``): one record at a time, keys i/e/m."""
from __future__ import annotations

from collections.abc import Iterable

from review.core.errors import ScreeningError
from review.screening.session import ScreeningSession

# -- terminal screening ---------------------------------------------------------------------------
TERMINAL_HELP = ("i = include, e = exclude, m = maybe (optionally followed by a criterion name or number "
                 "and a note after '--', e.g. 'e 3 -- animal study'), u = undo, q = quit")


def _parse_answer(line: str, criteria: list[str]) -> tuple[str, str | None, str | None]:
    text, _, note = line.partition("--")
    parts = text.split()
    key, rest = (parts[0].lower(), parts[1:]) if parts else ("", [])
    criterion = None
    if rest:
        c = rest[0]
        if c.isdigit() and 1 <= int(c) <= len(criteria):
            criterion = criteria[int(c) - 1]
        elif c in criteria:
            criterion = c
        else:
            raise ScreeningError(f"unknown criterion {c!r}; use a number 1-{len(criteria)} or a name: "
                                 f"{', '.join(criteria)}")
    return key, criterion, note.strip() or None


def screen_terminal(session: ScreeningSession, lines: Iterable[str], write=print, abstract_chars: int = 1200) -> dict:
    """A screening loop for the terminal (and tests): show the next record, read one answer line.

    Answers: see :data:`TERMINAL_HELP`. Ends at ``q``, at the end of input or when every
    record is screened; returns :meth:`ScreeningSession.progress`.
    """
    criteria = [c.name for c in session.protocol.criteria] if session.protocol else []
    if criteria:
        write("criteria: " + ", ".join(f"{i}={c}" for i, c in enumerate(criteria, start=1)))
    write(TERMINAL_HELP)
    lines = iter(lines)
    rec = session.next()
    while rec is not None:
        p = session.progress()
        st = p["stopping"]
        write(f"\n[{p['screened'] + 1}/{p['total']}] included so far {p['included']}; recall ≥ "
              f"{st['recall_lower_bound']:.0%} (95% conf.); {st['reason']}")
        write(f"{rec.id}  {rec.year or ''}  {rec.title}")
        if rec.abstract:
            write(rec.abstract[:abstract_chars] + ("…" if len(rec.abstract) > abstract_chars else ""))
        line = next(lines, None)
        if line is None:
            break
        try:
            key, criterion, note = _parse_answer(line, criteria)
        except ScreeningError as e:
            write(f"! {e}")
            continue
        if key == "q":
            break
        if key == "u":
            rid = session.undo()
            write(f"undone: {rid}" if rid else "nothing to undo")
        elif key in ("i", "e", "m"):
            decision = {"i": "include", "e": "exclude", "m": "maybe"}[key]
            try:
                session.decide(rec.id, decision, criterion=criterion, note=note)
            except ScreeningError as e:
                write(f"! {e}")
                continue
            write(f"saved: {decision}" + (f" ({criterion})" if criterion else ""))
        else:
            write(f"! unknown answer {line.strip()!r}; {TERMINAL_HELP}")
            continue
        rec = session.next()
    p = session.progress()
    write(f"\nscreened {p['screened']} of {p['total']}: {p['included']} included, {p['maybe']} maybe, "
          f"{p['excluded']} excluded. {p['stopping']['reason']}")
    return p
