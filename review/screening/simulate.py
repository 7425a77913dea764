"""Simulated screening on labelled data, and its metrics.

A simulation screens a labelled dataset with the prioritisation model the way a reviewer
would: a few prior records (drawn at random with a seed from the included and the excluded
ones) are labelled first, then the model proposes the next record, its label is revealed,
and so on. The model is retrained after every record at first and in growing batches later
(every ~2 % more labels), so even 50k-record sets finish. Once every included record is
found, the rest follow the last ranking (the metrics do not depend on their order).

Metrics (``N``, ``R`` exclude the priors; positions are 1-based after the priors):

- recall@10%: share of the R included records among the first ``floor(0.1 N)`` screened;
- WSS@95 (Cohen 2006): ``(N - n95) / N - 0.05``, ``n95`` = records screened to reach
  ``ceil(0.95 R)`` included;
- ATD: mean over the included records of ``position / N``.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from review.core.errors import DatasetError
from review.screening.classifiers import Prioritiser, Ranker
from review.screening.stoppers import StopRule, evaluate


def draw_priors(labels: Sequence[int], n_included: int = 1, n_excluded: int = 1, seed: int = 0) -> list[int]:
    """Positions of the prior records: ``n_included`` included then ``n_excluded`` excluded, at random."""
    y = np.asarray(labels, dtype=int)
    inc, exc = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if n_included > len(inc) or n_excluded > len(exc):
        raise DatasetError(f"asked for {n_included} included and {n_excluded} excluded priors; the dataset has "
                           f"{len(inc)} included and {len(exc)} excluded records")
    rng = np.random.default_rng(seed)
    return [int(i) for i in rng.choice(inc, n_included, replace=False)] + \
           [int(i) for i in rng.choice(exc, n_excluded, replace=False)]


def simulate(X, labels: Sequence[int], priors: Sequence[int], ranker: Ranker | None = None,
             progress: bool = False, **schedule) -> np.ndarray:
    """Screening order of every row of ``X``: the priors, then the model's picks.

    The model is retrained on :class:`~review.screening.classifiers.Prioritiser`'s schedule (``schedule``:
    ``retrain_until``, ``retrain_growth``); between trainings the next records come from
    the last ranking, as a reviewer would see them.
    """
    from tqdm import tqdm

    y = np.asarray(labels, dtype=int)
    n = X.shape[0]
    model = Prioritiser(X, ranker or Ranker(), **schedule)
    order = [int(p) for p in priors]
    for p in order:
        model.label(p, y[p])
    remaining_relevant = int(y.sum() - y[order].sum())
    bar = tqdm(total=n, initial=len(order), desc="simulate", disable=not progress)
    while len(order) < n:
        ranking = model.ranking()
        k = len(ranking) if remaining_relevant == 0 else model.until_retrain()
        for r in ranking[:k]:
            order.append(int(r))
            model.label(int(r), y[r])
            remaining_relevant -= int(y[r])
        bar.update(min(k, len(ranking)))
    bar.close()
    return np.asarray(order, dtype=int)


def metrics(found: Sequence[int]) -> dict[str, float]:
    """recall@10%, WSS@95 and ATD of a screening order (labels in order, priors left out)."""
    y = np.asarray(found, dtype=int)
    n, r = len(y), int(y.sum())
    if n == 0 or r == 0:
        raise ValueError("metrics need at least one included record after the priors")
    positions = np.flatnonzero(y) + 1
    n10 = int(math.floor(0.1 * n))
    n95 = int(positions[math.ceil(0.95 * r) - 1])
    return {"recall_at_10": float((positions <= n10).sum() / r), "wss_95": float((n - n95) / n - 0.05),
            "atd": float(positions.mean() / n), "n": n, "r": r}


def stop_point(found: Sequence[int], rule: StopRule | None = None, checks: int = 100) -> dict[str, Any]:
    """Where a reviewer following ``rule`` would have stopped in a simulated order, and the recall there.

    ``found``: labels in screening order (priors left out). The rule is evaluated every ``1/checks`` of the
    order (the first check where it says stop is the stop point), so the screened count is exact to that
    step. Returns ``{"screened", "recall", "estimated_recall"}``: ``estimated_recall`` is the rule's lower
    bound on recall at that point (what a reviewer would have been told), ``recall`` the true one.
    """
    y = np.asarray(found, dtype=int)
    n, r = len(y), int(y.sum())
    step = max(1, n // checks)
    for k in list(range(step, n, step)) + [n]:
        verdict = evaluate(y[:k].tolist(), n, rule)
        if verdict["stop"]:
            return {"screened": k, "recall": float(y[:k].sum() / r) if r else 1.0,
                    "estimated_recall": float(verdict["recall_lower_bound"]), "rule": verdict["rule"]}
    return {"screened": n, "recall": 1.0, "estimated_recall": 1.0, "rule": (rule or StopRule()).kind}


def write_order(path: str | Path, ids: Sequence[str], order: Sequence[int], n_priors: int) -> None:
    """``rank,record_id,prior`` for every record, in screening order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "record_id", "prior"])
        for rank, i in enumerate(order, start=1):
            w.writerow([rank, ids[i], int(rank <= n_priors)])


