"""Search stage: the protocol's searches on OpenAlex (resumable, with snowballing) or on an offline snapshot,
written to the store."""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyalex
from tqdm.auto import tqdm

from review.core.errors import SnapshotError
from review.core.protocol import Protocol, Search
from review.core.provenance import tool_versions
from review.core.queries import default_seeds
from review.core.records import Record, Source
from review.core.search_query import parse
from review.core.store import Store
from review.core.text import fold, short_openalex_id
from review.sources.importers import read_file
from review.sources.openalex import LABEL_SELECT, MAX_IDS, Client, build_query, log
from review.sources.openalex_json import from_openalex
from review.sources.snapshot import read_records, record_matches


def import_files(store, paths: Iterable[str | Path], format: str | None = None, lenient: bool = False,
                 columns: dict[str, str] | None = None, encoding: str = "utf-8",
                 protocol_hash: str | None = None, strict: bool = False) -> dict[str, Any]:
    """Import files into the store: one ``import`` run per file; skipped entries and dropped fields logged as events.

    All files are read before anything is written, so an error (a malformed entry; with ``strict``, a
    malformed field too) leaves the store unchanged. Returns ``{"files": [per-file summary], "records": n,
    "new": n_new, "skipped": n, "problems": n, "results": [ImportResult]}``.
    """
    results = [read_file(p, format, lenient, columns, encoding, strict=strict) for p in paths]
    files = []
    for res in results:
        run_id = store.start_run("import", res.path, query={"format": res.format, "lenient": lenient,
                                                            "strict": strict}, protocol_hash=protocol_hash)
        new = store.add_records(res.records, run_id=run_id, raws=res.raws,
                                raw_format="openalex" if res.format == "openalex" else res.format)
        with store.transaction():
            for s in res.skipped:
                store.log("import", "skipped", data=s, run_id=run_id, protocol_hash=protocol_hash)
            for p in res.problems:
                store.log("import", "field_dropped", data=p, run_id=run_id, protocol_hash=protocol_hash)
            store.log("import", "imported", run_id=run_id, protocol_hash=protocol_hash,
                      data={"file": res.path, "format": res.format, "records": len(res.records), "new": new,
                            "skipped": len(res.skipped), "problems": len(res.problems)})
        info = res.summary()
        info["new"] = new
        store.finish_run(run_id, n_records=len(res.records), info=info)
        files.append(info)
    return {"files": files, "records": sum(f["records"] for f in files), "new": sum(f["new"] for f in files),
            "skipped": sum(f["skipped"] for f in files), "problems": sum(f["problems"] for f in files),
            "results": results}


def search_snapshot(store: Store, protocol: Protocol, snapshot: str | Path, progress: bool = True) -> dict[str, Any]:
    """Run every protocol search against a snapshot file and store the matching works.

    Returns
    -------
    dict
        ``{search name: {"run_id", "n_records", "skipped"}}``.
    """
    snapshot = Path(snapshot)
    todo: list[tuple[Search, Any, int]] = []
    summary: dict[str, Any] = {}
    for s in protocol.searches:
        query = {"source": f"snapshot:{snapshot.name}", **asdict(s)}
        done = store.find_run("search", s.name, query, protocol.hash)
        if done is not None and done["status"] == "done":
            summary[s.name] = {"run_id": done["id"], "n_records": done["n_records"], "skipped": True}
            continue
        todo.append((s, parse(s.query), query))
    if not todo:
        return summary
    hits: dict[str, list[tuple[Record, dict]]] = {s.name: [] for s, _, _ in todo}
    n_works = 0
    for rec, raw in tqdm(read_records(snapshot, name=snapshot.name), desc="search snapshot", unit=" works",
                         disable=not progress):
        n_works += 1
        folded = fold(rec.text)
        for s, node, _ in todo:
            if record_matches(rec, s, node, folded):
                hits[s.name].append((rec, raw))
    if not n_works:  # checked before any run is written: an empty file must not look like a search that found nothing
        raise SnapshotError(f"{snapshot}: no OpenAlex works in this file; give an OpenAlex snapshot (JSON array, "
                            "JSON Lines or API pages of works, optionally .gz or .zip)")
    for s, _, query in todo:
        run_id = store.start_run("search", s.name, query, protocol.hash, tool_versions())
        found = hits[s.name]
        for rec, _ in found:
            rec.sources = [type(src)("snapshot", f"search:{s.name}", src.locator) for src in rec.sources]
        new = store.add_records([r for r, _ in found], run_id, [w for _, w in found], "openalex")
        store.finish_run(run_id, "done", n_records=len(found), info={"new_records": new})
        store.log("identification", "search", run_id=run_id, protocol_hash=protocol.hash,
                  data={"search": s.name, "source": "snapshot", "n_records": len(found), "new_records": new})
        summary[s.name] = {"run_id": run_id, "n_records": len(found), "new_records": new, "skipped": False}
    return summary


