"""Escaped HTML for records, with the protocol's terms highlighted.

Terms are matched the way every stage matches them (:func:`review.core.search_query.term_pattern` on
:func:`review.core.text.fold`-ed text), then mapped back to character spans of the original
text, so *Samskabelse*, *co‑production* and *shared decision-making* are marked where the
reader sees them. Everything that came from a record is passed through :func:`html.escape`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache

from review.core.protocol import Protocol
from review.core.records import Record
from review.core.search_query import term_pattern
from review.core.text import fold

#: CSS for the classes used below; widgets include it once in their header.
STYLE = """<style>
.rv-card {font-size: 14px; line-height: 1.45; max-width: 62em;}
.rv-card .rv-title {font-size: 16px; font-weight: 600; margin: 2px 0 4px 0;}
.rv-card .rv-meta {color: var(--jp-ui-font-color2, #555); margin-bottom: 6px;}
.rv-card .rv-abstract {margin-top: 6px; white-space: pre-wrap;}
.rv-card a {color: var(--jp-content-link-color, #1565c0);}
mark.rv-concept {background: #ffe27a; color: #000; padding: 0 1px; border-radius: 2px;}
mark.rv-related {background: #cfe8ff; color: #000; padding: 0 1px; border-radius: 2px;}
mark.rv-include {background: #c8f0c8; color: #000; padding: 0 1px; border-radius: 2px;}
mark.rv-exclude {background: #ffc4c4; color: #000; padding: 0 1px; border-radius: 2px;}
.rv-legend mark {margin-right: 6px;}
.rv-diff {background: #fff1c2;}
.rv-diff-word {background: #ffc4c4; color: #000;}
table.rv-pair {border-collapse: collapse; width: 100%; table-layout: fixed; line-height: 1.4;}
table.rv-pair th:first-child {width: 7.5em;}
table.rv-pair td, table.rv-pair th {border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; text-align: left;
  overflow-wrap: anywhere;}
.rv-ok {color: #1b5e20; font-weight: 600;}
.rv-warn {color: #8a4b00; font-weight: 600;}
.rv-err {color: #b71c1c; font-weight: 600;}
</style>"""


@dataclass(frozen=True)
class TermGroup:
    """Terms highlighted with one CSS class (``concept``, ``related``, ``include``, ``exclude``)."""

    kind: str
    label: str
    terms: tuple[str, ...]


def term_groups(protocol: Protocol | None) -> list[TermGroup]:
    """The protocol's concept synonyms (every language), related terms and criteria terms.

    Earlier groups win where two overlap: concepts, then criteria, then related terms.
    """
    if protocol is None:
        return []
    groups = [TermGroup("concept", c.label, tuple(c.all_terms)) for c in protocol.concepts if c.all_terms]
    for cr in protocol.criteria:
        terms = tuple(cr.any_terms) + tuple(cr.all_terms) + tuple(cr.none_terms)
        if terms:
            label = f"{cr.name}: {cr.description}" if cr.description else cr.name
            groups.append(TermGroup(cr.kind, label, terms))
    groups += [TermGroup("related", f"related to {c.label}", tuple(c.related)) for c in protocol.concepts if c.related]
    return groups


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    # fold() strips the ends; letters on both sides keep a leading or trailing separator (Thai "ำ" → " า")
    return fold(f"a{ch}a")[1:-1]


def fold_map(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` and, for each folded character, the index of the original character it came from.

    A run of punctuation and spaces becomes one space mapped to the run's first character.
    The folded text equals :func:`~review.core.text.fold`'s.
    """
    out: list[str] = []
    where: list[int] = []
    gap: int | None = None
    lower = text.lower()  # whole-text lower-casing knows context (Greek final sigma)
    for i, ch in enumerate(lower if len(lower) == len(text) else text):
        for c in _fold_char(ch):
            if c == " ":
                if out and gap is None:
                    gap = i
                continue
            if gap is not None:
                out.append(" ")
                where.append(gap)
                gap = None
            out.append(c)
            where.append(i)
    return "".join(out), where


def term_spans(text: str, groups: list[TermGroup]) -> list[tuple[int, int, TermGroup]]:
    """Non-overlapping ``(start, end, group)`` character spans of ``text`` where a group's term occurs."""
    folded, where = fold_map(text)
    found: list[tuple[int, int, int, TermGroup]] = []
    for rank, g in enumerate(groups):
        pattern = term_pattern(list(g.terms))
        if pattern is None:
            continue
        for m in pattern.finditer(folded):
            if m.end() > m.start():
                found.append((where[m.start()], where[m.end() - 1] + 1, rank, g))
    found.sort(key=lambda s: (s[2], s[0]))  # group priority first
    taken: list[tuple[int, int, TermGroup]] = []
    for start, end, _, g in found:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, g))
    return sorted(taken, key=lambda s: s[0])


def highlight(text: str, groups: list[TermGroup]) -> str:
    """Escaped HTML of ``text`` with each term occurrence in ``<mark class="rv-KIND" title="LABEL">``."""
    parts, pos = [], 0
    for start, end, g in term_spans(text or "", groups):
        parts.append(html.escape(text[pos:start]))
        parts.append(f'<mark class="rv-{g.kind}" title="{html.escape(g.label)}">{html.escape(text[start:end])}</mark>')
        pos = end
    parts.append(html.escape((text or "")[pos:]))
    return "".join(parts)


def legend_html(groups: list[TermGroup]) -> str:
    """A one-line key to the highlight colours used by ``groups``."""
    names = {"concept": "concept synonym", "include": "inclusion-criterion term",
             "exclude": "exclusion-criterion term", "related": "related term"}
    kinds = [k for k in names if any(g.kind == k for g in groups)]
    return '<div class="rv-legend">' + "".join(f'<mark class="rv-{k}">{names[k]}</mark>' for k in kinds) + "</div>"


def _authors(rec: Record, limit: int = 6) -> str:
    names = [a.name for a in rec.authors if a.name]
    more = " et al." if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def links_html(rec: Record) -> str:
    """DOI, OpenAlex and landing-page links of a record (escaped)."""
    links = []
    if rec.doi:
        links.append(("DOI", f"https://doi.org/{rec.doi}"))
    if rec.openalex_id:
        links.append(("OpenAlex", f"https://openalex.org/{rec.openalex_id}"))
    if rec.url and rec.url.startswith(("https://", "http://")) and not rec.doi:
        links.append(("web page", rec.url))
    return " · ".join(f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{name}</a>'
                      for name, url in links)


def record_html(rec: Record, groups: list[TermGroup], abstract_chars: int | None = None) -> str:
    """A record as an HTML card: highlighted title and abstract, authors, year, venue, links."""
    abstract = rec.abstract or ""
    cut = abstract_chars is not None and len(abstract) > abstract_chars
    if cut:
        abstract = abstract[:abstract_chars]
    meta = " · ".join(html.escape(x) for x in (_authors(rec), str(rec.year or "n.d."), rec.venue) if x)
    body = highlight(abstract, groups) + ("…" if cut else "") if abstract else "<i>(no abstract)</i>"
    links = links_html(rec)
    return (f'<div class="rv-card"><div class="rv-title">{highlight(rec.title or "(no title)", groups)}</div>'
            f'<div class="rv-meta">{meta}{" · " + links if links else ""}'
            f' · <code>{html.escape(rec.id)}</code></div><div class="rv-abstract">{body}</div></div>')
