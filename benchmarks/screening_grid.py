"""Leave-one-dataset-out (LODO) selection of the screening defaults, against ASReview LAB 3.0.8 (elas_u4).

Fourteen labelled sets: the five SYNERGY sets (OpenAlex metadata) and the nine Cohen 2006 sets
(title + abstract only). Every candidate of a small grid (:data:`GRID`) is simulated on every set
with seeds 1-3, from the same priors ASReview was given (``draw_priors(labels, 1, 1, seed)``); per
run metrics are cached on disk (``--cache``). For each set, the candidate is chosen on the other
13 (:func:`choose`) and scored on it: those out-of-fold figures are the ones to quote.

    python benchmarks/screening_grid.py            # run what is missing, print the LODO table
    python benchmarks/screening_grid.py --table    # cached results only
    python benchmarks/screening_grid.py --table --no-embeddings   # the base install's candidates only
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from review.screening.classifiers import Ranker  # noqa: E402
from review.screening.features import TextFeatures  # noqa: E402
from review.screening.simulate import draw_priors, metrics, simulate  # noqa: E402
from review.sources.datasets import load_dataset  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PEERS = ROOT.parent / "peers"
ASREVIEW_CACHE = PEERS / "cache" / "screening"
GRID_CACHE = PEERS / "cache" / "screening_lodo"
SYNERGY = ["Donners_2021", "Meijboom_2021", "Nelson_2002", "Oud_2018", "van_der_Valk_2021"]
COHEN = ["Cohen_2006_ADHD", "Cohen_2006_Antihistamines", "Cohen_2006_AtypicalAntipsychotics",
         "Cohen_2006_BetaBlockers", "Cohen_2006_CalciumChannelBlockers", "Cohen_2006_Opiods",
         "Cohen_2006_OralHypoglycemics", "Cohen_2006_ProtonPumpInhibitors", "Cohen_2006_SkeletalMuscleRelaxants"]
SETS = SYNERGY + COHEN
SEEDS = (1, 2, 3)
KEYS = ("recall_at_10", "wss_95", "atd")

TEXT = {"citation_weight": 0.0, "subject_weight": 0.0}
EVERY = {"retrain_until": 10**9}  # retrain after every label, as ASReview does
# name -> (TextFeatures kwargs, Ranker kwargs, Prioritiser schedule kwargs)
GRID: dict[str, tuple[dict, dict, dict]] = {
    "old_default": ({}, {"classifier": "ensemble"}, {}),  # SVM + NB, citations 0.5, subjects 0.2 (before #15)
    "elas_u4_like": ({**TEXT, "max_df": 0.95}, {"classifier": "svm", "C": 0.11, "ratio": 9.8}, EVERY),
    "svm_text": (TEXT, {"classifier": "svm"}, {}),
    "ens_text": (TEXT, {"classifier": "ensemble"}, {}),
    "svm_C0.5": (TEXT, {"classifier": "svm", "C": 0.5}, {}),
    "lr_text": (TEXT, {"classifier": "logistic"}, {}),
    "svm_lr_text": (TEXT, {"members": ("svm", "logistic")}, {}),
    "svm_pi100": (TEXT, {"classifier": "svm", "presumed_irrelevant": 100}, {}),
    "svm_mindf2": ({**TEXT, "min_df": 2}, {"classifier": "svm"}, {}),
    # "svm_char" (char 3-5 grams, weight 1) was stopped after 8 of 14 sets: ~10x slower features, no gain there
    "svm_emb0.5": ({**TEXT, "embedding_weight": 0.5}, {"classifier": "svm"}, {}),
    "svm_emb1": ({**TEXT, "embedding_weight": 1.0}, {"classifier": "svm"}, {}),
    "svm_emb2": ({**TEXT, "embedding_weight": 2.0}, {"classifier": "svm"}, {}),
    "svm_emb0.25": ({**TEXT, "embedding_weight": 0.25}, {"classifier": "svm"}, {}),
    "svm_emb0.1": ({**TEXT, "embedding_weight": 0.1}, {"classifier": "svm"}, {}),
    "svm_emb0.15": ({**TEXT, "embedding_weight": 0.15}, {"classifier": "svm"}, {}),
    # with the metadata blocks (they are empty on title/abstract-only sets: same as text there)
    "svm_meta": ({"citation_weight": 0.5, "subject_weight": 0.2}, {"classifier": "svm"}, {}),
    "svm_meta_cite1": ({"citation_weight": 1.0, "subject_weight": 0.2}, {"classifier": "svm"}, {}),
    "svm_meta_subj0.5": ({"citation_weight": 0.5, "subject_weight": 0.5}, {"classifier": "svm"}, {}),
    "svm_meta_emb0.25": ({"citation_weight": 0.5, "subject_weight": 0.2, "embedding_weight": 0.25},
                         {"classifier": "svm"}, {}),
    "svm_meta_emb0.15": ({"citation_weight": 0.5, "subject_weight": 0.2, "embedding_weight": 0.15},
                         {"classifier": "svm"}, {}),
    # session 2026-12-03: explanations of the text-only tie (``_extra``: experimental transforms, see extra_features)
    "svm_every": ({"citation_weight": 0.5, "subject_weight": 0.2}, {"classifier": "svm"}, EVERY),
    "svm_ratio4": (TEXT, {"classifier": "svm", "ratio": 4.0}, {}),
    "svm_ratio20": (TEXT, {"classifier": "svm", "ratio": 20.0}, {}),
    "svm_C0.05": (TEXT, {"classifier": "svm", "C": 0.05}, {}),
    "svm_C0.25": (TEXT, {"classifier": "svm", "C": 0.25}, {}),
    "svm_tri": ({**TEXT, "word_ngrams": [1, 3]}, {"classifier": "svm"}, {}),
    "svm_uni": ({**TEXT, "word_ngrams": [1, 1]}, {"classifier": "svm"}, {}),
    "svm_stop": ({**TEXT, "stop_words": "english"}, {"classifier": "svm"}, {}),
    "svm_title0.5": ({**TEXT, "_extra": {"title": 0.5}}, {"classifier": "svm"}, {}),
    "svm_title1": ({**TEXT, "_extra": {"title": 1.0}}, {"classifier": "svm"}, {}),
    "svm_knn10_0.5": ({**TEXT, "_extra": {"knn": [10, 0.5]}}, {"classifier": "svm"}, {}),
    "svm_knn10_1": ({**TEXT, "_extra": {"knn": [10, 1.0]}}, {"classifier": "svm"}, {}),
    "svm_mixed10": (TEXT, {"classifier": "svm", "query": "mixed", "mix_every": 10}, {}),
    "svm_mixed25": (TEXT, {"classifier": "svm", "query": "mixed", "mix_every": 25}, {}),
    "svm_lsa100_0.25": ({**TEXT, "_extra": {"lsa": [100, 0.25]}}, {"classifier": "svm"}, {}),
    "svm_lsa100_0.5": ({**TEXT, "_extra": {"lsa": [100, 0.5]}}, {"classifier": "svm"}, {}),
    "svm_lsa200_0.5": ({**TEXT, "_extra": {"lsa": [200, 0.5]}}, {"classifier": "svm"}, {}),
    "svm_lsa100_1": ({**TEXT, "_extra": {"lsa": [100, 1.0]}}, {"classifier": "svm"}, {}),
    "fuse_svm0.3": ({**TEXT, "embedding_weight": 1.0}, {"classifier": "svm", "_fusion": {"fusion": 0.3}}, {}),
    "fuse_svm0.5": ({**TEXT, "embedding_weight": 1.0}, {"classifier": "svm", "_fusion": {"fusion": 0.5}}, {}),
    "fuse_lr0.3": ({**TEXT, "embedding_weight": 1.0},
                   {"classifier": "svm", "_fusion": {"fusion": 0.3, "dense_model": "lr"}}, {}),
    "fuse_svmC0.1_0.3": ({**TEXT, "embedding_weight": 1.0},
                         {"classifier": "svm", "_fusion": {"fusion": 0.3, "dense_C": 0.1}}, {}),
    "svm_binary": ({**TEXT, "_extra": {"binary": True}}, {"classifier": "svm"}, {}),
    "svm_maxdf0.5": ({**TEXT, "max_df": 0.5}, {"classifier": "svm"}, {}),
    "svm_knn5_0.3": ({**TEXT, "_extra": {"knn": [5, 0.3]}}, {"classifier": "svm"}, {}),
}
# Tried outside the grid (session 2026-12-04, text features, 14 sets x seeds 1-3, against svm_text; not kept):
# the SVM score plus w x the cosine similarity to the nearest labelled relevant record (w 0.3 / 0.6, or the mean
# of the 3 nearest): mean recall@10% within +-0.011 of svm_text on both groups, a set down to -0.049; NB-SVM
# (features scaled by the labelled records' log-count ratio, Wang & Manning 2012): recall@10% -0.03 to -0.12.


class FusionRanker(Ranker):
    """Experimental: the default SVM on the sparse blocks and a second linear model on the last ``dense``
    columns (the sentence embeddings), their standardised scores averaged with weight ``fusion`` on the second."""

    def __init__(self, fusion: float = 0.5, dense: int = 384, dense_C: float = 1.0, dense_model: str = "svm",
                 **kwargs):
        super().__init__(**kwargs)
        self.fusion, self.dense, self.dense_C, self.dense_model = fusion, dense, dense_C, dense_model

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        from review.screening.classifiers import balanced_weights

        X = sp.csr_matrix(X)
        k = X.shape[1] - self.dense
        w = balanced_weights(np.asarray(y), self.ratio)
        super().fit(X[:, :k], y)
        second = (LinearSVC(C=self.dense_C, max_iter=2000, random_state=self.random_state)
                  if self.dense_model == "svm" else LogisticRegression(C=self.dense_C, max_iter=1000))
        self.dense_ = second.fit(X[:, k:].toarray(), y, sample_weight=w)
        return self

    def score(self, X):
        X = sp.csr_matrix(X)
        k = X.shape[1] - self.dense
        a = super().score(X[:, :k])
        b = np.asarray(X[:, k:] @ self.dense_.coef_.ravel()).ravel() + float(self.dense_.intercept_[0])

        def z(v):
            sd = v.std()
            return (v - v.mean()) / sd if sd > 0 else v - v.mean()

        return (1 - self.fusion) * z(a) + self.fusion * z(b)


def extra_features(X, records, extra: dict):
    """Experimental feature transforms (not in the library unless they win out of fold).

    ``lsa`` (k, w): append the k-dimensional LSA (truncated SVD) of X, each row L2-normalised, times w.
    ``title``: append a TF-IDF block of the title alone with this weight. ``knn`` (k, beta): add to each
    row beta x the mean of its k nearest neighbours (cosine on X), then re-normalise: short texts borrow
    the vocabulary of similar records.
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if "title" in extra:
        T = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode", dtype=np.float32)
        T = T.fit_transform([r.title or "" for r in records]) * extra["title"]
        X = sp.hstack([X, T], format="csr")
    if extra.get("binary"):  # presence (binary tf) times idf, re-normalised: the weighting of Cormack & Grossman's BMI
        B = X.copy()
        B.data = np.ones_like(B.data)
        idf = np.log((1 + X.shape[0]) / (1 + np.bincount(B.indices, minlength=X.shape[1]))) + 1
        X = normalize(B @ sp.diags(idf.astype(np.float32))).astype(np.float32)
    if "lsa" in extra:  # latent semantic analysis of the pool's own word block, as a dense block
        from sklearn.decomposition import TruncatedSVD

        k, w = extra["lsa"]
        k = min(k, X.shape[1] - 1, X.shape[0] - 1)
        Z = TruncatedSVD(n_components=k, random_state=0).fit_transform(X)
        X = sp.hstack([X, sp.csr_matrix(normalize(Z).astype(np.float32) * w)], format="csr")
    if "knn" in extra:
        k, beta = extra["knn"]
        Xn = normalize(X)
        S = (Xn @ Xn.T).toarray()
        np.fill_diagonal(S, 0)
        idx = np.argpartition(-S, k, axis=1)[:, :k]
        rows = np.repeat(np.arange(X.shape[0]), k)
        W = sp.csr_matrix((np.full(rows.size, 1.0 / k, dtype=np.float32), (rows, idx.ravel())), shape=S.shape)
        X = normalize(Xn + beta * (W @ Xn)).astype(np.float32)
    return sp.csr_matrix(X)


