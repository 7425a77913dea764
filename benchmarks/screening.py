"""Screening benchmark: our prioritisation vs ASReview LAB 3.0.8 (default model ELAS u4).

On all 14 shared sets (five SYNERGY sets with OpenAlex metadata, nine Cohen 2006 sets with title
and abstract only), seeds 1-3, both tools start from the SAME prior records (one included, one
excluded, drawn by ``review.screening.simulate.draw_priors`` with the seed; ASReview gets them as
``--prior-record-id`` row numbers of the same CSV). recall@10%, WSS@95 and ATD are computed for
both from the screening orders with the same code (``review.screening.simulate.metrics``). Our
figures are leave-one-dataset-out: for each set, the model is chosen on the other 13 from the
grid in ``benchmarks/screening_grid.py`` and scored on it. Then re-train + re-rank latency at 1k,
10k and 50k records.

    python benchmarks/screening.py                 # everything
    python benchmarks/screening.py --no-asreview   # ASReview from its cache only
    python benchmarks/screening.py --latency-only
    python benchmarks/screening.py --synergy-only [--text-only]   # the old in-sample table (5 sets, seeds 1-5)

ASReview runs in its own venv (``/work/peers/asreview``, created with ``asreview==3.0.8`` if
missing) under ``nice``; its orders are cached in ``/work/peers/cache/screening`` (outside the repo),
ours per run in ``/work/peers/cache/screening_lodo``.
"""
from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from review.screening.classifiers import Prioritiser, Ranker
from review.screening.features import TextFeatures
from review.screening.simulate import draw_priors, metrics, simulate
from review.sources.datasets import load_dataset

SHARED = ROOT.parent / "shared" / "data" / "synergy"
PEERS = ROOT.parent / "peers"
VENV = PEERS / "asreview"
CACHE = PEERS / "cache" / "screening"
DATASETS = ["Donners_2021", "Meijboom_2021", "Nelson_2002", "Oud_2018", "van_der_Valk_2021"]
SEEDS = [1, 2, 3, 4, 5]
KEYS = ("recall_at_10", "wss_95", "atd")
SESSION_BACKGROUND_FROM = 2_000  # as review.screening.session.ScreeningSession


def ensure_asreview() -> Path:
    exe = VENV / "bin" / "asreview"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "asreview==3.0.8"], check=True)
    return exe


def dataset_csv(ds) -> Path:
    """The dataset as the CSV ASReview reads: ``record_id`` = row number in our record order."""
    path = CACHE / "input" / f"{ds.name}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["record_id", "title", "abstract", "label_included"])
            for i, (rec, lab) in enumerate(zip(ds.records, ds.labels)):
                w.writerow([i, rec.title, rec.abstract, int(lab)])
    return path


def asreview_order(ds, priors: list[int], seed: int) -> list[int]:
    """ASReview's screening order (row numbers) from the same priors (``--prior-record-id``), run once and cached."""
    key = CACHE / f"{ds.name}_seed{seed}_priors{'-'.join(map(str, priors))}.json"
    if key.exists():
        return json.loads(key.read_text())
    exe = ensure_asreview()
    data = dataset_csv(ds)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "sim.asreview"
        subprocess.run(["nice", "-n", "10", str(exe), "simulate", str(data), "--prior-record-id", *map(str, priors),
                        "--seed", str(seed), "-o", str(project)], check=True, capture_output=True, cwd=tmp)
        with zipfile.ZipFile(project) as z:
            z.extract("results.db", tmp)
        con = sqlite3.connect(Path(tmp) / "results.db")
        rows = [r[0] for r in con.execute("SELECT record_id FROM results ORDER BY rowid")]
        con.close()
    order = [int(r) for r in rows]
    assert order[:len(priors)] == priors, "ASReview did not start from our priors"
    key.write_text(json.dumps(order))
    return order