def run(store: Store, protocol: Protocol, progress: bool = True, snapshot: str | Path | None = None) -> dict[str, Any]:
    """Identification stage: offline on ``snapshot`` (or the protocol's ``[source] snapshot``), else OpenAlex."""
    snapshot = snapshot or protocol.snapshot
    if snapshot:
        return {"source": "snapshot", "searches": search_snapshot(store, protocol, snapshot, progress)}
    return {"source": "openalex", **search_openalex(store, protocol, progress=progress)}


def _resume(store: Store, kind: str, label: str, query: dict, protocol_hash: str | None) -> tuple[int, bool, bool]:
    """(run id, finished already, resumed): the unfinished run with this identity, or a new one."""
    row = store.find_run(kind, label, query, protocol_hash)
    if row is not None and row["status"] == "done":
        return row["id"], True, False
    if row is not None:
        store.reopen_run(row["id"])
        return row["id"], False, True
    return store.start_run(kind, label, query, protocol_hash, tool_versions()), False, False


def _fail(store: Store, run_id: int, client: Client, error: BaseException) -> None:
    msg = client.redact(str(error) or type(error).__name__)
    store.finish_run(run_id, "failed", n_requests=client.n_requests, info={"error": msg})


def search(store: Store, protocol_search: Search, protocol_hash: str | None = None, *, base_url: str | None = None,
           per_page: int = 200, progress: bool = True, client: Client | None = None) -> dict[str, Any]:
    """Run one protocol search on OpenAlex and store every work found.

    A finished run with the same search, query and protocol hash is not repeated; an
    unfinished one resumes from its last saved cursor.

    Returns
    -------
    dict
        ``run_id``, ``n_records`` (distinct works of this search), ``new_records``
        (not in the store before), ``count`` (OpenAlex's total), ``requests`` and ``pages``
        (in this call), ``resumed``, ``skipped``, ``capped``.
    """
    client = client or Client(base_url, per_page=per_page)
    s = protocol_search
    name = f"search:{s.name}"
    query = {"source": "openalex", "url": client.public_base, **asdict(s)}
    run_id, done, resumed = _resume(store, "search", s.name, query, protocol_hash)
    if done:
        return {"run_id": run_id, "n_records": store.run(run_id)["n_records"], "skipped": True}
    state = store.checkpoint(run_id, "cursor") or {"cursor": "*", "page": 0, "fetched": 0, "new": 0, "count": None}
    seen = store.run_record_ids(run_id)
    requests_before, pages = client.n_requests, 0
    q = build_query(s)
    bar = tqdm(total=state["count"], initial=state["fetched"], desc=f"OpenAlex {s.name}", unit=" works",
               disable=not progress, leave=False)
    try:
        if state["cursor"] is not None:
            for page in client.pages(q, state["cursor"], state["fetched"]):
                pages += 1
                results = page.results
                capped = s.max_records is not None and state["fetched"] + len(results) >= s.max_records
                if capped:
                    results = results[: s.max_records - state["fetched"]]
                recs, raws = [], []
                for i, w in enumerate(results):
                    rec = from_openalex(w, Source("openalex", name, f"{state['page'] + 1}:{i}"))
                    if rec.id not in seen:
                        seen.add(rec.id)
                        recs.append(rec)
                        raws.append(w)
                state = {"cursor": None if capped else page.next_cursor, "page": state["page"] + 1,
                         "fetched": state["fetched"] + len(results), "count": page.count,
                         "new": state["new"], "capped": capped}
                with store.transaction():  # the page's records and the cursor after it: both or neither
                    state["new"] += store.add_records(recs, run_id, raws, "openalex")
                    store.set_checkpoint(run_id, "cursor", state)
                bar.total = page.count
                bar.update(len(results))
                if capped:
                    break
    except BaseException as e:
        _fail(store, run_id, client, e)
        raise
    finally:
        bar.close()
    n = len(seen)
    total_requests = client.n_requests - requests_before
    store.finish_run(run_id, "done", n_records=n, n_requests=total_requests,
                     info={"count": state["count"], "new_records": state["new"], "pages": state["page"],
                           "capped": bool(state.get("capped"))})
    summary = {"run_id": run_id, "n_records": n, "new_records": state["new"], "count": state["count"],
               "requests": total_requests, "pages": pages, "resumed": resumed, "skipped": False,
               "capped": bool(state.get("capped"))}
    store.log("identification", "search", run_id=run_id, protocol_hash=protocol_hash,
              data={"search": s.name, "source": "openalex", **{k: summary[k] for k in
                                                                 ("n_records", "new_records", "count", "capped")}})
    return summary