def path_of(name: str) -> Path:
    return SHARED / "synergy" / name if name in SYNERGY else SHARED / "screening_text" / f"{name}.csv"


def config_key(cfg: tuple[dict, dict, dict]) -> str:
    """Cache key of a grid entry: its kwargs as written (name the classes' defaults explicitly: defaults change)."""
    return hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:12]


_datasets: dict = {}


def dataset(name: str):
    if name not in _datasets:
        _datasets[name] = load_dataset(path_of(name))
    return _datasets[name]


def embeddings(name: str) -> np.ndarray:
    """Sentence embeddings of the set's records, computed once (:func:`sentence_embeddings`) and cached."""
    from review.screening.features import document, sentence_embeddings

    f = GRID_CACHE / "emb" / f"{name}.npy"
    if not f.exists():
        f.parent.mkdir(parents=True, exist_ok=True)
        np.save(f, sentence_embeddings([document(r) for r in dataset(name).records]))
    return np.load(f)


def asreview_metrics(name: str, seed: int) -> dict | None:
    ds = dataset(name)
    priors = draw_priors(ds.labels, 1, 1, seed)
    f = ASREVIEW_CACHE / f"{name}_seed{seed}_priors{'-'.join(map(str, priors))}.json"
    if not f.exists():
        return None
    order = json.loads(f.read_text())
    seen = set(order)
    order = np.array(order + [i for i in range(len(ds.labels)) if i not in seen], dtype=int)
    assert list(order[:2]) == priors
    return metrics(ds.labels[order[2:]])


