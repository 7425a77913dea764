"""Every SQL read the stages share: decisions, pools, counts for status, the run summary, PRISMA and the report."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from review.core.errors import NetworkError, ScreeningError
from review.core.records import Author, Record
from review.core.store import Store

DECISIONS = ("include", "exclude", "maybe")
STAGES = ("title_abstract", "full_text")
RULES_REVIEWER = "rules"
RECONCILED = "reconciled"
PRESCREEN = "prescreen"
DATABASE_KINDS = ("openalex", "snapshot")  # PRISMA: sources counted as databases (the rest: other methods)
NO_REASON = "no reason given"
Lookup = Callable[[list[str]], dict[str, Record]]  # record ids -> the stored records among them


# -- pools and decisions -------------------------------------------------------------------------
def final_decisions(store: Store, stage: str = "title_abstract") -> dict[str, str]:
    """Outcome per record of a stage: the reconciled decision, else the reviewers' common one.

    Records whose reviewers disagree and are not reconciled are left out (see :func:`conflicts`).
    """
    by_rec: dict[str, dict[str, str]] = defaultdict(dict)
    for (rid, reviewer), row in store.current_decisions(stage).items():
        by_rec[rid][reviewer] = row["decision"]
    out = {}
    for rid, ds in by_rec.items():
        if RECONCILED in ds:
            out[rid] = ds[RECONCILED]
        elif len(set(ds.values())) == 1:
            out[rid] = next(iter(ds.values()))
    return out


def pool_ids(store: Store, stage: str = "title_abstract") -> list[str]:
    """Records to screen at a stage, in store order.

    Title-abstract: unique records not excluded by the pre-screen. Full text: records whose
    final title-abstract decision is include or maybe, but not those whose full text was
    recorded as not retrievable.
    """
    if stage not in STAGES:
        raise ScreeningError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    ids = store.record_ids(unique=True)
    if stage == "title_abstract":
        out = set(store.current_decisions(PRESCREEN, reviewer=RULES_REVIEWER))
        return [i for i in ids if i not in out]
    passed = {rid for rid, d in final_decisions(store, "title_abstract").items() if d in ("include", "maybe")}
    passed -= store.not_retrieved_ids()
    return [i for i in ids if i in passed]


def _mesh_payloads(store: Store, ids: Sequence[str]) -> list[dict]:
    """``{"mesh": [...]}`` per record from its raw OpenAlex payload (SQLite extracts it; no full JSON parse)."""
    out = []
    for rid in ids:
        row = store.conn.execute("SELECT CASE WHEN raw_format='openalex' AND json_valid(raw) "
                                 "THEN json_extract(raw, '$.mesh') END FROM records WHERE id=?", (rid,)).fetchone()
        out.append({"mesh": json.loads(row[0]) if row and row[0] else []})
    return out


# -- records -----------------------------------------------------------------------------------
def select_records(store, ids: Iterable[str] | None = None, included: str | None = None) -> list[Record]:
    """Unique records of a store, optionally only ``ids`` or only those included at a screening stage.

    Parameters
    ----------
    ids : iterable of str, optional
        Only these record ids (unknown ids are ignored; duplicates are left out).
    included : str, optional
        A screening stage (``"title_abstract"``, ``"full_text"``): only records whose final
        decision there is ``include``.
    """
    records = list(store.records(unique=True))
    if ids is not None:
        wanted = set(ids)
        records = [r for r in records if r.id in wanted]
    if included:
        keep = {rid for rid, d in final_decisions(store, included).items() if d == "include"}
        if not keep:
            raise NetworkError(f"{store.path}: no record has a final 'include' decision at stage {included!r}; "
                               "screen first, or build the network from all records")
        records = [r for r in records if r.id in keep]
    return records


def store_lookup(store) -> Lookup:
    """A :data:`Lookup` of what ``store`` knows about works outside a set: its records, else the
    cited works it keeps (see :meth:`Store.cited_works`) as light records (title, authors, year)."""
    def lookup(ids: list[str]) -> dict[str, Record]:
        found = {r.id: r for r in store.records(ids=ids)}
        rest = [i for i in ids if i not in found]
        if rest:
            found.update({i: cited_record(i, d) for i, d in store.cited_works(rest).items()})
        return found
    return lookup


def cited_record(work_id: str, data: dict[str, Any]) -> Record:
    """A :class:`Record` (not stored as one) from a cited work's light metadata."""
    return Record(id=work_id, openalex_id=work_id, title=data.get("title") or "", year=data.get("year"),
                  authors=[Author(n) for n in data.get("authors") or []], venue=data.get("venue") or "",
                  doi=data.get("doi"), cited_by_count=data.get("cited_by_count"))