# -- citation chasing ------------------------------------------------------------------------
def snowball(store: Store, *, seeds: Iterable[str] | None = None, backward: bool = True, forward: bool = True,
             depth: int = 1, max_records: int = 5000, base_url: str | None = None, per_page: int = 200,
             progress: bool = True, client: Client | None = None,
             protocol_hash: str | None = None, label_cited: bool = True) -> dict[str, Any]:
    """Citation chasing from ``seeds``: the works they cite (backward) and the works citing them (forward).

    Ids are looked up 100 per request; citing works are found for 100 seeds per
    (cursor-paged) query. Works already in the store are not fetched again. Each
    level's new works are the seeds of the next, up to ``depth``; at most
    ``max_records`` new works are stored. Resumable like :func:`search`.

    Parameters
    ----------
    seeds : iterable of str, optional
        OpenAlex ids; default :func:`default_seeds`.
    label_cited : bool
        Then fetch labels of the cited works still not in the store (:func:`label_cited_works`).

    Returns
    -------
    dict
        ``run_id``, ``seeds``, ``new_records``, ``backward`` / ``forward`` (new works per
        direction), ``not_found`` (cited ids OpenAlex did not return), ``requests``,
        ``capped``, ``resumed``, ``skipped``; ``cited_works`` (:func:`label_cited_works`).
    """
    if depth < 1:
        raise ValueError(f"snowball depth must be 1 or more, not {depth}")
    client = client or Client(base_url, per_page=per_page)
    seed_ids = list(dict.fromkeys(i for i in map(short_openalex_id, seeds if seeds is not None
                                                 else default_seeds(store)) if i))
    if not seed_ids:
        log.warning("snowball: no seeds (no stored records with an OpenAlex id); nothing to do")
        return {"run_id": None, "seeds": 0, "new_records": 0, "requests": 0, "skipped": True}
    digest = hashlib.sha256(",".join(sorted(seed_ids)).encode()).hexdigest()[:16]
    query = {"source": "openalex", "url": client.public_base, "seeds": digest, "n_seeds": len(seed_ids),
             "backward": backward, "forward": forward, "depth": depth, "max_records": max_records}
    run_id, done, resumed = _resume(store, "snowball", "snowball", query, protocol_hash)
    if done:
        return {"run_id": run_id, "seeds": len(seed_ids), "new_records": store.run(run_id)["n_records"],
                "skipped": True}
    state = store.checkpoint(run_id, "state") or {"depth": 1, "phase": "backward", "batch": 0, "cursor": "*",
                                                  "fetched": 0, "not_found": 0}
    requests_before = client.n_requests
    known = set(store.record_ids())
    phases = [p for p, on in (("backward", backward), ("forward", forward)) if on]
    bar = tqdm(total=max_records, initial=len(store.run_record_ids(run_id)), desc="snowball", unit=" works",
               disable=not progress, leave=False)
    capped = False
    try:
        while state["depth"] <= depth and phases and not capped:
            d = state["depth"]
            frontier = seed_ids if d == 1 else sorted(
                store.run_record_ids(run_id, f"backward:d{d - 1}") | store.run_record_ids(run_id, f"forward:d{d - 1}"))
            if not frontier:
                break
            if state["phase"] not in phases:
                state = {**state, "phase": phases[0], "batch": 0, "cursor": "*", "fetched": 0}
            if state["phase"] == "backward":
                capped = _backward(store, client, run_id, d, frontier, known, state, max_records, bar)
                if not capped and "forward" in phases:
                    state = _save(store, run_id, {**state, "phase": "forward", "batch": 0, "cursor": "*", "fetched": 0})
            if state["phase"] == "forward" and not capped:
                capped = _forward(store, client, run_id, d, frontier, known, state, max_records, bar)
            state = _save(store, run_id, {**state, "depth": d + 1, "phase": phases[0], "batch": 0, "cursor": "*",
                                          "fetched": 0})
    except BaseException as e:
        _fail(store, run_id, client, e)
        raise
    finally:
        bar.close()
    found = {p: sum(len(store.run_record_ids(run_id, f"{p}:d{d}")) for d in range(1, depth + 1)) for p in phases}
    n = len(store.run_record_ids(run_id))
    summary = {"run_id": run_id, "seeds": len(seed_ids), "new_records": n, **found,
               "not_found": state["not_found"], "requests": client.n_requests - requests_before,
               "capped": capped, "resumed": resumed, "skipped": False}
    store.finish_run(run_id, "done", n_records=n, n_requests=summary["requests"],
                     info={k: summary[k] for k in ("seeds", *phases, "not_found", "capped")})
    store.log("identification", "snowball", run_id=run_id, protocol_hash=protocol_hash,
              data={k: summary[k] for k in ("seeds", "new_records", *phases, "not_found", "capped")}
              | {"depth": depth, "max_records": max_records})
    if label_cited:
        summary["cited_works"] = label_cited_works(store, client, progress=progress, protocol_hash=protocol_hash)
    return summary