def run_one(cfg_name: str, name: str, seed: int, features_cache: dict) -> dict:
    cfg = GRID[cfg_name]
    out = GRID_CACHE / "runs" / config_key(cfg) / f"{name}_seed{seed}.json"
    if out.exists():
        return json.loads(out.read_text())
    fkw, rkw, skw = cfg
    fkw = dict(fkw)
    extra = fkw.pop("_extra", None)
    ds = dataset(name)
    fk = (name, json.dumps([fkw, extra], sort_keys=True))
    if fk not in features_cache:
        features_cache.clear()
        features_cache[fk] = TextFeatures(**fkw).fit_transform(ds.records, ds.raws, embeddings(name)
                                                               if fkw.get("embedding_weight") else None)
        if extra:
            features_cache[fk] = extra_features(features_cache[fk], ds.records, extra)
    X = features_cache[fk]
    priors = draw_priors(ds.labels, 1, 1, seed)
    t0 = time.perf_counter()
    rkw = dict(rkw)
    fusion = rkw.pop("_fusion", None)
    ranker = FusionRanker(random_state=seed, **fusion, **rkw) if fusion else Ranker(random_state=seed, **rkw)
    order = simulate(X, ds.labels, priors, ranker=ranker, **skw)
    res = {**metrics(ds.labels[order[2:]]), "seconds": time.perf_counter() - t0}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res))
    (out.parent / "config.json").write_text(json.dumps({"name": cfg_name, "config": cfg}))
    return res