def complete(order: list[int], n: int) -> np.ndarray:
    """ASReview stops after the last included record; append the unscreened rows (order irrelevant)."""
    seen = set(order)
    return np.array(order + [i for i in range(n) if i not in seen], dtype=int)


def screening_table(run_asreview: bool, ranker_kwargs: dict | None = None, feature_kwargs: dict | None = None) -> dict:
    results: dict = {}
    for name in DATASETS:
        ds = load_dataset(SHARED / name)
        X = TextFeatures(**(feature_kwargs or {})).fit_transform(ds.records, ds.raws)
        for seed in SEEDS:
            priors = draw_priors(ds.labels, 1, 1, seed)
            t0 = time.perf_counter()
            ours = simulate(X, ds.labels, priors, ranker=Ranker(random_state=seed, **(ranker_kwargs or {})))
            t_ours = time.perf_counter() - t0
            results.setdefault(name, {}).setdefault("ours", []).append(
                {**metrics(ds.labels[ours[len(priors):]]), "seconds": t_ours})
            cached = CACHE / f"{name}_seed{seed}_priors{'-'.join(map(str, priors))}.json"
            if run_asreview or cached.exists():
                t0 = time.perf_counter()
                theirs = complete(asreview_order(ds, priors, seed), len(ds.labels))
                assert list(theirs[:len(priors)]) == priors, "ASReview did not start from our priors"
                results[name].setdefault("asreview", []).append(metrics(ds.labels[theirs[len(priors):]]))
            res = results[name]
            theirs = (" | asreview " + " ".join(f"{k}={res['asreview'][-1][k]:.3f}" for k in KEYS)
                      if res.get("asreview") and len(res["asreview"]) == len(res["ours"]) else "")
            print(f"  {name} seed {seed}: ours " + " ".join(f"{k}={res['ours'][-1][k]:.3f}" for k in KEYS) + theirs,
                  flush=True)
    return results


def print_table(results: dict) -> None:
    def mean(runs, k):
        return float(np.mean([r[k] for r in runs])) if runs else float("nan")

    print("\n| dataset | N | R | ours recall@10% | ASReview | ours WSS@95 | ASReview | ours ATD | ASReview |")
    print("|---|---|---|---|---|---|---|---|---|")
    means = {("ours", k): [] for k in KEYS} | {("asreview", k): [] for k in KEYS}
    for name, res in results.items():
        o, a = res["ours"], res.get("asreview", [])
        cells = []
        for k in KEYS:
            means[("ours", k)].append(mean(o, k))
            means[("asreview", k)].append(mean(a, k))
            cells += [f"{mean(o, k):.3f}", f"{mean(a, k):.3f}" if a else "–"]
        print(f"| {name} | {o[0]['n']} | {o[0]['r']} | " + " | ".join(cells) + " |")
    cells = []
    for k in KEYS:
        cells += [f"**{np.mean(means[('ours', k)]):.3f}**", f"{np.nanmean(means[('asreview', k)]):.3f}"]
    print("| mean | | | " + " | ".join(cells) + " |")
    print("\nratio ours / ASReview (means; ATD: lower is better): " + ", ".join(
        f"{k} {np.mean(means[('ours', k)]) / np.nanmean(means[('asreview', k)]):.3f}" for k in KEYS))
    wins = {k: sum(np.mean([r[k] for r in res['ours']]) > np.mean([r[k] for r in res['asreview']])
                   for res in results.values() if res.get("asreview")) for k in ("recall_at_10", "wss_95")}
    print(f"datasets where ours is higher: recall@10% {wins['recall_at_10']}/5, WSS@95 {wins['wss_95']}/5")