# -- labels of cited works -------------------------------------------------------------------
def cited_to_label(store: Store, min_citations: int = 2, max_works: int = 20000) -> list[str]:
    """Ids the unique records cite at least ``min_citations`` times that the store neither holds as a
    record nor has looked up as a cited work; most cited first (ties: id), at most ``max_works``."""
    held = set(store.record_ids()) | store.cited_work_ids()
    cited = Counter(x for r in store.records(unique=True) for x in set(r.referenced_works))
    todo = [x for x, n in cited.items() if n >= min_citations and x not in held]
    return sorted(todo, key=lambda x: (-cited[x], x))[:max_works]


def label_cited_works(store: Store, client: Client, *, min_citations: int = 2, max_works: int = 20000,
                      progress: bool = True, protocol_hash: str | None = None) -> dict[str, Any]:
    """Fetch title, authors and year of the works the records cite but the store does not hold, to
    label them in maps (co-citation, key references).

    The M ids of :func:`cited_to_label` are looked up 100 per request (⌈M/100⌉ requests,
    ``filter=ids.openalex:W1|…`` with ``select`` of :data:`LABEL_SELECT`) and kept with
    :meth:`Store.put_cited_works`, one batch at a time: ids already looked up (found or not)
    are not asked again, so a stopped run resumes. They are not records: dedup, screening and
    PRISMA counts do not change. ``min_citations`` 2: co-citation maps show no reference cited
    once at their default threshold. Logged as a run of kind ``labels``.

    Returns
    -------
    dict
        ``cited`` (M), ``labelled`` (found), ``not_found``, ``requests``.
    """
    todo = cited_to_label(store, min_citations, max_works)
    if not todo:
        return {"cited": 0, "labelled": 0, "not_found": 0, "requests": 0}
    labels = client.with_select(LABEL_SELECT)
    query = {"source": "openalex", "url": client.public_base, "min_citations": min_citations, "max_works": max_works}
    run_id = store.start_run("labels", "cited works", query, protocol_hash, tool_versions())
    found = 0
    try:
        for a in tqdm(range(0, len(todo), MAX_IDS), desc="cited works", unit=" requests", disable=not progress,
                      leave=False):
            batch = todo[a:a + MAX_IDS]
            got = {short_openalex_id(w.get("id")): w for w in labels.works(batch)}
            store.put_cited_works({i: _light(got[i]) if i in got else None for i in batch})
            found += sum(i in got for i in batch)
    except BaseException as e:
        _fail(store, run_id, labels, e)
        raise
    finally:
        client.n_requests += labels.n_requests
    out = {"cited": len(todo), "labelled": found, "not_found": len(todo) - found, "requests": labels.n_requests}
    store.finish_run(run_id, "done", n_requests=labels.n_requests, info=out)
    return out


def _light(work: dict) -> dict[str, Any]:
    """What a map shows of a cited work."""
    rec = from_openalex(work)
    return {"title": rec.title, "year": rec.year, "authors": [a.name for a in rec.authors if a.name],
            "venue": rec.venue, "doi": rec.doi, "cited_by_count": rec.cited_by_count}


def _save(store: Store, run_id: int, state: dict, records: list[Record] = (), raws: list[dict] = ()) -> dict:
    """Store records and the state after them in one transaction."""
    with store.transaction():
        if records:
            store.add_records(records, run_id, raws, "openalex")
        store.set_checkpoint(run_id, "state", state)
    return state


def _room(store: Store, run_id: int, max_records: int) -> int:
    return max_records - len(store.run_record_ids(run_id))


