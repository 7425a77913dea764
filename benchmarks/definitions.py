"""Definition extraction against hand-labelled sentences, and its speed on the shipped corpus.

    python benchmarks/definitions.py                        # tests/data/definitions/labelled.csv
    python benchmarks/definitions.py --labelled OTHER.csv                   # rows without 'protocol': every shipped lexicon
    python benchmarks/definitions.py --labelled OTHER.csv --protocol protocols/coproduction.toml
    python benchmarks/definitions.py --errors               # list every wrong sentence

Labelled CSV columns: ``sentence``, ``is_definition`` (1/0), ``concept`` (a concept key or label of the
protocol, empty for non-definitions); optional ``protocol`` (``demo``/``coproduction`` or a path: whose
lexicon applies to the row, else ``--protocol``), ``split`` (dev/test), ``source``, ``lang``.

Printed per subset: extraction precision / recall / F1 (a sentence is extracted when it yields at least one
definition); concept macro-F1 and micro-F1 over the gold concepts, where a sentence counts for concept C when C
is among its extracted concepts (a false extraction is a false positive for its concept, a missed definition a
false negative: extraction and assignment together); and assignment macro-F1: the concept given to the true
definitions that were extracted (assignment alone).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from review.definitions.extract import Lexicon, find_definitions, find_in_text
from review.sources.labels import iter_labelled
from review.core.protocol import load


def _protocol(name: str):
    path = Path(name)
    if not path.suffix:
        path = ROOT / "protocols" / f"{name}.toml"
    return load(path)


def _lexicons(name: str) -> list[tuple[Lexicon, dict[str, str]]]:
    """[(lexicon, {concept label: key})] of a protocol; ``auto``: of every shipped protocol, coproduction first."""
    if name == "auto":
        paths = sorted((ROOT / "protocols").glob("*.toml"), key=lambda p: (p.stem != "coproduction", p.stem))
        protocols = [load(p) for p in paths]
    else:
        protocols = [_protocol(name)]
    return [(Lexicon.from_protocol(p), {c.label.lower(): c.key for c in p.concepts}) for p in protocols]


def _classify(row: dict, lexicons: list[tuple[Lexicon, dict[str, str]]], gold: str) -> tuple[str, list]:
    """The row's gold concept key and the definitions found, under the lexicon that has the gold concept
    (the first one); a non-definition is checked against every lexicon (found by any: a false positive)."""
    for lexicon, labels in lexicons:
        key = labels.get(gold.lower(), gold)
        if gold and key in lexicon.terms:
            return key, find_definitions(row["sentence"], lexicon)
    found = [d for lexicon, _ in lexicons for d in find_definitions(row["sentence"], lexicon)]
    return gold, found


def evaluate(rows: list[dict], default_protocol: str) -> dict:
    """Scores of :func:`find_definitions` on labelled rows."""
    cache: dict[str, tuple] = {}
    tp = fp = fn = tn = 0
    per = defaultdict(Counter)
    assign = defaultdict(Counter)  # concept assignment among true definitions that were extracted
    correct_concept = extracted_true = 0
    errors = []
    for row in rows:
        pname = row.get("protocol") or default_protocol
        if pname not in cache:
            cache[pname] = _lexicons(pname)
        gold_def = str(row["is_definition"]).strip() in ("1", "true", "True", "yes")
        gold, found = _classify(row, cache[pname], (row.get("concept") or "").strip() if gold_def else "")
        pred = {d.concept for d in found}
        if found and gold_def:
            tp += 1
            extracted_true += 1
            correct_concept += gold in pred
        elif found:
            fp += 1
        elif gold_def:
            fn += 1
        else:
            tn += 1
        for c in pred | ({gold} if gold else set()):
            if c == gold and c in pred:
                per[c]["tp"] += 1
            elif c in pred:
                per[c]["fp"] += 1
            else:
                per[c]["fn"] += 1
        if found and gold_def:
            guess = gold if gold in pred else sorted(pred)[0]
            assign[gold]["tp" if guess == gold else "fn"] += 1
            if guess != gold:
                assign[guess]["fp"] += 1
        if bool(found) != gold_def or (gold and gold not in pred):
            errors.append((row, [(d.concept, d.pattern) for d in found]))
    f1s = {}
    for c, n in per.items():
        if n["tp"] + n["fn"] == 0:
            continue  # concept never defined in the gold set: its false positives count in extraction precision
        p = n["tp"] / (n["tp"] + n["fp"]) if n["tp"] + n["fp"] else 0.0
        r = n["tp"] / (n["tp"] + n["fn"])
        f1s[c] = 2 * p * r / (p + r) if p + r else 0.0
    assign_f1 = []
    for c, n in assign.items():
        if n["tp"] + n["fn"]:
            p_, r_ = (n["tp"] / (n["tp"] + n["fp"]) if n["tp"] + n["fp"] else 0.0), n["tp"] / (n["tp"] + n["fn"])
            assign_f1.append(2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0.0)
    all_counts = Counter()
    for n in per.values():
        all_counts.update(n)
    micro = (2 * all_counts["tp"] / (2 * all_counts["tp"] + all_counts["fp"] + all_counts["fn"])
             if all_counts["tp"] else 0.0)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "n": len(rows), "positives": tp + fn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "concept_macro_f1": sum(f1s.values()) / len(f1s) if f1s else 0.0,
        "concept_micro_f1": micro,
        "assignment_macro_f1": sum(assign_f1) / len(assign_f1) if assign_f1 else 0.0,
        "concept_f1": f1s,
        "concept_accuracy_on_extracted": correct_concept / extracted_true if extracted_true else 0.0,
        "errors": errors,
    }


def corpus_speed(protocol_name: str = "demo") -> dict:
    """Extraction over every title and abstract of the shipped corpus (no store): time and counts."""
    from review.sources.snapshot import read_records

    p = _protocol(protocol_name)
    lexicon = Lexicon.from_protocol(p)
    records = [rec for rec, _ in read_records(ROOT / "bib" / "synergy_openalex.jsonl.gz")]
    t0, c0 = time.perf_counter(), time.process_time()
    found = []
    for rec in records:
        for field in ("title", "abstract"):
            found += find_in_text(getattr(rec, field), lexicon)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"records": len(records), "seconds": secs, "cpu": cpu, "definitions": len(found),
            "by_concept": Counter(d.concept for d in found), "by_pattern": Counter(d.pattern for d in found)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labelled", default=str(ROOT / "tests" / "data" / "definitions" / "labelled.csv"))
    ap.add_argument("--protocol", default="auto", help="protocol (name in protocols/ or path) for rows without a "
                    "'protocol' column; default auto: the concepts of every shipped protocol")
    ap.add_argument("--errors", action="store_true", help="print every misclassified sentence")
    ap.add_argument("--no-speed", action="store_true", help="skip the corpus timing")
    args = ap.parse_args()
    rows = list(iter_labelled(args.labelled))
    groups = {"all": rows}
    for key in ("split", "source", "lang"):
        for value in sorted({r.get(key) or "" for r in rows} - {""}):
            groups[f"{key}={value}"] = [r for r in rows if r.get(key) == value]
    print(f"labelled set: {args.labelled} ({len(rows)} sentences)")
    print("columns: extraction precision/recall/F1; concept macro-F1 and micro-F1 (extraction and assignment"
          " together: a missed definition is a miss for its concept); assignment macro-F1 (concept of the"
          " correctly extracted definitions only)")
    print(f"{'subset':<20} {'n':>4} {'pos':>4} {'prec':>6} {'recall':>6} {'F1':>6} {'macroF1':>8} {'microF1':>8}"
          f" {'assignF1':>8}")
    results = {}
    for name, subset in groups.items():
        r = evaluate(subset, args.protocol)
        results[name] = r
        print(f"{name:<20} {r['n']:>4} {r['positives']:>4} {r['precision']:>6.3f} {r['recall']:>6.3f} {r['f1']:>6.3f} "
              f"{r['concept_macro_f1']:>8.3f} {r['concept_micro_f1']:>8.3f} {r['assignment_macro_f1']:>8.3f}")
    print("per-concept F1 (all):", ", ".join(f"{c}={f:.2f}" for c, f in sorted(results["all"]["concept_f1"].items())))
    if args.errors:
        print("\nerrors (gold is_definition/concept -> extracted):")
        for row, pred in results["all"]["errors"]:
            print(f"  [{row.get('split', '')}] gold={row['is_definition']}/{row.get('concept') or '-'} pred={pred or '-'}: "
                  f"{row['sentence'][:160]}")
    if not args.no_speed and (ROOT / "bib" / "synergy_openalex.jsonl.gz").exists():
        s = corpus_speed()
        print(f"\nshipped corpus: {s['records']} records, titles+abstracts scanned in {s['seconds']:.1f} s wall, "
              f"{s['cpu']:.1f} s CPU ({s['records'] / s['cpu']:.0f} records per CPU second); {s['definitions']} definitions")
        print("  by concept:", dict(s["by_concept"].most_common()))
        print("  by pattern:", dict(s["by_pattern"].most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
