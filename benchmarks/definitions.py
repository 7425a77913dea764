"""Definitions on labelled sentences, scored the way `review definitions` behaves on imported records.

    python benchmarks/definitions.py --labelled ../shared/data/definitions/coproduction_dev.tsv \
        --protocol protocols/coproduction.toml
    python benchmarks/definitions.py --labelled A.tsv --labelled B.csv --errors
    python benchmarks/definitions.py --checks          # also leave-one-language-out and leave-one-file-out

Each labelled sentence becomes a record (its abstract, as `review import` of a CSV with a ``sentence`` column gives),
the records go into a fresh store, the definitions stage runs on it with the protocol given, and the figures come
from what it wrote (``definitions.csv``): nothing is looked up from the gold label. Two columns of figures:

- ``shipped``: the shipped model (review/assets/definition_model.json). It was trained on the shared development
  set and benchmarks/data/definitions/*.tsv, so on those files this is an **in-sample** figure.
- ``--heldout``: instead of the shipped model, one trained on the ``--train`` sets only (default: the shipped
  model's training sets other than the labelled files), so the labelled files are truly held out: e.g.
  ``--labelled collected2_*.tsv --heldout`` trains on the dev set and collected_*.tsv and scores the new pages.
- ``cv``: grouped cross-validation by source page (``url``; GroupKFold): the pool is the labelled sets plus the
  shipped model's training sets (``--train``); for each fold a model is trained on the other folds
  (benchmarks/train_definitions.py's recipe) and the stage runs with it; the held-out labelled sentences are scored.

Both the held-out and the cross-validated models are also trained on benchmarks/data/definitions/neighbours_*.tsv
(sentences that define, or only name, neighbouring concepts such as Bürgerbeteiligung or brukermedvirkning, with
that term masked), as the shipped model is; those rows are never scored. ``--no-neighbours`` leaves them out.

Labelled files: ``.tsv`` as in shared/data/definitions (tab-separated, no quoting; ``label`` C/N, ``concept``
keys, ``;`` for two) or ``.csv`` with ``sentence, is_definition, concept`` (optional ``protocol``, ``lang``, ``url``).
Scores: extraction precision/recall/F1 (a sentence is extracted when the stage finds at least one definition in
it); concept F1 (a sentence counts for concept C when C is among its definitions: a wrong concept is a false
positive, a missed definition a false negative) and their macro mean over the concepts defined in the gold set.
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from review.core.protocol import load  # noqa: E402
from review.core.records import Record, Source  # noqa: E402
from review.core.store import Store  # noqa: E402
from review.definitions.extract import Lexicon, find_in_text  # noqa: E402
from review.definitions.model import Model  # noqa: E402
from review.definitions.training import gold_concepts, train_on  # noqa: E402
from review.sources.labels import iter_labelled  # noqa: E402
from review.stages import definitions as stage  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from train_definitions import NEIGHBOURS, default_sets  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.625, 0.65, 0.7)


def _protocol(name: str):
    path = Path(name)
    if not path.suffix:
        path = ROOT / "protocols" / f"{name}.toml"
    return load(path)


def read_sets(paths: list[Path]) -> list[dict]:
    """Rows of the labelled files, each with ``file`` and a gold concept key set ``gold``."""
    rows = []
    for p in paths:
        for r in iter_labelled(p):
            r = dict(r)
            r["file"] = p.name
            rows.append(r)
    return rows


def _keys(rows: list[dict], protocol) -> None:
    labels = {c.label.lower(): c.key for c in protocol.concepts}
    for r in rows:
        r["gold"] = {labels.get(c.lower(), c) for c in gold_concepts(r)}


# -- the stage on records ------------------------------------------------------------------------------
def stage_predictions(rows: list[dict], protocol, model: Model | None, workdir: Path, full_run: bool = False,
                      threshold: float | None = None) -> dict[int, dict[str, float]]:
    """``{row index: {concept: score}}`` from the definitions stage on the rows imported as records.

    ``full_run``: the whole stage (``review definitions``: store, cluster, compare, write files) and the figures
    read back from its ``definitions.csv``; else :func:`review.stages.definitions.extract`, the same extraction
    without the analysis. ``threshold`` overrides the protocol's (0 keeps every candidate with its score).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if threshold is not None:  # the checked settings are frozen: a copy with the threshold replaced
        from dataclasses import replace

        protocol.config = replace(protocol.config, definitions=replace(protocol.config.definitions,
                                                                       threshold=threshold))
    store = Store(workdir / "bench.sqlite")
    try:
        if not store.record_ids():
            store.add_records([Record(id=f"S{i}", abstract=r["sentence"], sources=[Source("labelled", r["file"])])
                               for i, r in enumerate(rows)])
        out: dict[int, dict[str, float]] = defaultdict(dict)
        if full_run:
            stage.run(store, protocol, progress=False, out_dir=workdir / "out", model=model)
            with (workdir / "out" / "definitions.csv").open(newline="", encoding="utf-8") as fh:
                defs = [(d["record_id"], d["concept"], float(d["score"] or 1.0)) for d in csv.DictReader(fh)]
        else:
            defs = [(d.record_id, d.concept, d.score if d.score is not None else 1.0)
                    for d in stage.extract(store, protocol, progress=False, model=model)]
        for rid, concept, score in defs:
            i = int(rid[1:])
            out[i][concept] = max(out[i].get(concept, 0.0), score)
        return out
    finally:
        store.close()


