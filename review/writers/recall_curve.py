"""Recall curve of simulated screening runs as a PNG: share of included records found against share screened."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def recall_points(found: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(share screened, recall)`` after each record of a screening order (labels in order, priors left out)."""
    y = np.asarray(found, dtype=float)
    n, r = len(y), y.sum()
    x = np.arange(0, n + 1) / n
    return x, np.concatenate([[0.0], np.cumsum(y) / r])


def png(runs: Sequence[Sequence[int]], path: str | Path, title: str = "", labels: Sequence[str] | None = None) -> Path:
    """One line per run (``runs``: each the labels in screening order, priors left out), with the random
    baseline, the 10 %-screened mark and the 95 % recall level."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    for i, run in enumerate(runs):
        x, rec = recall_points(run)
        ax.plot(x * 100, rec * 100, lw=1.2, alpha=0.85, label=labels[i] if labels else None)
    ax.plot([0, 100], [0, 100], color="grey", ls=":", lw=1, label="random order")
    ax.axvline(10, color="grey", ls="--", lw=0.8)
    ax.axhline(95, color="grey", ls="--", lw=0.8)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    ax.set_xlabel("records screened (%)")
    ax.set_ylabel("included records found (%)")
    ax.set_title(title, fontsize=10)
    if labels or len(runs) == 1:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
