"""Screening features: words and word pairs, citations, authors and subject terms as one sparse matrix."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from review.core.records import Record


def document(rec: Record) -> str:
    """The free text a screener reads: title and abstract."""
    return f"{rec.title or ''}. {rec.abstract or ''}"


def subject_terms(rec: Record, raw: dict | None = None) -> list[str]:
    """Controlled subject terms of a record: OpenAlex concepts, topics, keywords, and MeSH from ``raw``."""
    terms = [*rec.concepts, *rec.topics, *rec.keywords]
    if isinstance(raw, dict):
        for m in raw.get("mesh") or []:
            name = m.get("descriptor_name") if isinstance(m, dict) else None
            if name:
                terms.append(f"mesh:{name}")
    return [t.lower() for t in terms if t]


def _identity(x: list[str]) -> list[str]:
    return x


def citation_tokens(rec: Record) -> list[str]:
    """The record's own id and the works it cites: records citing each other or the same works share tokens."""
    return [rec.id, *rec.referenced_works]


def author_tokens(rec: Record) -> list[str]:
    return [a.openalex_id or fold_name(a.name) for a in rec.authors if a.openalex_id or a.name]


def fold_name(name: str) -> str:
    return " ".join(name.lower().split())


@dataclass
class TextFeatures:
    """Records → one sparse feature matrix, in weighted blocks (each row L2-normalised per block).

    Blocks: TF-IDF of words (``word_ngrams``), of characters (``char_ngrams``, ``char_weight``),
    of subject terms (``subject_weight``: OpenAlex concepts, topics, keywords, MeSH), of citations
    (``citation_weight``: own id + referenced works, so records that cite each other or the same
    works are close) and of authors (``author_weight``). A weight of 0 (or ``None`` n-grams)
    turns a block off; token blocks keep only tokens shared by ``token_min_df`` records.
    """

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = None
    char_weight: float = 1.0
    subject_weight: float = 0.2
    citation_weight: float = 0.5
    author_weight: float = 0.0
    min_df: int = 1
    max_df: float = 0.95
    token_min_df: int = 2
    stop_words: str | None = None
    max_char_features: int | None = 200_000
    _blocks: list = field(default_factory=list, init=False, repr=False)

    @property
    def needs_raw(self) -> bool:
        """Whether the raw OpenAlex payloads add anything (MeSH terms for the subject block)."""
        return bool(self.subject_weight)

    def fit(self, records: Sequence[Record], raws: Sequence[Any] | None = None) -> "TextFeatures":
        self.fit_transform(records, raws)
        return self

    def _make_blocks(self, n: int) -> list:
        small = n < 20
        blocks = [("word", 1.0, TfidfVectorizer(
            ngram_range=self.word_ngrams, sublinear_tf=True, min_df=1 if small else self.min_df,
            max_df=1.0 if small else self.max_df, strip_accents="unicode", stop_words=self.stop_words,
            dtype=np.float32))]
        if self.char_ngrams and self.char_weight:
            blocks.append(("char", self.char_weight, TfidfVectorizer(
                analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True, min_df=1 if small else 2,
                max_features=self.max_char_features, strip_accents="unicode", dtype=np.float32)))
        for name, w in (("subject", self.subject_weight), ("cites", self.citation_weight),
                        ("authors", self.author_weight)):
            if w:
                blocks.append((name, w, TfidfVectorizer(analyzer=_identity, min_df=1 if small else self.token_min_df,
                                                        sublinear_tf=True, dtype=np.float32)))
        return blocks

    def fit_transform(self, records: Sequence[Record], raws: Sequence[Any] | None = None) -> sp.csr_matrix:
        inputs = self._inputs(records, raws)
        self._blocks = self._make_blocks(len(records))
        mats = []
        for i, (name, w, vec) in enumerate(self._blocks):
            try:
                mats.append(vec.fit_transform(inputs[name]) * w)
            except ValueError:  # empty vocabulary (no text, no shared tokens): the block has no columns
                self._blocks[i] = (name, w, None)
                mats.append(sp.csr_matrix((len(records), 0), dtype=np.float32))
        return sp.hstack(mats, format="csr")

    def transform(self, records: Sequence[Record], raws: Sequence[Any] | None = None) -> sp.csr_matrix:
        return self._transform(self._inputs(records, raws), len(records))

    def transform_text(self, docs: list[str]) -> sp.csr_matrix:
        """Features of free text in the fitted space (token blocks empty), e.g. for a query."""
        empty = [[] for _ in docs]
        return self._transform({"word": docs, "char": docs, "subject": empty, "cites": empty, "authors": empty},
                               len(docs))

    def _transform(self, inputs: dict, n: int) -> sp.csr_matrix:
        if not self._blocks:
            raise RuntimeError("TextFeatures is not fitted; call fit() first")
        return sp.hstack([vec.transform(inputs[name]) * w if vec is not None
                          else sp.csr_matrix((n, 0), dtype=np.float32) for name, w, vec in self._blocks], format="csr")

    def _inputs(self, records: Sequence[Record], raws: Sequence[Any] | None) -> dict[str, list]:
        docs = [document(r) for r in records]
        out: dict[str, list] = {"word": docs, "char": docs}
        if self.subject_weight:
            raws = raws if raws is not None else [None] * len(records)
            out["subject"] = [subject_terms(r, raw) for r, raw in zip(records, raws)]
        if self.citation_weight:
            out["cites"] = [citation_tokens(r) for r in records]
        if self.author_weight:
            out["authors"] = [author_tokens(r) for r in records]
        return out
