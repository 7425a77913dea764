"""Dedup stage: find duplicates among the stored records, keep the groups and the pairs to review.

Also the file mode of ``review dedup FILE --out DIR`` for exports outside a review.
"""
from __future__ import annotations

import csv
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from review.core.records import Record
from review.core.settings import DedupSettings
from review.dedup.group import find_duplicates, merge
from review.dedup.prepare import prepare


# -- the review stage -------------------------------------------------------------------------
def settings(protocol) -> dict[str, Any]:
    """The protocol's ``[dedup]`` settings (checked when it loaded); defaults without a protocol."""
    cfg = protocol.config.dedup if protocol is not None else DedupSettings()
    return {"link_related": cfg.link_related}


def run(store, protocol=None, progress: bool = True) -> dict[str, Any]:
    """Deduplicate the store's records (the ``dedup`` stage of ``review run``).

    Earlier groups and human decisions in ``dedup_pairs`` are kept (``same`` joins,
    ``different`` separates). New duplicates go to ``duplicates`` (record →
    canonical), the canonical record gets the merged metadata, new "maybe" pairs go
    to ``dedup_pairs``; every decision is an event (``dedup``/``duplicate``,
    ``maybe``, ``vetoed``) and the run's counts one more (``dedup``/``run``).
    """

    opts = settings(protocol) if protocol is not None else {"link_related": True}
    records = list(store.records())
    ids = [r.id for r in records]
    pos = {rid: i for i, rid in enumerate(ids)}
    existing = store.duplicates()
    decided = store.dedup_pairs(("same", "different"))
    pairs_of = lambda rows: [(pos[a], pos[b]) for a, b in rows if a in pos and b in pos]  # noqa: E731
    same = pairs_of(existing.items()) + pairs_of((r["a"], r["b"]) for r in decided if r["status"] == "same")
    different = pairs_of((r["a"], r["b"]) for r in decided if r["status"] == "different")
    res = find_duplicates(records, progress=progress, same=same, different=different, **opts)
    phash = getattr(protocol, "hash", None)
    run_id = store.start_run("dedup", "dedup", query=opts, protocol_hash=phash)
    why = {}
    for i, j, c in res.duplicates:
        why.setdefault(i, c)
        why.setdefault(j, c)
    known = {(r["a"], r["b"]) for r in store.dedup_pairs()}
    n_new = n_maybe = 0
    with store.transaction():
        for g in res.groups:
            # an existing canonical id stays canonical, so ids seen by reviewers do not move
            canon_i = next((pos[existing[ids[x]]] for x in g if existing.get(ids[x]) in pos), g[0])
            canon = ids[canon_i]
            for x in g:
                if x == canon_i or existing.get(ids[x]) == canon:
                    continue
                c = why.get(x)
                store.mark_duplicate(ids[x], canon, "auto" if c else "group", c.score if c else None, run_id)
                store.log("dedup", "duplicate", record_id=ids[x], run_id=run_id, protocol_hash=phash,
                          data={"canonical_id": canon, "score": c.score if c else None,
                                "reasons": c.reasons if c else "joined through its group"})
                n_new += 1
            store.update_record(merge([records[canon_i]] + [records[x] for x in g if x != canon_i]))
        for i, j, c in res.maybe:
            a, b = sorted((ids[i], ids[j]))
            if (a, b) in known:
                continue
            known.add((a, b))
            store.add_dedup_pair(a, b, "maybe", c.score, c.reasons)
            store.log("dedup", "maybe", record_id=a, run_id=run_id, protocol_hash=phash,
                      data={"a": a, "b": b, "score": c.score, "reasons": c.reasons})
            n_maybe += 1
        for i, j, c in res.vetoed:
            store.log("dedup", "vetoed", record_id=ids[i], run_id=run_id, protocol_hash=phash,
                      data={"a": ids[i], "b": ids[j], "reasons": c.reasons})
    unique = store.count_records(unique=True)
    summary = {"records": len(records), "candidate_pairs": res.n_candidates, "groups": len(res.groups),
               "new_duplicates": n_new, "unique": unique, "duplicates": len(records) - unique,
               "new_maybe_pairs": n_maybe, "maybe_pairs_open": len(maybe_pairs(store, with_records=False))}
    store.log("dedup", "run", run_id=run_id, protocol_hash=phash, data=summary)
    store.finish_run(run_id, n_records=len(records), info=summary)
    return summary


# -- the review queue -------------------------------------------------------------------------
def maybe_pairs(store, with_records: bool = True) -> list[dict[str, Any]]:
    """Open "maybe" pairs, best score first: ``{a, b, score, reasons[, record_a, record_b]}``."""
    rows = store.dedup_pairs(("maybe",))
    out = []
    for r in rows:
        item = {"a": r["a"], "b": r["b"], "score": r["score"], "reasons": r["info"] or ""}
        if with_records:
            item["record_a"], item["record_b"] = store.record(r["a"]), store.record(r["b"])
        out.append(item)
    return out


def resolve_pair(store, a: str, b: str, same: bool, reviewer: str) -> None:
    """Record a human decision on a pair; ``same=True`` also marks the duplicate at once.

    The record with the more complete metadata stays canonical; its group absorbs
    the other record's group.
    """

    if not reviewer:
        raise ValueError("resolve_pair needs the reviewer's name")
    ra, rb = store.record(a), store.record(b)
    for rid, rec in ((a, ra), (b, rb)):
        if rec is None:
            raise ValueError(f"record {rid!r} is not in the store")
    a, b = sorted((a, b))
    status = "same" if same else "different"
    with store.transaction():
        store.add_dedup_pair(a, b, status, info="human", decided_by=reviewer)
        store.log("dedup", "pair_resolved", record_id=a, actor=reviewer, data={"a": a, "b": b, "decision": status})
        if not same:
            return
        canon = store.duplicates()
        ca, cb = canon.get(a, a), canon.get(b, b)
        if ca == cb:
            return
        keep, drop = sorted((ca, cb), key=lambda rid: (-prepare(store.record(rid)).n_fields, rid))
        moved = [rid for rid, c in canon.items() if c == drop] + [drop]
        for rid in moved:
            store.mark_duplicate(rid, keep, f"human:{reviewer}")
            store.log("dedup", "duplicate", record_id=rid, actor=reviewer,
                      data={"canonical_id": keep, "reasons": "reviewer decision"})
        store.update_record(merge([store.record(keep), store.record(drop)]))


