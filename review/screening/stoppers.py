"""When to stop screening: a statistical test of recall and the simple heuristics.

- :func:`hypergeometric_test` (Callaghan & Müller-Hansen 2020, "Statistical stopping
  criteria for automated screening in systematic reviews", Syst Rev 9:273): the last
  ``n`` screened records are treated as a random sample of the records that were
  unscreened before them (conservative when the ranking is better than random: the top
  of a ranking holds at least as many relevant records as a random sample). The null
  hypothesis "recall < target" is rejected when finding so few relevant records in that
  sample is unlikely; the smallest p-value over every window ``n`` is reported.
- :func:`recall_lower_bound`: the highest recall the same test supports at the confidence.
- :func:`consecutive_irrelevant`: how many irrelevant records in a row were screened last.
- :func:`evaluate` applies a protocol's ``[screening] stop_rule`` to a screening history.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import hypergeom

from review.core.settings import StopRuleSettings as StopRule

# the rule's settings are the protocol's [screening] stop_rule table, checked when the protocol loads


def _window_pvalues(labels: np.ndarray, n_total: int, target: float) -> np.ndarray:
    """p-values of "recall < target" for the windows of the last n screened that can be the smallest.

    While a window grows over irrelevant records, the records never screened stay the same
    and the sample grows, so its p-value falls; the minimum over all n is therefore at a
    window reaching back to just after a relevant record, or at the whole history. Only
    those (at most R + 1) windows are computed.
    """
    m = len(labels)
    hits = np.flatnonzero(labels)
    n = np.unique(np.concatenate([m - hits - 1, [m]]))
    n = n[n > 0]
    cum = np.concatenate([[0], np.cumsum(labels)])
    r = cum[m]
    r_before = cum[m - n]  # relevant found before the window
    k = r - r_before  # relevant found in the window
    pool = n_total - (m - n)  # records unscreened when the window began
    # smallest number of relevant records in that pool under H0 (recall < target)
    k_tar = np.floor(r / target - r_before).astype(int) + 1
    k_tar = np.minimum(np.maximum(k_tar, k), pool)
    return hypergeom.cdf(k, pool, k_tar, n)


def hypergeometric_test(labels: Sequence[int], n_total: int, target_recall: float = 0.95) -> float:
    """p-value of the null hypothesis "recall is below ``target_recall``".

    Parameters
    ----------
    labels : 1/0 per screened record, in screening order.
    n_total : records in the pool (screened and unscreened).
    """
    y = np.asarray(labels, dtype=int)
    if len(y) == 0:
        return 1.0
    if len(y) >= n_total:
        return 0.0  # everything screened: recall is 1
    return float(np.min(_window_pvalues(y, n_total, target_recall)))


def recall_lower_bound(labels: Sequence[int], n_total: int, confidence: float = 0.95) -> float:
    """Highest recall (in steps of 0.01) that the test supports at ``confidence``; 0 if none."""
    y = np.asarray(labels, dtype=int)
    if len(y) >= n_total and n_total:
        return 1.0
    if y.sum() == 0:
        return 0.0
    lo, hi = 0, 99  # search over recall = i / 100; p-values rise with the target
    if hypergeometric_test(y, n_total, 0.01) >= 1 - confidence:
        return 0.0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if hypergeometric_test(y, n_total, mid / 100) < 1 - confidence:
            lo = mid
        else:
            hi = mid - 1
    return max(lo, 1) / 100


def consecutive_irrelevant(labels: Sequence[int]) -> int:
    """Irrelevant records screened since the last relevant one."""
    y = np.asarray(labels, dtype=int)
    hits = np.flatnonzero(y)
    return int(len(y) - hits[-1] - 1) if len(hits) else int(len(y))


def evaluate(labels: Sequence[int], n_total: int, rule: StopRule | None = None) -> dict[str, Any]:
    """Stopping figures for a screening history (1/0 per screened record, in order).

    Returns ``{"rule", "stop", "reason", "p_value", "recall_lower_bound", "consecutive_irrelevant", ...}``;
    ``stop`` follows ``rule.kind`` and is never true before ``min_screened`` records (unless all are screened).
    """
    rule = rule or StopRule()
    y = np.asarray(labels, dtype=int)
    p = hypergeometric_test(y, n_total, rule.target_recall)
    run = consecutive_irrelevant(y)
    enough = len(y) >= min(rule.min_screened, n_total)
    if len(y) >= n_total:
        stop, reason = True, "every record is screened"
    elif rule.kind == "hypergeometric":
        stop = enough and y.sum() > 0 and p < 1 - rule.confidence
        reason = (f"recall ≥ {rule.target_recall:.0%} at {rule.confidence:.0%} confidence (p = {p:.3f})" if stop
                  else f"recall ≥ {rule.target_recall:.0%} not yet shown (p = {p:.3f})")
    else:
        stop = enough and run >= rule.consecutive
        reason = f"{run} irrelevant records in a row (stop at {rule.consecutive})"
    return {
        "rule": rule.kind,
        "stop": bool(stop),
        "reason": reason,
        "p_value": round(p, 4),
        "target_recall": rule.target_recall,
        "confidence": rule.confidence,
        "recall_lower_bound": recall_lower_bound(y, n_total, rule.confidence),
        "consecutive_irrelevant": run,
        "screened": int(len(y)),
        "relevant_found": int(y.sum()),
        "total": int(n_total),
    }