# -- scores ----------------------------------------------------------------------------------------------
def _f1(n: Counter) -> float:
    return 2 * n["tp"] / (2 * n["tp"] + n["fp"] + n["fn"]) if n["tp"] else 0.0


def evaluate(rows: list[dict], preds: dict[int, set[str]], idx: list[int] | None = None) -> dict:
    """Extraction P/R/F1, concept F1 and macro-F1, and extraction F1 per language, over rows ``idx``."""
    idx = list(range(len(rows))) if idx is None else idx
    ext, per, lang = Counter(), defaultdict(Counter), defaultdict(Counter)
    errors = []
    for i in idx:
        gold, pred, lg = rows[i]["gold"], preds.get(i, set()), rows[i].get("lang", "")
        kind = "tp" if gold and pred else "fp" if pred else "fn" if gold else "tn"
        ext[kind] += 1
        lang[lg][kind] += 1
        for c in gold | pred:
            per[c]["tp" if c in gold and c in pred else "fp" if c in pred else "fn"] += 1
        if gold != pred:
            errors.append((i, sorted(gold), sorted(pred)))
    p = ext["tp"] / (ext["tp"] + ext["fp"]) if ext["tp"] + ext["fp"] else 0.0
    r = ext["tp"] / (ext["tp"] + ext["fn"]) if ext["tp"] + ext["fn"] else 0.0
    concept = {c: _f1(n) for c, n in sorted(per.items()) if n["tp"] + n["fn"]}
    return {"n": len(idx), "pos": ext["tp"] + ext["fn"], "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0, "concept_f1": concept,
            "macro_f1": sum(concept.values()) / len(concept) if concept else 0.0,
            "lang": {lg: {"n": sum(n.values()), "f1": _f1(n), "p": n["tp"] / (n["tp"] + n["fp"]) if n["tp"] + n["fp"]
                          else 0.0, "r": n["tp"] / (n["tp"] + n["fn"]) if n["tp"] + n["fn"] else 0.0}
                     for lg, n in sorted(lang.items()) if lg},
            "errors": errors}


def decide(scores: dict[int, dict[str, float]], threshold: float) -> dict[int, set[str]]:
    return {i: {c for c, s in cs.items() if s >= threshold} for i, cs in scores.items()}


# -- cross-validation -------------------------------------------------------------------------------------
def pool_rows(labelled: list[dict], train_paths: list[Path]) -> list[dict]:
    """The labelled rows, then the training sets' rows not among them (same file name and sentence)."""
    seen = {(r["file"], r["sentence"]) for r in labelled}
    return labelled + [r for r in read_sets(train_paths) if (r["file"], r["sentence"]) not in seen]


def cross_validated(labelled: list[dict], pool: list[dict], protocol, lexicon: Lexicon, workdir: Path,
                    folds: int = 5, extra: list[dict] = ()) -> dict[int, dict[str, float]]:
    """Scores of the labelled rows (indices into ``labelled``; the pool starts with them), each from a model
    trained on the pool's other folds (grouped by ``url``) and the ``extra`` rows (the neighbouring concepts'
    sentences: always trained on, never scored), through the stage with threshold 0."""
    from sklearn.model_selection import GroupKFold

    groups = [r.get("url") or f"{r['file']}#{i}" for i, r in enumerate(pool)]
    out: dict[int, dict[str, float]] = {}
    for k, (tr, te) in enumerate(GroupKFold(n_splits=folds).split(pool, groups=groups)):
        model = train_on([pool[i] for i in tr] + list(extra), lexicon)
        held = [i for i in te if i < len(labelled)]
        scores = stage_predictions(labelled, protocol, model, workdir / f"fold{k}", threshold=0.0)
        out.update({i: scores.get(i, {}) for i in held})
    return out


