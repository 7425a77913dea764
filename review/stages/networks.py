"""Networks stage: build, analyse and export every network kind the protocol asks for."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from review.core.errors import NetworkError
from review.core.queries import Lookup, select_records, store_lookup
from review.core.records import Record
from review.networks.build import UNKNOWN_WORK, WORK_KINDS, build


# -- pipeline stage ------------------------------------------------------------------------------
def settings(protocol) -> dict[str, Any]:
    """The ``[networks]`` settings (checked when the protocol loaded) as a dict, with ``kinds``."""
    cfg = protocol.config.networks
    return {"kinds": list(cfg.kinds), **cfg.for_kind("")}


def _records_for(store, mode: str) -> tuple[list[Record], str]:
    if mode == "all":
        return select_records(store), "all"
    if mode == "included":
        return select_records(store, included="title_abstract"), "included"
    try:
        return select_records(store, included="title_abstract"), "included"
    except NetworkError:
        return select_records(store), "all"


def run(store, protocol, progress: bool = True, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Pipeline stage: build, analyse and export every network kind the protocol asks for.

    Records: ``[networks] records`` = ``"included"`` (final include at title-abstract
    screening), ``"all"`` (unique records), or ``"auto"`` (included ones if any, else all).
    Each kind's summary is stored as artifact ``network:<kind>`` and its files go to
    ``out_dir`` (default ``out/<protocol id>/networks``); see :func:`map_kind`.
    """
    from tqdm import tqdm

    cfg = settings(protocol)
    out = Path(out_dir) if out_dir else Path("out") / protocol.id / "networks"
    from review.networks.maps import work_terms

    records, which = _records_for(store, cfg["records"])
    summary: dict[str, Any] = {"records": len(records), "record_set": which, "kinds": {}, "out_dir": str(out)}
    terms = work_terms(records)
    for kind in tqdm(cfg["kinds"], desc="networks", unit="kind", disable=not progress):
        art = map_kind(store, protocol, kind, out, records=records, record_set=which, terms=terms)
        summary["kinds"][kind] = {"nodes": art["nodes"], "links": art["links"], "clusters": len(art["clusters"])}
    return summary


def map_kind(store, protocol, kind: str, out_dir: str | Path, records: Sequence[Record] | None = None,
             record_set: str = "all", terms=None, **overrides: Any) -> dict[str, Any]:
    """Build, analyse (:func:`analyse`) and export one network kind of a review.

    Settings come from the protocol's ``[networks]`` table (and ``[networks.<kind>]``), then
    ``overrides`` that are not None (``min_count``, ``norm``, ``max_nodes``, ``top``, ...).
    The summary, with the paths of the files written, is stored as artifact ``network:<kind>``
    and returned (with the :class:`~review.networks.maps.Map` under ``"map"``).
    """
    from review.writers import network_files as network_export

    kc = {**protocol.config.networks.for_kind(kind), **{k: v for k, v in overrides.items() if v is not None}}
    if records is None:
        records, record_set = select_records(store), "all"
    result = analyse(records, kind, min_count=kc["min_count"], norm=kc["norm"], max_nodes=kc["max_nodes"],
                     field=kc["field"], lookup=store_lookup(store), seed=kc["seed"], resolution=kc["resolution"],
                     periods=kc["periods"], top=kc["top"], terms=terms)
    files = network_export.export(result["map"], out_dir, formats=kc["formats"], title=f"{protocol.title} — {kind}",
                                  extras=result, stem=kind)
    art = {k: v for k, v in result.items() if k != "map"}
    art.update(record_set=record_set, files={k: str(v) for k, v in files.items()})
    store.put_artifact(f"network:{kind}", art, kind="network", protocol_hash=protocol.hash)
    return {**art, "map": result["map"]}


REFERENCE_KINDS = ("citation", "cocitation", "coupling")  # networks of works: their key references are the point
NODE_NAMES = {"keywords": "keywords", "terms": "terms", "concepts": "concepts", "topics": "topics",
              "coauthorship": "authors", "institutions": "institutions", "countries": "countries"}
