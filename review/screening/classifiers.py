"""Rankers for prioritised screening (naive Bayes, logistic regression, SVM, their ensemble) and the retrain
schedule."""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

CLASSIFIERS = ("nb", "logistic", "svm", "ensemble")
QUERY_STRATEGIES = ("max", "uncertainty", "mixed")


def _classifier(name: str, C: float | None, alpha: float, random_state: int):
    if name == "nb":
        return MultinomialNB(alpha=alpha)
    if name == "logistic":
        return LogisticRegression(C=1.0 if C is None else C, solver="liblinear", dual=True, max_iter=1000)
    if name == "svm":
        return LinearSVC(C=0.11 if C is None else C, max_iter=2000, random_state=random_state)
    raise ValueError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")


def balanced_weights(y: np.ndarray, ratio: float) -> np.ndarray:
    """Sample weights giving the relevant class ``ratio`` times the total weight of the irrelevant class.

    Weights sum to ``len(y)``; ``ratio=1`` is the usual "balanced" class weighting.
    """
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    w = np.where(y == 1, ratio / n1, 1.0 / n0)
    return w * len(y) / w.sum()


def _standardise(s: np.ndarray) -> np.ndarray:
    sd = s.std()
    return (s - s.mean()) / sd if sd > 0 else s - s.mean()