def held_out_by(labelled: list[dict], pool: list[dict], key: str, protocol, lexicon: Lexicon,
                workdir: Path, cut: float, extra: list[dict] = ()) -> dict[str, dict]:
    """Leave one value of ``key`` (``lang``, ``file``) out: train on the pool's other rows, score the labelled
    rows of that value at threshold ``cut``."""
    out = {}
    for value in sorted({r.get(key, "") for r in labelled} - {""}):
        model = train_on([r for r in pool if r.get(key) != value] + [r for r in extra if r.get(key) != value], lexicon)
        idx = [i for i, r in enumerate(labelled) if r.get(key) == value]
        scores = stage_predictions(labelled, protocol, model, workdir / f"{key}-{value}", threshold=0.0)
        out[value] = evaluate(labelled, decide(scores, cut), idx)
    return out


# -- report -----------------------------------------------------------------------------------------------
def _line(name: str, a: dict, b: dict | None) -> str:
    def cells(r: dict) -> str:
        return f"{r['precision']:>6.3f} {r['recall']:>6.3f} {r['f1']:>6.3f} {r['macro_f1']:>7.3f}"
    return f"{name:<14} {a['n']:>4} {a['pos']:>4}  {cells(a)}  " + (f"| {cells(b)}" if b else "")


def report(rows: list[dict], shipped: dict[int, set[str]], cv: dict[int, set[str]] | None,
           first: str = "shipped model (in-sample on its training data)") -> dict:
    subsets = {"all": list(range(len(rows)))}
    for key in ("lang", "file"):
        values = sorted({r.get(key, "") for r in rows} - {""})
        if len(values) > 1:
            for v in values:
                subsets[f"{key}={v}"] = [i for i, r in enumerate(rows) if r.get(key) == v]
    head = f"{'prec':>6} {'recall':>6} {'F1':>6} {'macroF1':>7}"
    print(f"{'subset':<14} {'n':>4} {'pos':>4}  {head}  " + (f"| {head}" if cv is not None else ""))
    print(f"{'':<14} {'':>4} {'':>4}  {first:<28}"
          + ("  | cross-validated (grouped by url)" if cv is not None else ""))
    results = {}
    for name, idx in subsets.items():
        a = evaluate(rows, shipped, idx)
        b = evaluate(rows, cv, idx) if cv is not None else None
        results[name] = (a, b)
        print(_line(name, a, b))
    a, b = results["all"]
    print("concept F1      shipped: " + ", ".join(f"{c}={f:.3f}" for c, f in a["concept_f1"].items()))
    if b:
        print("concept F1      cv:      " + ", ".join(f"{c}={f:.3f}" for c, f in b["concept_f1"].items()))
    return results