_NODE_FIELDS = {"id", "label", "cluster", "cluster_label", "year"}


def format_result(result: dict[str, Any], top: int = 20) -> str:
    """Key references (networks of works) or top nodes (terms, authors, ...) and clusters of an
    :func:`analyse` result, as text for the terminal."""
    lines = [f"{result['kind']} network: {result['nodes']} nodes, {result['links']} links, "
             f"{len(result['clusters'])} clusters, from {result['records']} records (normalisation: {result['norm']})"]
    refs = result.get("key_references") or {} if result["kind"] in REFERENCE_KINDS else {}
    if result["kind"] not in REFERENCE_KINDS and result.get("key_nodes"):  # its nodes are terms, authors, ...
        lines += ["", f"Top {NODE_NAMES.get(result['kind'], 'nodes')} (by occurrences):"]
        for n in result["key_nodes"][:top]:
            count = next((v for k, v in n.items() if k not in _NODE_FIELDS and isinstance(v, int)), "")
            where = f"  [cluster {n['cluster']}: {n['cluster_label']}]" if n.get("cluster_label") else ""
            lines.append(f"  {count:>5}  {_short(str(n['label']), 90)}{where}")
    for key, title in (("cited", "Key references (most cited by the set)"),
                       ("local", "Most locally cited works (cited by other works of the set)")):
        if refs.get(key):
            lines += ["", title + ":"]
            for r in refs[key][:top]:
                where = f"  [cluster {r['cluster']}: {r['cluster_label']}]" if r.get("cluster") else ""
                text = f"{r['label']}: {r['title']}" if r.get("title") else \
                    f"{r['label']} ({r['id']})" if r.get("known") is False else r["label"]
                lines.append(f"  {r['citations']:>5}  {_short(text, 90)}{where}")
    lines += ["", "Clusters:"]
    for c in result["clusters"]:
        nodes = "; ".join(n["id"] if n["label"] == UNKNOWN_WORK else n["label"] for n in c["top_nodes"][:3])
        lines.append(f"  {c['cluster']:>3}  {c['size']:>5} nodes  {_short(c['label'], 60)}  — {_short(nodes, 70)}")
    return "\n".join(lines)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def analyse(records: Sequence[Record], kind: str, *, min_count: int | None = None, norm: str = "association",
            max_nodes: int | None = 1000, field: str = "auto", lookup: Lookup | None = None, seed: int = 42,
            resolution: float = 1.0, periods: list[int] | None = None, top: int = 20,
            evolution: bool = True, terms=None) -> dict[str, Any]:
    """Build one network and everything said about it: the map (clusters, layout, centralities),
    cluster labels, key nodes, key references, thematic map, evolution by period and, for
    ``citation``, the historiograph. Returns a JSON-able dict plus ``"map"`` (a :class:`~review.networks.maps.Map`).
    """
    from review.networks import maps as mapping

    records = list(records)
    net = build(records, kind, min_count=min_count, norm=norm, max_nodes=max_nodes, field=field, lookup=lookup)
    terms = terms if terms is not None else mapping.work_terms(records)  # for cluster labels; share it across kinds
    m = mapping.make_map(net, seed=seed, resolution=resolution, terms=terms)
    result: dict[str, Any] = {
        "kind": kind, "norm": norm, "records": len(records), "nodes": len(net), "links": net.n_links,
        "info": _jsonable(net.info), "clusters": m.cluster_summary(),
        "key_nodes": mapping.key_nodes(m, top=top),
        "key_references": mapping.key_references(records, lookup=lookup, top=top,
                                                 cocitation=m if kind == "cocitation" else None,
                                                 works_map=m if kind in WORK_KINDS else None),
        "thematic_map": mapping.thematic_map(m),
        "map": m,
    }
    if evolution:
        result["evolution"] = mapping.evolution(records, kind, periods=periods, min_count=min_count, norm=norm,
                                                field=field, seed=seed, resolution=resolution, terms=terms)
    if kind == "citation":
        result["historiograph"] = mapping.historiograph(records, top=max(top, 30))
    return result


def _jsonable(d: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}
