"""Identification: run the protocol's searches, online (OpenAlex) or offline (a snapshot file).

Offline, each search's text and filters are evaluated against every work of the
snapshot with the same matching rules the OpenAlex test server uses
(:mod:`review.query`). A finished search run (same name, query and protocol hash)
is not run again, so ``review run`` can be repeated and resumed.
"""
from __future__ import annotations

import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from . import __version__
from .protocol import Protocol, Search
from .query import matches, parse
from .records import Record, fold
from .snapshot import read_records
from .store import Store


def tool_versions() -> dict[str, str]:
    """Versions recorded with every run."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"review": __version__, "python": platform.python_version()}
    for pkg in ("pyalex", "scikit-learn", "rapidfuzz", "networkx", "bibtexparser"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def record_matches(rec: Record, search: Search, node=None, folded: str | None = None) -> bool:
    """Whether a record satisfies a search's text and filters.

    Unknown values (no year, type or language in the record) pass a filter:
    the 2023 OpenAlex schema has no ``language``, and excluding on a missing
    field would silently drop records.
    """
    if search.from_year and rec.year and rec.year < search.from_year:
        return False
    if search.to_year and rec.year and rec.year > search.to_year:
        return False
    if search.types and rec.type and rec.type not in search.types:
        return False
    if search.languages and rec.language and rec.language not in search.languages:
        return False
    return matches(node if node is not None else parse(search.query), folded if folded is not None else fold(rec.text))


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
        run_id = store.start_run("search", s.name, query, protocol.hash, tool_versions())
        todo.append((s, parse(s.query), run_id))
    if not todo:
        return summary
    hits: dict[str, list[tuple[Record, dict]]] = {s.name: [] for s, _, _ in todo}
    for rec, raw in tqdm(read_records(snapshot, name=snapshot.name), desc="search snapshot", unit=" works",
                         disable=not progress):
        folded = fold(rec.text)
        for s, node, _ in todo:
            if record_matches(rec, s, node, folded):
                hits[s.name].append((rec, raw))
    for s, _, run_id in todo:
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
    from . import openalex

    return {"source": "openalex", **openalex.run(store, protocol, progress=progress)}
