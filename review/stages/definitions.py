"""Definitions stage: find definitions in the stored records and full texts, store them, cluster, compare
and map them."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import networkx as nx
from tqdm.auto import tqdm

from review.core.errors import DefinitionsError
from review.core.protocol import Protocol
from review.core.queries import definition_rows
from review.core.store import Store
from review.definitions.cluster import cluster
from review.definitions.compare import compare, dimensions
from review.definitions.concept_map import _node_link, build_map
from review.definitions.extract import Definition, Lexicon, find_in_text, score_of
from review.definitions.model import Model
from review.definitions.patterns import PATTERNS
from review.definitions.sentences import split_sentences
from review.sources.fulltext import read_fulltext
from review.writers.definitions import format_clusters, write_comparison


def add_fulltext(store: Store, record_id: str, path: str | Path) -> dict[str, Any]:
    """Store the full text of a record (replacing an earlier one) and return a short summary."""
    rid = _resolve_record(store, record_id)
    text = read_fulltext(path)
    store.set_fulltext(rid, str(Path(path).resolve()), text)
    store.log("fulltext", "added", record_id=rid, data={"path": str(path), "chars": len(text)})
    return {"record_id": rid, "path": str(path), "chars": len(text), "sentences": len(split_sentences(text, True))}


def mark_not_retrieved(store: Store, record_id: str, reason: str) -> dict[str, Any]:
    """Record that a record's full text cannot be had (PRISMA: "reports not retrieved"); returns a short summary.

    Adding its full text later (:func:`add_fulltext`) replaces the mark. The reason is kept in
    the event log (``fulltext``/``not_retrieved``).
    """
    rid = _resolve_record(store, record_id)
    reason = " ".join(reason.split())
    if not reason:
        raise DefinitionsError(f"{record_id}: say why the full text cannot be had, e.g. --reason 'not held by the "
                               "library, request unanswered'")
    store.mark_not_retrieved(rid, reason)
    return {"record_id": rid, "reason": reason}


def _resolve_record(store: Store, record_id: str) -> str:
    from review.core.text import normalize_doi, short_openalex_id

    rid = record_id.strip()
    if store.record(rid) is not None:
        return rid
    oa = short_openalex_id(rid)
    if oa and store.record(oa) is not None:
        return oa
    doi = normalize_doi(rid)
    if doi:
        found = store.record_id_by_doi(doi)
        if found:
            return found
    raise DefinitionsError(f"record {record_id!r} is not in the store {store.path}; give a record id "
                           "(e.g. W2741809807) or DOI of a stored record")


# -- the stage ----------------------------------------------------------------------------------------
def _settings(protocol: Protocol) -> dict[str, Any]:
    s = protocol.config.definitions
    return {"fields": list(s.fields), "related": s.related, "only_included": s.only_included}


def threshold(protocol: Protocol) -> float:
    """The ``[definitions] threshold`` setting: the model's probability from which a sentence is taken as a
    definition (a number from 0 to 1; default :data:`~review.definitions.extract.DEFAULT_THRESHOLD`)."""
    return protocol.config.definitions.threshold


def extract(store: Store, protocol: Protocol, progress: bool = True, model: Model | None = None) -> list[Definition]:
    """Definitions in the store's unique records (titles, abstracts) and added full texts; nothing is written.

    The lexicon names the concept of each sentence, ``model`` (default: the shipped one) judges whether it defines
    it, from the protocol's ``threshold``.
    """
    cfg = _settings(protocol)
    cut = threshold(protocol)
    model = model if model is not None else Model.load()
    lexicon = Lexicon.from_protocol(protocol, related=cfg["related"])
    ids = store.record_ids(unique=True)
    if cfg["only_included"]:
        from review.core.queries import final_decisions

        included = {r for r, d in final_decisions(store, "title_abstract").items() if d == "include"}
        ids = [i for i in ids if i in included]
    fulltexts = {}
    if "fulltext" in cfg["fields"]:
        fulltexts = store.fulltexts()
    items = []  # (record id, field, text, language hint, year, judged by the model)
    for rec in store.records(ids):
        parts = [(f, getattr(rec, f)) for f in ("title", "abstract") if f in cfg["fields"]]
        if rec.id in fulltexts:
            parts.append(("fulltext", fulltexts[rec.id]))
        for field, text in parts:
            # the model learned from sentences: a title that is not one ("Co-production in elderly care") is left to
            # the hand patterns; one that is (a sentence imported as a title) is judged like any other sentence
            if text:
                items.append((rec.id, field, text, rec.language or None, rec.year,
                              field != "title" or reads_as_sentence(text)))
    job = (lexicon, model, cut)
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    bar = {"total": len(items), "desc": "definitions", "unit": "text", "disable": not progress}
    if workers > 1 and len(items) >= PARALLEL_FROM and sys.platform == "linux":
        # CPU-bound and independent per text: one forked worker per core (fork: the job is inherited, not pickled;
        # Linux only, where forking is safe), the results in the order of the texts
        with ProcessPoolExecutor(min(workers, 4), mp_context=mp.get_context("fork"), initializer=_init_worker,
                                 initargs=(job,)) as pool:
            found = list(tqdm(pool.map(_find_in_worker, items, chunksize=32), **bar))
    else:
        found = [_find(job, item) for item in tqdm(items, **bar)]
    return [d for ds in found for d in ds]


#: texts from which :func:`extract` uses a process per core (below, starting them costs more than it saves)
PARALLEL_FROM = 500
_WORKER_JOB: tuple = ()  # (lexicon, model, threshold) in a worker process


def _init_worker(job: tuple) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job


def _find_in_worker(item: tuple) -> list[Definition]:
    return _find(_WORKER_JOB, item)


def _find(job: tuple, item: tuple) -> list[Definition]:
    lexicon, model, cut = job
    rid, field, text, lang, year, judged = item
    found = find_in_text(text, lexicon, fulltext=field == "fulltext", lang_hint=lang,
                         model=model if judged else None, threshold=cut)
    for d in found:
        d.record_id, d.field, d.year = rid, field, year
    return found


def reads_as_sentence(text: str) -> bool:
    """Whether a title is a sentence: at least six words and a full stop, question or exclamation mark at the end."""
    text = text.strip().rstrip("\"'”’)")
    return len(text.split()) >= 6 and text.endswith((".", "!", "?")) and not text.endswith("...")


def save(store: Store, protocol: Protocol, definitions: list[Definition], info: dict | None = None) -> int:
    """Store definitions as a new run, replacing the previous runs' rows for this protocol; returns the run id."""
    from review.core.provenance import tool_versions

    run_id = store.start_run("definitions", protocol.id, query={"patterns": sorted({p.name for p in PATTERNS})},
                             protocol_hash=protocol.hash, tool_versions=tool_versions())
    ids = store.replace_definitions(protocol.id, run_id, [
        (d.record_id, d.concept, d.sentence, d.field, d.position, d.pattern, d.cited or None, d.lang)
        for d in definitions])
    for d, id_ in zip(definitions, ids):
        d.id = id_
    store.finish_run(run_id, n_records=len({d.record_id for d in definitions}),
                     info=info or {"definitions": len(definitions)})
    return run_id