def latency(sizes=(1_000, 10_000, 50_000), n_labelled=(100, 1_000, 5_000), repeats: int = 5,
            clicks: int = 100) -> None:
    """Seconds for one decision → re-train → re-rank of the unlabelled records (worst case: a full
    retrain on every decision), and the longest pause of ``clicks`` decisions as the screening
    session makes them (retrain schedule; in the background from 2,000 labels).

    Corpus: the five SYNERGY sets (3,140 real records) repeated to the size with new ids;
    features are computed once per pool (timed separately), as in a screening session.
    """
    recs, labels = [], []
    for name in DATASETS:
        ds = load_dataset(SHARED / name)
        recs += ds.records
        labels += ds.labels.tolist()
    print(f"\n| records | labelled | features (s, once per session) | re-train + re-rank (s, median of {repeats}) "
          f"| per decision, session schedule (s, mean of {clicks}) | longest pause of {clicks} decisions (s) |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for size in sizes:
        idx = np.arange(size) % len(recs)
        pool = [replace(recs[i], id=f"{recs[i].id}-{k}") for k, i in enumerate(idx)]
        y = np.array([labels[i] for i in idx])
        t0 = time.perf_counter()
        X = TextFeatures().fit_transform(pool)
        t_feat = time.perf_counter() - t0
        for n_lab in n_labelled:
            if n_lab > size // 2:
                continue
            pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
            n_pos = max(1, n_lab // 10)
            chosen = list(rng.choice(pos, n_pos, replace=False)) + list(rng.choice(neg, n_lab - n_pos, replace=False))
            rng.shuffle(chosen)
            model = Prioritiser(X, Ranker(), retrain_until=10**9)  # retrain on every label
            for r in chosen[:-repeats]:
                model.labels[int(r)] = int(y[r])
            model.ranking()
            times = []
            for r in chosen[-repeats:]:
                t0 = time.perf_counter()
                model.label(r, y[r])
                model.ranking()
                times.append(time.perf_counter() - t0)
            # as the session runs: default schedule, background retrains from 2,000 labels
            session = Prioritiser(X, Ranker(), background_from=SESSION_BACKGROUND_FROM)
            for r in chosen:
                session.labels[int(r)] = int(y[r])
            session.ranking()
            session.wait()
            pauses = []
            for _ in range(clicks):
                t0 = time.perf_counter()
                r = session.ranking()[0]
                session.label(r, y[r])
                session.ranking()
                pauses.append(time.perf_counter() - t0)
            session.wait()
            print(f"| {size:,} | {n_lab:,} | {t_feat:.1f} | {np.median(times):.3f} | {np.mean(pauses):.3f} "
                  f"| {max(pauses):.3f} |", flush=True)


def lodo_table(run_asreview: bool, configs: list[str] | None = None) -> None:
    """Leave-one-dataset-out figures on the 14 shared sets beside ASReview's (see screening_grid.py)."""
    import screening_grid as grid

    names = configs or list(grid.GRID)
    for name in grid.SETS:
        ds = grid.dataset(name)
        for seed in grid.SEEDS:
            priors = draw_priors(ds.labels, 1, 1, seed)
            if run_asreview or (CACHE / f"{name}_seed{seed}_priors{'-'.join(map(str, priors))}.json").exists():
                asreview_order(ds, priors, seed)
    for c in names:
        cache: dict = {}
        for name in grid.SETS:
            for seed in grid.SEEDS:
                grid.run_one(c, name, seed, cache)
    res = grid.table(names)
    grid.print_lodo(res, names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-asreview", action="store_true", help="do not run ASReview (use cached orders only)")
    ap.add_argument("--latency-only", action="store_true")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--synergy-only", action="store_true",
                    help="the old in-sample table: the default on the five SYNERGY sets, seeds 1-5")
    ap.add_argument("--text-only", action="store_true", help="with --synergy-only: title + abstract features only")
    args = ap.parse_args()
    if not args.latency_only:
        if args.synergy_only:
            features = {"citation_weight": 0, "subject_weight": 0} if args.text_only else None
            print_table(screening_table(run_asreview=not args.no_asreview, feature_kwargs=features))
        else:
            lodo_table(run_asreview=not args.no_asreview)
    if not args.no_latency:
        latency()


if __name__ == "__main__":
    main()
