"""Training data for the definition model: labelled sentences → candidates → :func:`review.definitions.model.train`."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from review.definitions.extract import DEFAULT_THRESHOLD, Lexicon, candidates
from review.definitions.model import Candidate, Model, train

# The shipped model's settings, chosen by cross-validation grouped by source page (benchmarks/definitions.py):
# C 0.5-16 and block weights 0-2 for the blocks were within 0.02 F1 of each other (C 8 the best with the content
# features of the context block, by a hair); extra weight on the definitions changed nothing (classes are balanced).
C = 8.0
MIN_DF = 2
BLOCK_WEIGHT = {"w": 1.0, "c": 1.0, "x": 1.0, "s": 1.0}
THRESHOLD = DEFAULT_THRESHOLD


def gold_concepts(row: dict) -> set[str]:
    """The concepts a labelled row defines (none for a non-definition); ``concept`` may hold several (``;``)."""
    if str(row.get("is_definition", "")).strip() not in ("1", "true", "True", "yes"):
        return set()
    return {c.strip() for c in (row.get("concept") or "").split(";") if c.strip()}


def labelled_candidates(rows: Iterable[dict], lexicon: Lexicon) -> tuple[list[Candidate], list[int], list[str]]:
    """The candidates of labelled sentences (one per concept a sentence names), their labels (1: the sentence
    defines that concept) and groups (the row's ``url``, else its ``source``, else its position)."""
    cands, labels, groups = [], [], []
    for i, row in enumerate(rows):
        gold = gold_concepts(row)
        for cand, d in candidates(row["sentence"], lexicon):
            cands.append(cand)
            labels.append(int(d.concept in gold))
            groups.append(row.get("url") or row.get("source") or str(i))
    return cands, labels, groups


def train_on(rows: Sequence[dict], lexicon: Lexicon, C: float = C, min_df: int = MIN_DF, threshold: float = THRESHOLD,
             info: dict | None = None) -> Model:
    """A model trained on labelled rows (``sentence``, ``is_definition``, ``concept``; optional ``url``)."""
    cands, labels, _ = labelled_candidates(rows, lexicon)
    if not any(labels) or all(labels):
        raise ValueError("training needs both definitions and non-definitions among the candidates")
    return train(cands, labels, C=C, min_df=min_df, threshold=threshold, block_weight=BLOCK_WEIGHT,
                 info={**(info or {}), "sentences": len(rows)})