def load(store: Store, protocol: Protocol | None = None) -> list[Definition]:
    """Stored definitions (of the protocol's latest run, or of every run), with the records' years."""
    rows = definition_rows(store, protocol.id if protocol is not None else None)
    return [Definition(concept=r["concept"], term="", sentence=r["sentence"], pattern=r["pattern"] or "",
                       lang=r["lang"] or "", cited=r["cited"] or "", record_id=r["record_id"], field=r["field"],
                       position=r["position"] or 0, year=r["year"], id=r["id"], score=score_of(r["pattern"] or ""))
            for r in rows]


def run(store: Store, protocol: Protocol, progress: bool = True, out_dir: str | Path | None = None,
        model: Model | None = None) -> dict[str, Any]:
    """The definitions stage: extract, store, cluster, compare, map (and write files to ``out_dir``).

    ``model``: the definition model (default: the one shipped in ``review/assets``).
    """
    from review.stages import definitions as concepts

    model = model if model is not None else Model.load()
    defs = extract(store, protocol, progress=progress, model=model)
    by_concept: dict[str, int] = {}
    for d in defs:
        by_concept[d.concept] = by_concept.get(d.concept, 0) + 1
    run_id = save(store, protocol, defs, info={"definitions": len(defs), "by_concept": by_concept,
                                               "model": model.id, "threshold": threshold(protocol)})
    analysis = concepts.analyse(store, protocol, definitions=defs, out_dir=out_dir, progress=progress)
    return {"run_id": run_id, "definitions": len(defs), "records": len({d.record_id for d in defs}),
            "by_concept": by_concept, **analysis["summary"]}