# -- selections -------------------------------------------------------------------------------------------
def included_ids(store: Store, stage: str | None = None) -> list[str]:
    """Unique records whose final decision is include, in store order.

    ``stage=None``: at full text if any full-text decision exists, else at title-abstract.
    The final decision is the reconciled one where dual screening produced one, else the
    reviewers' common decision (:func:`review.core.queries.final_decisions`).
    """
    if stage is None:
        stage = ("full_text" if store.query("SELECT 1 FROM decisions WHERE stage='full_text' LIMIT 1")
                 else "title_abstract")
    inc = {rid for rid, d in final_decisions(store, stage).items() if d == "include"}
    return [i for i in store.record_ids(unique=True) if i in inc]


def _outcomes(store: Store, stage: str, among: set[str]) -> tuple[dict[str, str], dict[str, str | None], set[str]]:
    """(final decision, its criterion, records with a decision) at ``stage`` for records in ``among``."""
    final = {rid: d for rid, d in final_decisions(store, stage).items() if rid in among}
    rows: dict[str, dict[str, Any]] = {}
    for (rid, reviewer), row in store.current_decisions(stage).items():
        if rid in among:
            rows.setdefault(rid, {})[reviewer] = row
    criterion: dict[str, str | None] = {}
    for rid in final:
        by = rows[rid]
        if RECONCILED in by:
            criterion[rid] = by[RECONCILED]["criterion"]
        else:  # reviewers agree on the decision; take the first reason given, in reviewer order
            criterion[rid] = next((by[r]["criterion"] for r in sorted(by) if by[r]["criterion"]), None)
    return final, criterion, set(rows)


def _source_label(kind: str, name: str) -> str:
    short = name.split(":", 1)[1] if name.startswith("search:") else name
    if kind == "openalex":
        return f"OpenAlex: {short}"
    if kind == "snapshot":
        return f"OpenAlex (snapshot): {short}"
    if kind == "snowball":
        return f"Citation searching: {short}"
    if kind == "none":
        return "No source recorded"
    return f"{kind.upper()} file: {Path(name).name or name}"


def counts(store: Store) -> dict[str, Any]:
    """Every PRISMA 2020 number of the review, from the store (definitions in the module docstring)."""
    q = store.query
    sources = []
    for r in q("SELECT rs.kind, rs.name, COUNT(*) AS n, GROUP_CONCAT(DISTINCT ru.kind) AS run_kinds"
               " FROM record_sources rs JOIN records r ON r.id = rs.record_id LEFT JOIN runs ru ON ru.id = rs.run_id"
               " GROUP BY rs.kind, rs.name ORDER BY MIN(rs.rowid)"):
        database = r["kind"] in DATABASE_KINDS and "snowball" not in (r["run_kinds"] or "")
        sources.append({"group": "databases" if database else "other", "kind": r["kind"], "name": r["name"],
                        "label": _source_label(r["kind"], r["name"]), "n": int(r["n"])})
    unsourced = int(q("SELECT COUNT(*) FROM records WHERE id NOT IN (SELECT record_id FROM record_sources)")[0][0])
    if unsourced:
        sources.append({"group": "other", "kind": "none", "name": "", "label": _source_label("none", ""),
                        "n": unsourced})
    identified = sum(s["n"] for s in sources)
    n_records = int(q("SELECT COUNT(*) FROM records")[0][0])
    unique_ids = store.record_ids(unique=True)
    unique = set(unique_ids)
    merged = n_records - len(unique)

    auto = {rid: row for rid, row in store.current_decisions(PRESCREEN, reviewer=RULES_REVIEWER).items()
            if rid in unique and row["decision"] == "exclude"}
    pool = unique - set(auto)
    ta_final, ta_reason, ta_decided = _outcomes(store, "title_abstract", pool)
    screened = ta_decided
    ta_excluded = {rid for rid, d in ta_final.items() if d == "exclude"}
    sought = {rid for rid, d in ta_final.items() if d in ("include", "maybe")}
    ft_final, ft_reason, assessed = _outcomes(store, "full_text", sought)
    not_retrieved = (sought & store.not_retrieved_ids()) - assessed
    ft_excluded = {rid for rid, d in ft_final.items() if d == "exclude"}
    included = {rid for rid, d in ft_final.items() if d == "include"}

    def reasons(ids: set[str], crit: dict[str, str | None]) -> dict[str, int]:
        c = Counter(crit.get(rid) or NO_REASON for rid in ids)
        return dict(sorted(c.items(), key=lambda kv: (kv[0] == NO_REASON, kv[0])))

    return {
        "sources": sources,
        "identified": identified,
        "identified_databases": sum(s["n"] for s in sources if s["group"] == "databases"),
        "identified_other": sum(s["n"] for s in sources if s["group"] == "other"),
        "records": n_records,
        "unique": len(unique),
        "duplicates_removed": identified - len(unique),
        "duplicates_repeat_hits": identified - n_records,
        "duplicates_merged": merged,
        "excluded_by_automation": len(auto),
        "automation_reasons": reasons(set(auto), {rid: row["criterion"] for rid, row in auto.items()}),
        "not_screened": len(pool - screened),
        "screened": len(screened),
        "excluded_screening": len(ta_excluded),
        "screening_reasons": reasons(ta_excluded, ta_reason),
        "screening_conflicts": len(screened - set(ta_final)),
        "sought": len(sought),
        "not_retrieved": len(not_retrieved),
        "not_yet_assessed": len(sought - assessed - not_retrieved),
        "assessed": len(assessed),
        "excluded_full_text": len(ft_excluded),
        "full_text_reasons": reasons(ft_excluded, ft_reason),
        "full_text_undecided": len(assessed - ft_excluded - included),
        "included": len(included),
        "included_ids": [i for i in unique_ids if i in included],
    }


