"""Terms of titles and abstracts for term co-occurrence maps."""
from __future__ import annotations

from collections.abc import Sequence

from review.core.records import Record
from review.core.text import fold

# -- terms from titles and abstracts -------------------------------------------------------------------
_EXTRA_STOP = {"study", "studies", "results", "result", "using", "used", "use", "based", "background", "methods",
               "method", "conclusion", "conclusions", "objective", "objectives", "aim", "aims", "purpose",
               "findings", "paper", "article", "analysis", "data", "effect", "effects", "associated", "compared",
               "significant", "significantly", "including", "showed", "shown", "review", "total", "new", "non",
               "high", "higher", "low", "lower", "increased", "different", "group", "groups", "patients"}


def extract_terms(records: Sequence[Record], min_count: int = 2, max_terms: int = 1000,
                  ngram_range: tuple[int, int] = (1, 3)) -> list[list[str]]:
    """Terms (1–3 word phrases, stop words removed) per record from its title and abstract.

    Terms in fewer than ``min_count`` records or in more than half of them are dropped; the
    ``max_terms`` most frequent are kept.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    texts = [fold(f"{r.title}. {r.abstract}") for r in records]
    if not any(texts):
        return [[] for _ in records]
    vec = CountVectorizer(ngram_range=ngram_range, stop_words=sorted(ENGLISH_STOP_WORDS | _EXTRA_STOP),
                          token_pattern=r"(?u)\b[^\W\d_][^\W_]{2,}\b", binary=True,
                          min_df=min(min_count, len(records)), max_df=0.5 if len(records) >= 10 else 1.0,
                          max_features=max_terms)
    try:
        x = vec.fit_transform(texts).tocsr()
    except ValueError:  # nothing left after the document-frequency limits
        return [[] for _ in records]
    vocab = vec.get_feature_names_out()
    return [[str(vocab[j]) for j in x.indices[x.indptr[i]:x.indptr[i + 1]]] for i in range(x.shape[0])]
