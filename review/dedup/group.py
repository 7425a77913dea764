"""Duplicate groups from candidate pairs, and merging a group into one record."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from review.core.records import Record
from review.dedup.blocking import _progress, candidate_pairs
from review.dedup.compare import Comparison, compare, compatible
from review.dedup.prepare import DUPLICATE, MAYBE, Prepared, prepare


# -- grouping ---------------------------------------------------------------------------------
@dataclass
class DedupResult:
    """Duplicate groups and pairs found among a list of records (indices into that list)."""

    groups: list[list[int]]                       # groups of 2+ records, canonical (richest) first
    duplicates: list[tuple[int, int, Comparison]]  # pairs merged automatically
    maybe: list[tuple[int, int, Comparison]]       # pairs for a human
    vetoed: list[tuple[int, int, Comparison]]      # shared identifier, but conflicting evidence
    n_candidates: int = 0

    def group_of(self, n: int) -> list[int]:
        """Group index per record (records in no group get their own)."""
        out = list(range(n))
        for g in self.groups:
            for i in g:
                out[i] = g[0]
        return out


def find_duplicates(records: Sequence[Record], progress: bool = False,
                    same: Iterable[tuple[int, int]] = (), different: Iterable[tuple[int, int]] = (),
                    link_related: bool = True, prepared: Sequence[Prepared] | None = None) -> DedupResult:
    """Find duplicate groups among ``records``.

    Parameters
    ----------
    same, different : pairs of indices
        Human decisions: ``same`` pairs are always grouped, ``different`` pairs never.
    link_related : bool
        See :func:`compare`.
    prepared : list of Prepared, optional
        ``prepare(r)`` for every record, if already computed.
    """
    if prepared is None:
        prepared = [prepare(r) for r in _progress(records, progress, "preparing", len(records))]
    pairs = candidate_pairs(prepared, progress)
    titles = [p.title for p in prepared]
    if len(pairs):
        tsim = process.cpdist([titles[i] for i in pairs[:, 0]], [titles[j] for j in pairs[:, 1]],
                              scorer=fuzz.ratio, workers=-1)
    else:
        tsim = np.zeros(0)
    dups, maybe, vetoed = [], [], []
    for (i, j), ts in _progress(zip(pairs.tolist(), tsim.tolist()), progress, "comparing", len(pairs)):
        a, b = prepared[i], prepared[j]
        if ts < 80 and a.title and b.title and not _worth_a_look(a, b):
            continue  # titles too different, and nothing else that could make them one work
        c = compare(a, b, title_sim=ts if ts >= 96 else None, link_related=link_related)
        if c.outcome == DUPLICATE:
            dups.append((i, j, c))
            continue
        if c.outcome == MAYBE:
            maybe.append((i, j, c))
        if any(e in c.evidence_for for e in ("same doi", "same pmid", "same openalex id")):
            vetoed.append((i, j, c))  # a shared identifier overruled by conflicting evidence
    groups, chained = _group(prepared, dups, same, different, link_related)
    root = {x: g[0] for g in groups for x in g}
    maybe = [(i, j, c) for i, j, c in maybe + chained if root.get(i, i) != root.get(j, j)]
    dups = [(i, j, c) for i, j, c in dups if i in root and root[i] == root.get(j)]
    return DedupResult(groups, dups, maybe, vetoed, len(pairs))


def _worth_a_look(a: Prepared, b: Prepared) -> bool:
    """Pairs with dissimilar titles that may still be one work (identifier, translated title, subtitle dropped)."""
    if a.alt_titles or b.alt_titles or (a.review_id and a.review_id == b.review_id) or \
            (a.doi and a.doi == b.doi) or (a.pmid and a.pmid == b.pmid) or \
            (a.openalex_id and a.openalex_id == b.openalex_id) or \
            (a.volume and a.volume == b.volume and a.first_page and a.first_page == b.first_page):
        return True
    short, long_ = (a.title, b.title) if len(a.title) <= len(b.title) else (b.title, a.title)
    return len(short) >= 15 and (long_.startswith(short[:-3]) or long_.endswith(short))


def _group(prepared: Sequence[Prepared], dups, same, different, link_related: bool) -> tuple[list[list[int]], list]:
    """Union-find over the duplicate pairs, best first; two groups join only if all their members are compatible."""
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    def union(ra: int, rb: int) -> None:
        if len(members.get(ra, [ra])) < len(members.get(rb, [rb])):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] = members.get(ra, [ra]) + members.pop(rb, [rb])

    cannot: dict[int, set[int]] = defaultdict(set)
    for i, j in different:
        cannot[i].add(j)
        cannot[j].add(i)
    for i, j in same:
        ri, rj = find(i), find(j)
        if ri != rj:
            union(ri, rj)
    chained = []
    cache: dict[tuple[int, int], bool] = {}

    def ok(x: int, y: int) -> bool:
        if y in cannot.get(x, ()):
            return False
        k = (x, y) if x < y else (y, x)
        if k not in cache:
            cache[k] = compatible(prepared[x], prepared[y], link_related)
        return cache[k]

    for i, j, c in sorted(dups, key=lambda d: -d[2].score):
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        ma, mb = members.get(ri, [ri]), members.get(rj, [rj])
        if all(ok(x, y) for x in ma for y in mb):
            union(ri, rj)
        else:
            chained.append((i, j, Comparison(MAYBE, c.score, c.evidence_for,
                                             c.evidence_against + ["would join incompatible records"])))
    groups = []
    for _r, ms in members.items():
        if len(ms) > 1:
            ms = sorted(ms, key=lambda x: (-prepared[x].n_fields, x))
            groups.append(ms)
    groups.sort(key=lambda g: g[0])
    return groups, chained


# -- merging ----------------------------------------------------------------------------------
_MERGE_FIELDS = ("title", "abstract", "year", "venue", "volume", "issue", "pages", "type", "language", "doi",
                 "openalex_id", "pmid", "isbn", "publisher", "url", "cited_by_count")


def merge(records: Sequence[Record]) -> Record:
    """One record from a group, canonical first: its values, gaps filled from the others.

    Longest abstract and author list win; lists (references, concepts, keywords) are
    united; every source of every member is kept.
    """
    base = records[0]
    out = Record.from_dict(base.to_dict())
    for r in records[1:]:
        for f in _MERGE_FIELDS:
            if getattr(out, f) in (None, "", 0) and getattr(r, f) not in (None, ""):
                setattr(out, f, getattr(r, f))
        if len(r.abstract) > len(out.abstract):
            out.abstract = r.abstract
        if len(r.authors) > len(out.authors) or (len(r.authors) == len(out.authors) and
                                                 sum(bool(a.openalex_id) for a in r.authors) >
                                                 sum(bool(a.openalex_id) for a in out.authors)):
            out.authors = r.authors
        for f in ("referenced_works", "concepts", "topics", "keywords"):
            have = getattr(out, f)
            have.extend(x for x in getattr(r, f) if x not in have)
        out.sources.extend(s for s in r.sources if s not in out.sources)
    return out
