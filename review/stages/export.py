"""Export stage: BibTeX / RIS / CSL-JSON of selected records, PRISMA diagram and report."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from review.core.errors import ExportError
from review.core.queries import included_ids
from review.core.settings import EXPORT_FORMATS as FORMATS
from review.core.settings import ExportSettings
from review.core.store import Store
from review.writers.bibliography import SUFFIXES, store_keys, to_bibtex, to_csljson, to_ris


def _ids_in(value: Any) -> list[str]:
    """Record ids in a networks artifact value: a list of ids or of dicts with ``id`` / ``record_id``."""
    out = []
    for x in value or []:
        if isinstance(x, dict):
            x = x.get("record_id") or x.get("id") or x.get("openalex_id")
        if isinstance(x, str) and x:
            out.append(x)
    return out


def _networks(store: Store, kind: str | None, prefer: Sequence[str]) -> list[tuple[str, dict]]:
    """``(kind, artifact)`` of the networks stage: the one asked for, else all, preferred kinds first."""
    names = sorted(name for name, _ in store.artifacts("network:"))
    kinds = [n.split(":", 1)[1] for n in names]
    if kind is not None:
        if kind not in kinds:
            raise ExportError(f"no {kind!r} network in this review (have: {', '.join(kinds) or 'none'}); "
                              "run the networks stage first (`review run PROTOCOL --stages networks`)")
        kinds = [kind]
    kinds = sorted(kinds, key=lambda k: (k not in prefer, prefer.index(k) if k in prefer else 0, k))
    arts = [(k, store.artifact(f"network:{k}")) for k in kinds]
    return [(k, a) for k, a in arts if isinstance(a, dict)]


def key_reference_ids(store: Store, kind: str | None = None) -> list[str]:
    """Ids of the key references found by the networks stage (co-citation network first)."""
    for _, art in _networks(store, kind, ("cocitation", "citation")):
        refs = art.get("key_references")
        if isinstance(refs, dict):  # {"cited": [...], "local": [...]}: most cited by the set, most cited within it
            refs = [*refs.get("cited", []), *refs.get("local", [])]
        ids = list(dict.fromkeys(_ids_in(refs)))
        if ids:
            return ids
    raise ExportError("no key references yet: run the networks stage first (`review run PROTOCOL --stages networks`)")


def cluster_ids(store: Store, cluster: int | str, kind: str | None = None) -> list[str]:
    """Ids of the members of one cluster of a network (default: bibliographic coupling, whose nodes are records)."""
    arts = _networks(store, kind, ("coupling", "citation"))
    if not arts:
        raise ExportError("no clusters yet: run the networks stage first (`review run PROTOCOL --stages networks`)")
    k, art = arts[0]
    clusters = art.get("clusters") or []
    if isinstance(clusters, dict):
        found = clusters.get(str(cluster))
    else:
        found = next((c for c in clusters if isinstance(c, dict)
                      and str(c.get("id", c.get("cluster"))) == str(cluster)), None)
    if found is None:
        raise ExportError(f"no cluster {cluster} in the {k} network")
    members = found.get("members", found.get("records", found.get("nodes"))) if isinstance(found, dict) else found
    if members is None:  # the summary names only the top nodes: read every member from the GraphML export
        graphml = next((Path(f) for f in (art.get("files") or {}).values()
                        if isinstance(f, str) and f.endswith(".graphml") and Path(f).is_file()), None)
        if graphml is None:
            raise ExportError(f"the {k} network lists no members of cluster {cluster} and has no GraphML file; "
                              "run the networks stage again")
        import networkx as nx

        g = nx.read_graphml(graphml)
        members = [n for n, d in g.nodes(data=True) if str(d.get("cluster")) == str(cluster)]
    return _ids_in(members)


def select(store: Store, spec: str = "all") -> list[str]:
    """Record ids for a selection.

    ``all`` (unique records), ``included`` (:func:`included_ids`), ``key-references``
    (``key-references:KIND`` for one network), ``cluster:N`` or ``cluster:KIND:N``.
    """
    spec = (spec or "all").strip()
    parts = spec.split(":")
    if spec == "all":
        return store.record_ids(unique=True)
    if spec == "included":
        return included_ids(store)
    if parts[0] == "key-references" and len(parts) <= 2:
        return key_reference_ids(store, parts[1] if len(parts) == 2 else None)
    if parts[0] == "cluster" and len(parts) in (2, 3) and parts[-1].isdigit():
        return cluster_ids(store, int(parts[-1]), parts[1] if len(parts) == 3 else None)
    raise ExportError(f"unknown selection {spec!r}; use all, included, key-references[:KIND] or cluster:[KIND:]N")


def export(store: Store, out: str | Path, fmt: str = "bibtex", ids: Sequence[str] | str = "all",
           abstract: bool = True, unicode: bool = True) -> dict[str, Any]:
    """Write the selected records of a review to ``out`` in ``fmt``.

    Returns ``{"path", "format", "n", "not_in_store"}``.

    ``ids``: a selection name (see :func:`select`; selected ids that are not stored records, e.g.
    key references outside the corpus, are counted in ``not_in_store``) or a list of record ids
    (ids not in the store are an error).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    named = isinstance(ids, str)
    ids = select(store, ids) if named else list(ids)
    records = list(store.records(ids))
    not_stored = len(ids) - len(records)
    if not_stored and not named:
        missing = sorted(set(ids) - {r.id for r in records})
        raise ExportError(f"{len(missing)} selected record(s) are not in the store {store.path}: "
                          f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    keys = store_keys(store, records)
    text = {"bibtex": lambda: to_bibtex(records, keys, abstract, unicode),
            "ris": lambda: to_ris(records, keys, abstract),
            "csljson": lambda: to_csljson(records, keys, abstract)}[fmt]()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    # key references are often cited works outside the corpus: only stored records have metadata to export
    return {"path": str(out), "format": fmt, "n": len(records), "not_in_store": not_stored}


def _settings(protocol) -> dict[str, Any]:
    s = protocol.config.export if protocol is not None else ExportSettings()
    return {"abstract": s.abstract, "unicode": s.unicode, "formats": list(s.formats)}


def run(store: Store, protocol, progress: bool = True, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Pipeline stage: exports of the unique and the included records, the PRISMA diagram and the report.

    Writes to ``out_dir`` (default ``out/<protocol id>``): ``records.{bib,ris,json}``,
    ``included.{bib,ris,json}`` (when any study is included), ``prisma.svg/.png/.csv`` and ``report.html``.
    """
    from review.core import queries as prisma
    from review.writers import prisma as prisma_prisma
    from review.writers import report

    cfg = _settings(protocol)
    out = Path(out_dir) if out_dir else Path("out") / protocol.id
    summary: dict[str, Any] = {"out_dir": str(out), "files": []}
    for name, sel in (("records", "all"), ("included", "included")):
        ids = select(store, sel)
        summary[name] = len(ids)
        if not ids:
            continue
        for fmt in cfg["formats"]:
            r = export(store, out / f"{name}{SUFFIXES[fmt]}", fmt, ids, cfg["abstract"], cfg["unicode"])
            summary["files"].append(r["path"])
    counts = prisma.counts(store)
    summary["files"] += [str(p) for p in prisma_prisma.write(store, out, numbers=counts).values()]
    summary["prisma"] = {k: counts[k] for k in ("identified", "duplicates_removed", "excluded_by_automation",
                                                "screened", "assessed", "included")}
    summary["files"].append(str(report.write(store, protocol, out / "report.html", out_dir=out, numbers=counts)))
    return summary