def _backward(store: Store, client: Client, run_id: int, d: int, frontier: list[str], known: set[str],
              state: dict, max_records: int, bar: tqdm) -> bool:
    """Look up the works the frontier cites (not yet stored), 100 per request. Returns True if capped."""
    cited_by: dict[str, list[str]] = {}
    for seed in frontier:
        rec = store.record(seed)
        for ref in (rec.referenced_works if rec else []):
            cited_by.setdefault(ref, []).append(seed)
    key = f"batches:backward:d{d}"
    batches = store.checkpoint(run_id, key) if state["batch"] > 0 else None
    if batches is None:  # cut once and saved, so a resumed run looks up exactly the remaining batches
        todo = [ref for ref in cited_by if ref not in known]
        batches = [todo[i:i + MAX_IDS] for i in range(0, len(todo), MAX_IDS)]
        with store.transaction():
            store.set_checkpoint(run_id, key, batches)
            store.set_checkpoint(run_id, "state", state)
    for b in range(state["batch"], len(batches)):
        room = _room(store, run_id, max_records)
        if room <= 0:
            return True
        works = client.works(batches[b])
        recs, raws = [], []
        for w in works:
            rid = short_openalex_id(w.get("id"))
            if rid in known or rid not in cited_by or len(recs) >= room:
                continue
            rec = from_openalex(w)
            rec.sources = [Source("snowball", f"backward:d{d}", seed) for seed in cited_by[rid]]
            recs.append(rec)
            raws.append(w)
            known.add(rid)
        state.update(batch=b + 1, not_found=state["not_found"] + len(batches[b]) - len(works))
        _save(store, run_id, state, recs, raws)
        bar.update(len(recs))
        if len(recs) >= room:
            return True
    return False


def _forward(store: Store, client: Client, run_id: int, d: int, frontier: list[str], known: set[str],
             state: dict, max_records: int, bar: tqdm) -> bool:
    """Find the works citing the frontier, 100 seeds per cursor-paged query. Returns True if capped."""
    batches = [frontier[i:i + MAX_IDS] for i in range(0, len(frontier), MAX_IDS)]
    for b in range(state["batch"], len(batches)):
        wanted = set(batches[b])
        q = pyalex.Works().filter_or(cites=batches[b])
        for page in client.pages(q, state["cursor"] or "*", state.get("fetched", 0)):
            room = _room(store, run_id, max_records)
            recs, raws = [], []
            for w in page.results:
                rid = short_openalex_id(w.get("id"))
                if not rid or rid in known or len(recs) >= room:
                    continue
                cited = [s for s in map(short_openalex_id, w.get("referenced_works") or []) if s in wanted]
                rec = from_openalex(w)
                rec.sources = [Source("snowball", f"forward:d{d}", seed) for seed in (cited or [""])]
                recs.append(rec)
                raws.append(w)
                known.add(rid)
            capped = len(recs) >= room
            if page.next_cursor is None or capped:
                state.update(batch=b + 1, cursor="*", fetched=0)
            else:
                state.update(cursor=page.next_cursor, fetched=state.get("fetched", 0) + len(page.results))
            _save(store, run_id, state, recs, raws)
            bar.update(len(recs))
            if capped:
                return True
    return False


# -- the stage -------------------------------------------------------------------------------
def search_openalex(store: Store, protocol: Protocol, progress: bool = True, base_url: str | None = None,
                    per_page: int = 200, client: Client | None = None) -> dict[str, Any]:
    """Identification on OpenAlex: every protocol search, then snowballing as ``[snowball]`` says,
    then the labels of the cited works still not in the store (:func:`label_cited_works`).

    Returns
    -------
    dict
        ``{"searches": {name: summary}, "snowball": summary, "cited_works": summary}`` (no
        ``snowball`` key when the protocol has no ``[snowball]`` table or turns both directions off).
    """
    client = client or Client(base_url, per_page=per_page)
    out: dict[str, Any] = {"searches": {s.name: search(store, s, protocol.hash, client=client, progress=progress)
                                        for s in protocol.searches}}
    sb = protocol.config.snowball
    if sb and (sb.backward or sb.forward):
        out["snowball"] = snowball(store, backward=sb.backward, forward=sb.forward, depth=sb.depth,
                                   max_records=sb.max_records, label_cited=False,
                                   client=client, protocol_hash=protocol.hash, progress=progress)
    out["cited_works"] = label_cited_works(store, client, progress=progress, protocol_hash=protocol.hash)
    return out