def table(names: list[str], sets: list[str] = SETS, seeds=SEEDS) -> dict:
    """``{config: {set: {metric: mean over seeds}}}`` plus ``"asreview"``, from the cache."""
    res: dict = {"asreview": {}}
    for s in sets:
        runs = [asreview_metrics(s, seed) for seed in seeds]
        res["asreview"][s] = {k: float(np.mean([r[k] for r in runs])) for k in KEYS}
    for c in names:
        res[c] = {}
        for s in sets:
            files = [GRID_CACHE / "runs" / config_key(GRID[c]) / f"{s}_seed{seed}.json" for seed in seeds]
            if all(f.exists() for f in files):
                runs = [json.loads(f.read_text()) for f in files]
                res[c][s] = {k: float(np.mean([r[k] for r in runs])) for k in KEYS}
    return res


def choose(res: dict, candidates: list[str], train: list[str]) -> str:
    """The candidate that wins on most training sets and loses badly on none.

    Per set, each candidate's margin over ASReview is ``(Δrecall@10% + ΔWSS@95)/2``; candidates
    whose recall@10% or WSS@95 is more than 0.10 below ASReview's on some training set are dropped
    (unless all are); of the rest, the best mean rank of the margin across the training sets wins
    (ties: the higher mean margin).
    """
    a = res["asreview"]
    ok = [c for c in candidates if all(s in res[c] for s in train)]
    safe = [c for c in ok if all(res[c][s][k] >= a[s][k] - 0.10 for s in train for k in ("recall_at_10", "wss_95"))]
    pool = safe or ok
    margin = {c: np.array([(res[c][s]["recall_at_10"] - a[s]["recall_at_10"]
                            + res[c][s]["wss_95"] - a[s]["wss_95"]) / 2 for s in train]) for c in pool}
    m = np.array([margin[c] for c in pool])  # candidates x sets
    ranks = (-m).argsort(axis=0).argsort(axis=0).mean(axis=1)
    best = sorted(range(len(pool)), key=lambda i: (ranks[i], -m[i].mean()))[0]
    return pool[best]