# -- definitions, seeds, screening tallies -----------------------------------------------------------
def definition_rows(store: Store, label: str | None = None) -> list:
    """Stored definitions with their record's year, in order: of the latest finished run of ``label``
    (a protocol id), or of every run."""
    sql = "SELECT d.*, r.year FROM definitions d LEFT JOIN records r ON r.id = d.record_id"
    params: list[Any] = []
    if label is not None:
        sql += " WHERE d.run_id = (SELECT MAX(id) FROM runs WHERE kind='definitions' AND label=? AND status='done')"
        params.append(label)
    return store.query(sql + " ORDER BY d.id", params)


def default_seeds(store: Store) -> list[str]:
    """OpenAlex ids of the unique stored records that came from a search or import (not from snowballing)."""
    rows = store.query(
        "SELECT r.openalex_id FROM records r WHERE r.openalex_id IS NOT NULL"
        " AND r.id NOT IN (SELECT record_id FROM duplicates)"
        " AND EXISTS (SELECT 1 FROM record_sources s WHERE s.record_id = r.id AND s.kind != 'snowball')"
        " ORDER BY r.rowid")
    return [r[0] for r in rows]


def decision_tally(store: Store) -> dict[tuple[str, str], dict[str, int]]:
    """``{(stage, reviewer): {decision: n}}`` over each reviewer's current decisions (undone ones left out)."""
    rows = store.query(
        "SELECT stage, reviewer, decision, COUNT(*) AS n FROM decisions d JOIN (SELECT MAX(id) AS id FROM decisions"
        " GROUP BY record_id, stage, reviewer) m ON d.id = m.id WHERE decision != 'undo'"
        " GROUP BY stage, reviewer, decision ORDER BY stage, reviewer, decision")
    out: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        out.setdefault((r["stage"], r["reviewer"]), {})[r["decision"]] = r["n"]
    return out


def status_counts(store: Store, numbers: dict[str, Any] | None = None) -> dict[str, int]:
    """What ``review status`` and the run summary print, in order.

    The review's numbers are PRISMA's (:func:`counts`, as the diagram, ``prisma.csv`` and the
    report show them: duplicates include records found again by another search, an undone
    rule exclusion is not counted); a few facts about the store follow.
    """
    c = numbers if numbers is not None else counts(store)
    q = lambda sql: int(store.query(sql)[0][0])  # noqa: E731
    return {
        "records identified": c["identified"],
        "duplicates removed": c["duplicates_removed"],
        "unique records": c["unique"],
        "excluded by rules": c["excluded_by_automation"],
        "screened": c["screened"],
        "not yet screened": c["not_screened"],
        "excluded at screening": c["excluded_screening"],
        "awaiting reconciliation": c["screening_conflicts"],
        "full texts sought": c["sought"],
        "full texts not retrieved": c["not_retrieved"],
        "full texts assessed": c["assessed"],
        "excluded at full text": c["excluded_full_text"],
        "included": c["included"],
        "records": c["records"],
        "dedup pairs to review": q("SELECT COUNT(*) FROM dedup_pairs WHERE status='maybe'"),
        "search runs": q("SELECT COUNT(*) FROM runs WHERE kind IN ('search','snowball','import')"),
        "interrupted runs": q("SELECT COUNT(*) FROM runs WHERE status='interrupted'"),
        "definitions": q("SELECT COUNT(*) FROM definitions"),
        "artifacts": q("SELECT COUNT(*) FROM artifacts"),
        "events": q("SELECT COUNT(*) FROM events"),
    }