def review_queue(store, reviewer: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> dict[str, int]:
    """Terminal review of the "maybe" pairs: answer ``s`` (same), ``d`` (different), ``k`` (skip), ``q`` (quit).

    Reads answers line by line from ``stdin``, so it can be scripted and tested.
    """
    counts = {"same": 0, "different": 0, "skipped": 0}
    pairs = maybe_pairs(store)
    for n, p in enumerate(pairs, 1):
        print(f"\n[{n}/{len(pairs)}] score {p['score'] if p['score'] is not None else '-'}  ({p['reasons']})",
              file=stdout)
        for label, rec in (("A", p["record_a"]), ("B", p["record_b"])):
            print(f"  {label} {rec.id}: {_describe(rec)}", file=stdout)
        while True:
            print("same / different / skip / quit? [s/d/k/q] ", end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                return counts
            ans = line.strip().lower()[:1]
            if ans in ("s", "d"):
                resolve_pair(store, p["a"], p["b"], same=ans == "s", reviewer=reviewer)
                counts["same" if ans == "s" else "different"] += 1
                break
            if ans == "k":
                counts["skipped"] += 1
                break
            if ans == "q":
                return counts
            print("  answer s, d, k or q", file=stdout)
    return counts


def _describe(rec: Record) -> str:
    authors = "; ".join(a.name for a in rec.authors[:3]) + (" et al." if len(rec.authors) > 3 else "")
    bits = [rec.title or "(no title)", authors, str(rec.year or ""), rec.venue,
            " ".join(x for x in (rec.volume and f"vol {rec.volume}", rec.issue and f"({rec.issue})",
                                 rec.pages and f"p {rec.pages}") if x), rec.doi and f"doi {rec.doi}"]
    return " | ".join(b for b in bits if b)


# -- file mode --------------------------------------------------------------------------------
RECORD_COLUMNS = ("ID", "title", "author", "year", "journal", "volume", "number", "pages", "doi", "pmid",
                  "openalex_id", "ENTRYTYPE", "publisher", "isbn", "url", "abstract", "merged_ids")


def dedup_files(paths: Sequence[str | Path], out_dir: str | Path, format: str | None = None,
                lenient: bool = False, columns: dict[str, str] | None = None, encoding: str = "utf-8",
                progress: bool = False, strict: bool = False) -> dict[str, Any]:
    """Deduplicate files without a review store.

    Writes ``out_dir/duplicate_groups.csv`` (``record_id,group_id`` for every input
    record; ``group_id`` is the record_id of the group's kept record),
    ``out_dir/maybe_pairs.csv`` and ``out_dir/records.csv`` (the deduplicated records,
    merged) and ``out_dir/import_problems.csv`` (fields dropped and entries skipped on reading, see
    :func:`~review.sources.importers.write_problems`). ``record_id`` is the input's own id (CSV ``ID``,
    BibTeX key, RIS ``ID``
    or position, OpenAlex id); with several files, ids used in more than one file are
    prefixed ``file name:``.
    """
    from review.sources.importers import read_file, write_problems

    results = [read_file(p, format, lenient, columns, encoding, strict=strict) for p in paths]
    records: list[Record] = []
    keys: list[str] = []
    key_files: dict[str, set[str]] = defaultdict(set)
    for res in results:
        for k in res.keys:
            key_files[k].add(res.path)
    for res in results:
        records.extend(res.records)
        keys.extend(f"{Path(res.path).name}:{k}" if len(key_files[k]) > 1 else k for k in res.keys)
    res = find_duplicates(records, progress=progress)
    group = res.group_of(len(records))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "duplicate_groups.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id", "group_id"])
        for i, k in enumerate(keys):
            w.writerow([k, keys[group[i]]])
    with open(out / "maybe_pairs.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id_a", "record_id_b", "score", "reasons", "title_a", "title_b"])
        for i, j, c in sorted(res.maybe, key=lambda m: -m[2].score):
            w.writerow([keys[i], keys[j], c.score, c.reasons, records[i].title, records[j].title])
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group):
        members[g].append(i)
    with open(out / "records.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(RECORD_COLUMNS)
        for g, ms in members.items():
            rec = merge([records[g]] + [records[x] for x in ms if x != g])
            w.writerow([keys[g], rec.title, " and ".join(a.name for a in rec.authors), rec.year or "", rec.venue,
                        rec.volume, rec.issue, rec.pages, rec.doi or "", rec.pmid or "", rec.openalex_id or "",
                        rec.type, rec.publisher, rec.isbn, rec.url, rec.abstract, ";".join(keys[x] for x in ms)])
    skipped = [s for r in results for s in r.skipped]
    n_problems = write_problems(out / "import_problems.csv", results)
    return {"records": len(records), "unique": len(members), "groups": len(res.groups),
            "duplicates": len(records) - len(members), "maybe_pairs": len(res.maybe), "skipped": len(skipped),
            "skipped_entries": skipped, "problem_entries": [p for r in results for p in r.problems],
            "problems": n_problems, "problems_file": str(out / "import_problems.csv"),
            "out": str(out)}
