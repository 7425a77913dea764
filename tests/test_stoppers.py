from math import comb

import numpy as np
import pytest

from review.screening.stoppers import (
    StopRule,
    consecutive_irrelevant,
    evaluate,
    hypergeometric_test,
    recall_lower_bound,
)


def hypergeom_cdf(k: int, pool: int, relevant: int, n: int) -> float:
    """P(X <= k) drawing n of pool with `relevant` successes, from binomial coefficients."""
    return sum(comb(relevant, i) * comb(pool - relevant, n - i) for i in range(0, k + 1)) / comb(pool, n)


def test_p_value_matches_a_hand_computation():
    # 90 of 100 screened: 10 relevant first, then 80 irrelevant. Target recall 0.9.
    labels = [1] * 10 + [0] * 80
    N, target = 100, 0.9
    expected = 1.0
    for n in range(1, 91):  # window = the last n screened
        before = labels[: 90 - n]
        r_before, k = sum(before), sum(labels[90 - n:])
        pool = N - len(before)
        k_tar = min(int((r_before + k) / target - r_before) + 1, pool)  # floor + 1 under H0
        expected = min(expected, hypergeom_cdf(k, pool, k_tar, n))
    assert hypergeometric_test(labels, N, target) == pytest.approx(expected, rel=1e-9)
    # H0 means >= 2 relevant among the 90 unscreened after the first 10; none in 80 draws: C(10,2)/C(90,2)
    assert expected == pytest.approx(comb(10, 2) / comb(90, 2))


def test_more_irrelevant_records_lower_the_p_value_and_raise_the_bound():
    base = [1] * 20 + [0] * 30
    ps = [hypergeometric_test(base + [0] * extra, 1000, 0.95) for extra in (0, 100, 300, 800)]
    assert ps == sorted(ps, reverse=True) and ps[0] > 0.5 and ps[-1] < 0.05
    bounds = [recall_lower_bound(base + [0] * extra, 1000, 0.95) for extra in (0, 100, 300, 800)]
    assert bounds == sorted(bounds) and bounds[-1] >= 0.95


def test_edge_cases():
    assert hypergeometric_test([], 10) == 1.0
    assert hypergeometric_test([0, 1, 0], 3) == 0.0  # all screened
    assert recall_lower_bound([0, 0, 0], 100) == 0.0
    assert consecutive_irrelevant([1, 0, 1, 0, 0]) == 2
    assert consecutive_irrelevant([0, 0]) == 2
    assert consecutive_irrelevant([]) == 0


def test_rule_is_valid_on_random_orders():
    """Screening in random order, the rule must reach the target recall in (about) >= 95 % of stops."""
    rng = np.random.default_rng(7)
    N, R, target = 300, 20, 0.9
    misses, stops = 0, 0
    for _ in range(40):
        y = np.zeros(N, dtype=int)
        y[rng.choice(N, R, replace=False)] = 1
        for m in range(10, N, 5):
            if hypergeometric_test(y[:m], N, target) < 0.05:
                stops += 1
                misses += y[:m].sum() / R < target
                break
    assert stops >= 30
    assert misses <= 0.1 * stops  # nominal 5 %; allow sampling noise


def test_evaluate_follows_the_rule_and_min_screened():
    rule = StopRule(kind="consecutive", consecutive=5, min_screened=10)
    assert not evaluate([1, 0, 0, 0, 0, 0], 100, rule)["stop"]  # only 6 screened
    out = evaluate([1, 1, 0, 0, 1] + [0] * 5, 100, rule)
    assert out["stop"] and out["consecutive_irrelevant"] == 5 and out["relevant_found"] == 3
    hyp = StopRule(target_recall=0.9, min_screened=10)
    assert evaluate([1] * 10 + [0] * 80, 100, hyp)["stop"]
    assert not evaluate([1] * 10 + [0] * 5, 100, hyp)["stop"]
    assert evaluate([0, 1], 2, hyp)["stop"]  # everything screened


def test_p_value_equals_the_minimum_over_every_window():
    """Only windows starting after a relevant record are computed; check against all windows."""
    from scipy.stats import hypergeom

    rng = np.random.default_rng(3)
    for _ in range(30):
        N = int(rng.integers(50, 300))
        m = int(rng.integers(1, N))
        y = (rng.random(m) < rng.uniform(0.02, 0.4)).astype(int)
        target = float(rng.choice([0.8, 0.9, 0.95]))
        best = 1.0
        for n in range(1, m + 1):
            r_before, k = y[: m - n].sum(), y[m - n:].sum()
            pool = N - (m - n)
            k_tar = min(max(int(np.floor(y.sum() / target - r_before)) + 1, k), pool)
            best = min(best, hypergeom.cdf(k, pool, k_tar, n))
        assert hypergeometric_test(y, N, target) == pytest.approx(best, rel=1e-9, abs=1e-12)