def corpus_speed(protocol_name: str = "demo") -> dict:
    """Extraction (shipped model) over every title and abstract of the shipped corpus (no store)."""
    from review.sources.snapshot import read_records

    p = _protocol(protocol_name)
    lexicon, model = Lexicon.from_protocol(p), Model.load()
    records = [rec for rec, _ in read_records(ROOT / "bib" / "synergy_openalex.jsonl.gz")]
    t0, c0 = time.perf_counter(), time.process_time()
    found = []
    for rec in records:
        for field in ("title", "abstract"):
            found += find_in_text(getattr(rec, field), lexicon, model=model, threshold=stage.threshold(p))
    return {"records": len(records), "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
            "definitions": len(found), "by_concept": Counter(d.concept for d in found)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labelled", action="append", help="labelled set (.tsv/.csv), repeatable; default: the shipped "
                    "model's training sets (shared dev set + benchmarks/data/definitions/collected*.tsv)")
    ap.add_argument("--protocol", default=str(ROOT / "protocols" / "coproduction.toml"))
    ap.add_argument("--train", action="append", help="extra training sets for the cross-validation pool "
                    "(default: the shipped model's training sets)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-cv", action="store_true", help="only the shipped model")
    ap.add_argument("--heldout", action="store_true", help="score with a model trained on the --train sets only "
                    "(default: the training sets other than the labelled files) instead of the shipped model")
    ap.add_argument("--checks", action="store_true", help="also leave-one-language-out and leave-one-file-out")
    ap.add_argument("--errors", action="store_true", help="print every wrong sentence (cross-validated scores)")
    ap.add_argument("--speed", action="store_true", help="also time extraction over the shipped corpus")
    ap.add_argument("--no-neighbours", action="store_true", help="train without the neighbouring concepts' "
                    "sentences (benchmarks/data/definitions/neighbours_*.tsv; never scored)")
    args = ap.parse_args()
    paths = [Path(p) for p in args.labelled] if args.labelled else default_sets()
    protocol = _protocol(args.protocol)
    lexicon = Lexicon.from_protocol(protocol)
    rows = read_sets(paths)
    _keys(rows, protocol)
    cut = stage.threshold(protocol)
    print(f"labelled: {', '.join(p.name for p in paths)} ({len(rows)} sentences, "
          f"{sum(bool(r['gold']) for r in rows)} definitions); protocol {protocol.path}; threshold {cut}")
    extra = [] if args.no_neighbours else read_sets([p for p in NEIGHBOURS if p.name not in {q.name for q in paths}])
    if extra:
        print(f"trained on besides (never scored): {len(extra)} sentences defining or naming neighbouring concepts "
              f"({', '.join(p.name for p in NEIGHBOURS)})")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        first = None
        if args.heldout:
            names = {p.name for p in paths}
            train_paths = [Path(p) for p in args.train] if args.train else [p for p in default_sets()
                                                                            if p.name not in names]
            first = train_on(read_sets(train_paths) + extra, lexicon)
            print(f"held out: the first column is a model trained on {', '.join(p.name for p in train_paths)} "
                  f"({first.info['sentences'] - len(extra)} sentences) and the neighbouring concepts' only")
        shipped_scores = stage_predictions(rows, _protocol(args.protocol), first, Path(tmp) / "shipped", full_run=True)
        secs = time.perf_counter() - t0
        shipped = decide(shipped_scores, 0.0)
        cv_scores = cv = None
        pool = []
        if not args.no_cv:
            train_paths = [Path(p) for p in args.train] if args.train else default_sets()
            pool = pool_rows(rows, train_paths)
            _keys(pool, protocol)
            cv_scores = cross_validated(rows, pool, _protocol(args.protocol), lexicon, Path(tmp) / "cv", args.folds,
                                        extra)
            cv = decide(cv_scores, cut)
            print(f"cross-validation: {args.folds} folds grouped by url over {len(pool)} sentences "
                  f"({len({r.get('url') for r in pool})} pages); the labelled ones are scored")
        print(f"review definitions stage on {len(rows)} records: {secs:.1f} s\n")
        report(rows, shipped, cv, "held-out model (never saw these sentences)" if first is not None
               else "shipped model (in-sample on its training data)")
        if cv_scores is not None:
            print("\ncross-validated extraction P/R/F1 and macro-F1 by threshold:")
            for t in THRESHOLDS:
                r = evaluate(rows, decide(cv_scores, t))
                print(f"  {t:.2f}: P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} "
                      f"macro {r['macro_f1']:.3f}"
                      f"  min language F1 {min((v['f1'] for v in r['lang'].values()), default=0):.3f}")
        if args.checks and pool:
            for key in ("lang", "file"):
                print(f"\nleave one {key} out (train on the pool without it, score it):")
                for value, r in held_out_by(rows, pool, key, _protocol(args.protocol), lexicon,
                                            Path(tmp) / "checks", cut, extra).items():
                    print(f"  {value:<20} n {r['n']:>4}  P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f}"
                          f" macro {r['macro_f1']:.3f}")
        if args.errors:
            which = cv if cv is not None else shipped
            scores = cv_scores if cv_scores is not None else shipped_scores
            print("\nerrors (gold -> predicted, with scores):")
            for i, gold, pred in evaluate(rows, which)["errors"]:
                r = rows[i]
                sc = ", ".join(f"{c}={s:.2f}" for c, s in scores.get(i, {}).items())
                print(f"  [{r.get('lang', '')}] {gold or '-'} -> {pred or '-'} ({sc}): {r['sentence'][:150]}")
    if args.speed and (ROOT / "bib" / "synergy_openalex.jsonl.gz").exists():
        s = corpus_speed()
        print(f"\nshipped corpus: {s['records']} records, titles+abstracts in {s['seconds']:.1f} s wall, "
              f"{s['cpu']:.1f} s CPU; {s['definitions']} definitions {dict(s['by_concept'].most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