class Ranker(BaseEstimator):
    """A relevance model over a fixed feature matrix (a scikit-learn estimator: parameters are
    stored as given and checked in :meth:`fit`, so ``get_params``, ``clone`` and ``repr`` work).

    Parameters
    ----------
    classifier : "nb", "logistic", "svm" (default: a linear SVM, C=0.11, relevant class weighted
        ``ratio`` = 9.8 times, chosen leave-one-dataset-out on 14 labelled reviews; see
        ``benchmarks/screening_grid.py``), or "ensemble" (the ``members``' standardised scores averaged).
    query : "max", "uncertainty" or "mixed".
    balance : weight the classes so the rare relevant records count (see ``ratio``).
    ratio : total weight of the relevant class relative to the irrelevant class when balancing.
    C : inverse regularisation of "logistic" (default 1) and "svm" (default 0.11); ``alpha``: smoothing of "nb".
    members : the classifiers of "ensemble".
    mix_every : in "mixed", every ``mix_every``-th record is the most uncertain one.
    presumed_irrelevant : train also on this many random unlabelled records labelled irrelevant
        (Cormack & Grossman's AutoTAR); relevant records are rare, so nearly all are.
    random_state : seed of the SVM and of the presumed-irrelevant draw.

    Fitted: ``models_``, one scikit-learn classifier per member.
    """

    def __init__(self, classifier: str = "svm", query: str = "max", balance: bool = True, ratio: float = 9.8,
                 C: float | None = None, alpha: float = 0.1, members: tuple[str, ...] = ("svm", "nb"),
                 mix_every: int = 10, presumed_irrelevant: int = 0, random_state: int = 0):
        self.classifier = classifier
        self.query = query
        self.balance = balance
        self.ratio = ratio
        self.C = C
        self.alpha = alpha
        self.members = members
        self.mix_every = mix_every
        self.presumed_irrelevant = presumed_irrelevant
        self.random_state = random_state

    def check_params(self) -> Ranker:
        """Raise ``ValueError`` naming the first invalid parameter; return self."""
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {self.classifier!r}; choose one of {', '.join(CLASSIFIERS)}")
        if self.query not in QUERY_STRATEGIES:
            raise ValueError(f"unknown query strategy {self.query!r}; choose one of {', '.join(QUERY_STRATEGIES)}")
        if self.classifier == "ensemble":
            bad = [m for m in self.members if m not in CLASSIFIERS[:-1]] if isinstance(self.members, (list, tuple)) \
                else [self.members]
            if bad or not self.members:
                raise ValueError(f"members must name classifiers among {', '.join(CLASSIFIERS[:-1])}, "
                                 f"got {self.members!r}")
        for name, v, low in (("ratio", self.ratio, 0), ("alpha", self.alpha, 0), ("C", self.C, 0)):
            if v is None and name == "C":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= low:
                raise ValueError(f"{name} must be a number > {low}, got {v!r}")
        for name, v, low in (("mix_every", self.mix_every, 1), ("presumed_irrelevant", self.presumed_irrelevant, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {v!r}")
        if not isinstance(self.balance, bool):
            raise ValueError(f"balance must be true or false, got {self.balance!r}")
        return self

    def fit(self, X: sp.spmatrix, y: np.ndarray) -> Ranker:
        """Train on labelled rows ``X`` with labels ``y`` (1 relevant, 0 irrelevant); needs both classes."""
        self.check_params()
        y = np.asarray(y, dtype=int)
        if len(set(y.tolist())) < 2:
            raise ValueError("a ranker needs at least one relevant and one irrelevant record")
        names = list(self.members) if self.classifier == "ensemble" else [self.classifier]
        w = balanced_weights(y, self.ratio) if self.balance else None
        self.models_ = [_classifier(n, self.C, self.alpha, self.random_state).fit(X, y, sample_weight=w)
                        for n in names]
        return self

    def score(self, X: sp.spmatrix) -> np.ndarray:
        """Relevance score per row (higher = more likely relevant; centred near 0 at the boundary)."""
        check_is_fitted(self, "models_")
        X = sp.csr_matrix(X)
        scores = []
        for m in self.models_:
            # every member is linear in X: one sparse matrix-vector product in X's dtype (no copy of X)
            if isinstance(m, MultinomialNB):  # log P(1|x) - log P(0|x)
                w = m.feature_log_prob_[1] - m.feature_log_prob_[0]
                b = m.class_log_prior_[1] - m.class_log_prior_[0]
            else:
                w, b = m.coef_.ravel(), float(m.intercept_[0])
            scores.append(np.asarray(X @ w.astype(X.dtype), dtype=float) + b)
        if len(scores) == 1:
            return scores[0]
        return np.mean([_standardise(s) for s in scores], axis=0)

    def order(self, scores: np.ndarray) -> np.ndarray:
        """Positions of ``scores`` in screening order by the query strategy."""
        by_max = np.argsort(-scores, kind="stable")
        if self.query == "max":
            return by_max
        boundary = 0.0 if len(self.models_) == 1 else np.median(scores)  # ensemble scores are standardised
        by_unc = np.argsort(np.abs(scores - boundary), kind="stable")
        if self.query == "uncertainty":
            return by_unc
        out, seen = [], np.zeros(len(scores), dtype=bool)
        it_max, it_unc = iter(by_max), iter(by_unc)
        for k in range(len(scores)):
            it = it_unc if (k + 1) % self.mix_every == 0 else it_max
            for i in it:
                if not seen[i]:
                    seen[i] = True
                    out.append(i)
                    break
        return np.asarray(out, dtype=int)


class Prioritiser:
    """Screening order over a fixed pool: labels in, ranking of the unlabelled rows out.

    Parameters
    ----------
    X : sparse feature matrix of the pool (rows = records), from :class:`TextFeatures`.
    ranker : the model; default :class:`Ranker` with its defaults.
    query : optional feature rows (e.g. one per protocol concept) for ordering before the
        model can be trained.
    retrain_until, retrain_growth : the model is retrained after every label change while fewer
        than ``retrain_until`` records are labelled, later once the changes since the last
        training reach ``retrain_growth`` × the labelled count (e.g. every 20th record at
        1,000 labelled); between trainings the last scores are reused.
    background_from : from this many labels on, a due retrain runs in a background thread and
        ``ranking()`` keeps serving the last scores until it is done, so a click never waits
        for a long fit (``None``: always in the foreground, as simulations need for
        reproducible orders).

    ``label(row, y)`` / ``unlabel(row)`` change the training set; ``ranking()`` retrains when
    due and returns the unlabelled rows, most wanted first. A retrain fits the labelled rows
    only and scores the pool with one sparse matrix-vector product.
    """

    def __init__(self, X: sp.spmatrix, ranker: Ranker | None = None, query: sp.spmatrix | None = None,
                 retrain_until: int = 200, retrain_growth: float = 0.02, background_from: int | None = None):
        self.X = sp.csr_matrix(X)
        self.ranker = ranker if ranker is not None else Ranker()
        self.query = query
        self.retrain_until, self.retrain_growth = retrain_until, retrain_growth
        self.background_from = background_from
        self.labels: dict[int, int] = {}
        self._cache: np.ndarray | None = None
        self._scores: np.ndarray | None = None  # model scores of every row at the last training
        self._changes = 0  # label changes since then
        self._thread: threading.Thread | None = None
        self._pending: tuple | None = None  # (fitted ranker, scores) from the background thread

    def label(self, row: int, y: int) -> None:
        y = int(bool(y))
        if self.labels.get(int(row)) != y:
            self.labels[int(row)] = y
            self._changes += 1
        self._cache = None

    def unlabel(self, row: int) -> None:
        if self.labels.pop(int(row), None) is not None:
            self._changes += 1
        self._cache = None

    @property
    def trainable(self) -> bool:
        seen = set(self.labels.values())
        return 1 in seen and (0 in seen or self.ranker.presumed_irrelevant > 0)

    def until_retrain(self) -> int:
        """How many more labels the current ranking serves before the model is retrained."""
        n = len(self.labels)
        if self._scores is None or n < self.retrain_until:
            return 1
        return max(1, int(n * self.retrain_growth) - self._changes + 1)

    def _unlabelled(self) -> np.ndarray:
        mask = np.ones(self.X.shape[0], dtype=bool)
        if self.labels:
            mask[np.fromiter(self.labels, dtype=int, count=len(self.labels))] = False
        return np.flatnonzero(mask)

    def _train(self, ranker: Ranker, labels: dict[int, int], rows: np.ndarray) -> np.ndarray:
        lab = np.fromiter(labels, dtype=int, count=len(labels))
        y = np.fromiter(labels.values(), dtype=int, count=len(labels))
        k = min(ranker.presumed_irrelevant, len(rows) // 2)
        if k:
            rng = np.random.default_rng(ranker.random_state + len(lab))
            lab = np.concatenate([lab, rng.choice(rows, k, replace=False)])
            y = np.concatenate([y, np.zeros(k, dtype=int)])
        ranker.fit(self.X[lab], y)
        return ranker.score(self.X)

    def _fit(self, rows: np.ndarray) -> None:
        if self.background_from is not None and len(self.labels) >= self.background_from and self._scores is not None:
            if self._thread is None:  # serve the last scores meanwhile; one background fit at a time
                snapshot, ranker = dict(self.labels), clone(self.ranker)

                def work() -> None:
                    self._pending = (ranker, self._train(ranker, snapshot, rows))

                self._changes = 0  # changes from now on are those since the snapshot
                self._thread = threading.Thread(target=work, name="screening-retrain", daemon=True)
                self._thread.start()
            return
        self._scores = self._train(self.ranker, self.labels, rows)
        self._changes = 0

    def _adopt(self) -> None:
        """Take the background fit's model and scores once it is done."""
        if self._thread is not None and not self._thread.is_alive():
            self._thread = None
            if self._pending is not None:
                self.ranker, self._scores = self._pending
                self._pending = None
                self._cache = None

    def wait(self) -> None:
        """Block until a background retrain (if any) is done and adopted."""
        if self._thread is not None:
            self._thread.join()
        self._adopt()

    def ranking(self) -> np.ndarray:
        """Unlabelled rows in screening order."""
        self._adopt()
        if self._cache is None:
            rows = self._unlabelled()
            if len(rows) == 0:
                self._cache = rows
            elif not self.trainable:
                self._scores = None
                relevant = [r for r, v in self.labels.items() if v]
                s = prior_scores(self.X, rows, relevant, self.query)
                self._cache = rows[np.argsort(-s, kind="stable")]
            else:
                if (self._scores is None or len(self.labels) < self.retrain_until
                        or self._changes >= max(1, int(len(self.labels) * self.retrain_growth))):
                    self._fit(rows)
                self._cache = rows[self.ranker.order(self._scores[rows])]
        return self._cache


def prior_scores(X: sp.csr_matrix, rows: np.ndarray, relevant: Sequence[int] = (),
                 query: sp.spmatrix | None = None) -> np.ndarray:
    """Scores of ``rows`` before a classifier can be trained.

    Cosine similarity to the mean of the ``relevant`` rows if any, else the highest cosine
    similarity to a row of ``query`` (e.g. one row per protocol concept), else zeros (the
    stored order).
    """
    relevant = list(relevant)
    if relevant:
        centre = sp.csr_matrix(X[relevant].mean(axis=0))
    elif query is not None and query.nnz:
        centre = sp.csr_matrix(query)
    else:
        return np.zeros(len(rows))
    sims = normalize(X[rows]) @ normalize(centre).T  # rows x queries
    return np.asarray(sims.max(axis=1).todense()).ravel()