# -- settings ------------------------------------------------------------------------------------
def settings(protocol: Protocol) -> dict[str, Any]:
    """Clustering and comparison settings from ``[definitions]`` (checked when the protocol loaded)."""
    s = protocol.config.definitions
    return {"cluster_method": s.cluster_method, "k_min": s.k_min, "k_max": s.k_max,
            "min_cluster_size": s.min_cluster_size, "seed": s.seed, "mask_concepts": s.mask_concepts,
            "dimensions": dimensions(s.dimensions)}


# -- the whole analysis --------------------------------------------------------------------------------
def analyse(store: Store, protocol: Protocol, definitions: list[Definition] | None = None,
            out_dir: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Cluster, compare and map the protocol's definitions; store artifacts; write files to ``out_dir``."""
    cfg = settings(protocol)
    defs = definitions if definitions is not None else load(store, protocol)
    lexicon = Lexicon.from_protocol(protocol)
    labels = {c.key: c.label for c in protocol.concepts}
    clustering = cluster(defs, lexicon, method=cfg["cluster_method"], k_min=cfg["k_min"], k_max=cfg["k_max"],
                         min_cluster_size=cfg["min_cluster_size"], seed=cfg["seed"], mask_concepts=cfg["mask_concepts"])
    table = compare(defs, cfg["dimensions"], concepts=list(lexicon.terms), labels=labels, lexicon=lexicon)
    G = build_map(defs, clustering, table, lexicon, labels)
    store.put_artifact("definition_clusters", clustering.to_dict(), kind="definitions", protocol_hash=protocol.hash)
    store.put_artifact("concept_comparison", table, kind="definitions", protocol_hash=protocol.hash)
    store.put_artifact("concept_map", _node_link(G), kind="network", protocol_hash=protocol.hash)
    files: dict[str, str] = {}
    if out_dir is not None:
        from review.writers.definitions import write_csv

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files["definitions"] = str(write_csv(defs, out / "definitions.csv"))
        (out / "clusters.json").write_text(json.dumps(clustering.to_dict(), ensure_ascii=False, indent=1),
                                           encoding="utf-8")
        (out / "clusters.md").write_text(format_clusters(clustering, labels, markdown=True), encoding="utf-8")
        files["clusters"] = str(out / "clusters.json")
        files["clusters_md"] = str(out / "clusters.md")
        files.update({k: str(v) for k, v in write_comparison(table, out).items()})
        nx.write_graphml(G, out / "concept_map.graphml")
        (out / "concept_map.json").write_text(json.dumps(_node_link(G), ensure_ascii=False, indent=1), encoding="utf-8")
        files["concept_map"] = str(out / "concept_map.graphml")
        files["concept_map_json"] = str(out / "concept_map.json")
    summary = {"clusters": clustering.k, "silhouette": clustering.silhouette, "cluster_method": clustering.method,
               "map_nodes": G.number_of_nodes(), "map_edges": G.number_of_edges(), "files": files}
    if clustering.note:
        summary["note"] = clustering.note
    return {"summary": summary, "clustering": clustering, "comparison": table, "graph": G}