def lodo(res: dict, candidates: list[str], sets: list[str] = SETS) -> dict:
    """For each set: the candidate chosen on the others and its (out-of-fold) metrics there."""
    out = {}
    for s in sets:
        c = choose(res, candidates, [t for t in sets if t != s])
        out[s] = {"chosen": c, **res[c][s]}
    return out


def print_lodo(res: dict, candidates: list[str], sets: list[str] = SETS) -> None:
    oof = lodo(res, candidates, sets)
    a = res["asreview"]
    print("\n| set | chosen on the other sets | recall@10% ours | ASReview | WSS@95 ours | ASReview | ATD ours "
          "| ASReview |")
    print("|---|---|---|---|---|---|---|---|")
    for s in sets:
        o = oof[s]
        print(f"| {s} | {o['chosen']} | " + " | ".join(f"{o[k]:.3f} | {a[s][k]:.3f}" for k in KEYS) + " |")
    for label, group in (("SYNERGY", [s for s in sets if s in SYNERGY]), ("Cohen", [s for s in sets if s in COHEN]),
                         ("all", sets)):
        if group:
            print(f"| **mean {label}** ({len(group)}) | | " + " | ".join(
                f"{np.mean([oof[s][k] for s in group]):.3f} | {np.mean([a[s][k] for s in group]):.3f}"
                for k in KEYS) + " |")
    worst = min(oof[s]["recall_at_10"] - a[s]["recall_at_10"] for s in sets)
    print(f"worst recall@10% margin over ASReview: {worst:+.3f}")


def print_grid(res: dict, candidates: list[str], sets: list[str] = SETS) -> None:
    a = res["asreview"]
    print("\nin-sample (for diagnosis only): Δ vs ASReview per set, recall@10% / WSS@95")
    print("| config | " + " | ".join(s.replace("Cohen_2006_", "C:")[:10] for s in sets)
          + " | mean Δrec | mean ΔWSS | mean ATD |")
    for c in candidates:
        if len(res[c]) < len(sets):
            continue
        cells = [f"{res[c][s]['recall_at_10'] - a[s]['recall_at_10']:+.2f}/{res[c][s]['wss_95'] - a[s]['wss_95']:+.2f}"
                 for s in sets]
        dr = np.mean([res[c][s]["recall_at_10"] - a[s]["recall_at_10"] for s in sets])
        dw = np.mean([res[c][s]["wss_95"] - a[s]["wss_95"] for s in sets])
        at = np.mean([res[c][s]["atd"] for s in sets])
        print(f"| {c} | " + " | ".join(cells) + f" | {dr:+.3f} | {dw:+.3f} | {at:.3f} |")
    print(f"| (ASReview ATD mean {np.mean([a[s]['atd'] for s in sets]):.3f}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", action="store_true", help="cached results only")
    ap.add_argument("--configs", nargs="*", help="only these grid entries")
    ap.add_argument("--sets", nargs="*", help="only these sets")
    ap.add_argument("--no-embeddings", action="store_true",
                    help="only candidates without sentence embeddings (what the base install can run)")
    args = ap.parse_args()
    names = args.configs or list(GRID)
    if args.no_embeddings:
        names = [c for c in names if not GRID[c][0].get("embedding_weight")]
    sets = args.sets or SETS
    if not args.table:
        for c in names:
            fc: dict = {}
            t0 = time.perf_counter()
            for s in sets:
                for seed in SEEDS:
                    run_one(c, s, seed, fc)
            print(f"{c}: {time.perf_counter() - t0:.0f} s", flush=True)
    res = table(names, sets)
    print_grid(res, names, sets)
    print_lodo(res, [c for c in names if len(res[c]) == len(sets)], sets)


if __name__ == "__main__":
    main()
