"""Machine-applicable inclusion and exclusion criteria (terms, years, languages, types) on one record."""
from __future__ import annotations

from review.core.protocol import Criterion, Protocol
from review.core.records import Record, base_type
from review.core.search_query import term_pattern
from review.core.text import fold


# -- rule pre-screen ---------------------------------------------------------------------------
def _term_hit(terms: list[str], text: str) -> bool:
    p = term_pattern(terms)
    return bool(p and p.search(text))


def rule_matches(criterion: Criterion, rec: Record, text: str | None = None) -> bool | None:
    """Whether ``rec`` satisfies every condition of the criterion's rule.

    ``text`` is the record's folded title and abstract (computed if not given). Returns
    None when a condition cannot be judged because the record lacks the field (no year,
    language, type or text): missing data never excludes a record.
    """
    text = fold(rec.text) if text is None else text
    checks: list[bool] = []
    if criterion.any_terms or criterion.all_terms or criterion.none_terms:
        if not text:
            return None
        if criterion.any_terms:
            checks.append(_term_hit(criterion.any_terms, text))
        if criterion.all_terms:
            checks.append(all(_term_hit([t], text) for t in criterion.all_terms))
        if criterion.none_terms:
            checks.append(not _term_hit(criterion.none_terms, text))
    if criterion.from_year or criterion.to_year:
        if rec.year is None:
            return None
        checks.append((criterion.from_year or -10**6) <= rec.year <= (criterion.to_year or 10**6))
    if criterion.languages:
        if not rec.language:
            return None
        checks.append(rec.language.lower() in {x.lower() for x in criterion.languages})
    if criterion.types:
        if not rec.type:
            return None
        checks.append(base_type(rec.type) in {base_type(x) for x in criterion.types})
    return all(checks)


def excluding_criteria(protocol: Protocol, rec: Record) -> list[str]:
    """Names of the automatic criteria that exclude ``rec`` (protocol order)."""
    text = fold(rec.text)
    out = []
    for c in protocol.criteria:
        if not (c.automatic and c.has_rule):
            continue
        m = rule_matches(c, rec, text)
        if m is None:
            continue
        if (c.kind == "include" and not m) or (c.kind == "exclude" and m):
            out.append(c.name)
    return out
