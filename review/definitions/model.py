"""A learned judgement of whether a sentence says what a concept *is*.

The lexicon decides which concept a sentence is about; this model decides whether the sentence defines it. Each
candidate (a sentence and one concept whose term it contains) becomes word n-grams, character n-grams and a few
context features around the concept term, with the term itself masked (``xtgtx``; other concepts' terms:
``xothx``), so the model learns how authors define rather than which concept they define. A logistic regression
on these features is trained by :func:`train` (scikit-learn) and shipped as plain JSON (vocabulary, idf and
weights; data only, no code), read by :meth:`Model.load` and applied with :meth:`Model.score` in pure Python.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from review.definitions.language import light

MODEL_PATH = Path(__file__).resolve().parents[1] / "assets" / "definition_model.json"
FORMAT = "review-definition-model/1"
TARGET, OTHER = "xtgtx", "xothx"
BLOCKS = ("w", "c", "x", "s")  # word n-grams, character n-grams, context around the term, cross-lingual skeleton
IDF_BLOCKS = ("w", "c", "s")
_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")

# Definitional cues shared across the five languages (regexes on the accent-light, lower-cased masked text), so
# that evidence learned in one language carries to the others: "is defined as", "defineres som", "wird definiert".
CUES: dict[str, str] = {
    "define": r"\b(?:defin\w*|redefin\w*)",
    "understand": r"\b(?:understood|understand\w*|conceiv\w*|conceptuali[sz]\w*|verstanden|verstehen|versteht|"
                  r"aufgefasst|forstas|forstaas|forstar|forstaet|forstatt|forsta|uppfattas|betraktas)\b",
    "refer": r"\b(?:refers?|referring|bezieht\s+sich|beziehen\s+sich|henviser|refererer|viser\s+til|syftar|avser|"
             r"handler\s+om|handlar\s+om|dreht\s+sich|geht\s+es)\b",
    "mean": r"\b(?:means?|meant|denot\w*|signif\w*|bedeutet|bedeuten|meint|gemeint|betyder|betyr|innebar\w*|"
            r"indebaer\w*|innebaer\w*|menes|avses|steht\s+fur|stehen\s+fur|star\s+for)\b",
    "call": r"\b(?:called|termed|named|labell?ed|known\s+as|coined|bezeichnet\w*|genannt|benannt|kaldes|kaldet|"
            r"betegnes|betegner|betegnet|kalles|kalt|benevnes|kallas|kallad|kallat|benamns|betecknar|betecknas)\b",
    "describe": r"\b(?:describ\w*|characteri[sz]\w*|beschreib\w*|beschrieben|kennzeichn\w*|beskriv\w*|"
                r"karakteris\w*|kjennetegn\w*|kendetegn\w*|kannetecknas|praeg\w*|umfasst|omfatter|omfattar|"
                r"encompass\w*|compris\w*|involv\w*|entail\w*)\b",
    "genus": r"\b(?:form|forms|type|kind|process|approach|model|mode|concept|notion|term|arrangement|relationship|"
             r"collaboration|cooperation|agreement|contract|strategy|method|practice|prozess|ansatz|konzept|begriff|"
             r"modell|zusammenarbeit|kooperation|vereinbarung|vertrag|methode|proces|prosess|tilgang|begreb|begrep|"
             r"begrepp|samarbejde|samarbeid|samarbete|samverkan|samarbejdsform|samarbeidsform|samarbetsform|aftale|"
             r"avtale|avtal|metode|metod|arbeidsform|arbejdsform|arbetsform|styringsform|organisationsform|"
             r"organisasjonsform)\b",
    "is_a": r"\b(?:is|are)\s+(?:a|an|the)\b|\b(?:ist|sind)\s+(?:ein|eine|die|der|das)\b|"
            r"\b(?:er|ar)\s+(?:en|et|ett|ei|den|det)\b",
    "colon": r"xtgtx\s*(?::|[-–—]\s)",
    "purpose": r"\b(?:aim\w*|goal|purpose|ziel|zweck|formal|mal|malet|syfte\w*|hensigt\w*)\b",
    "meta": r"\b(?:definitions|definitionen|definitioner|definisjoner|literature|litteratur\w*|literatur|"
            r"scholars|authors|forskere|forskare|forscher)\b",
    "hedge": r"\b(?:not|no|nicht|kein\w*|ikke|ikkje|inte|ej|may|might|could|kann|kan|koennen|konnen|often|oft|ofte|"
             r"ofta)\b",
}
_CUES = {k: re.compile(v) for k, v in CUES.items()}

# What the definitions of these concepts say, in the five languages: that parties act *together* ("jointly",
# "sammen", "gemeinsam", "tillsammans"), *between* whom, and *when* it happens ("X is when …", "X skjer når …").
# Counted after the term (x block: ``has:``, ``has2:`` two or more, ``near:`` within six tokens), so a sentence that
# spells out a joint activity borrows strength across languages: on the 732 development sentences (grouped CV by
# page, threshold 0.6) recall rose from 0.61 to 0.70 at precision 0.86. Tokens are accent-light, lower-case (æ kept).
CONTENT: dict[str, str] = {
    "joint": r"together|jointly|joint|shared?|mutual\w*|collaborat\w*|cooperat\w*|sammen|tillsammans|gemeinsam\w*|"
             r"zusammen\w*|fælles\w*|faelles\w*|felles\w*|gemensam\w*|gensidig\w*|omsesidig\w*|wechselseitig\w*|"
             r"likeverdig\w*|ligeværdig\w*|ligevaerdig\w*|jamlik\w*|equal\w*|samarbejd\w*|samarbeid\w*|samarbet\w*|"
             r"samverk\w*|kooperat\w*|kooperier\w*|kollaborat\w*|kollaborier\w*|partnerschaftlich\w*|gegenseitig\w*|"
             r"gleichberechtig\w*",
    "between": r"between|among|amongst|mellem|mellom|mellan|zwischen|with|mit|across",
    "when": r"when|whenever|wenn|nar|where|whereby|hvor|hvorved|dar|wobei|bei",
}
_CONTENT = {k: re.compile(v) for k, v in CONTENT.items()}

# The skeleton block: every token replaced by its role, the same in the five languages, so "X is a form of",
# "X er en form for", "X ist eine Form der" and "Unter X versteht man" / "Med X menas" share features and the
# thinner languages borrow strength from the others. Tokens with no role become "w"; punctuation stays.
ROLES: dict[str, str] = {}
for _role, _words in {
    "COP": "is are was were be been being ist sind war waren sei er var ar blir bliver blev ble wird werden "
           "wurde becomes become",
    "ART": "a an the ein eine einer einen eines einem der die das den dem des en et ett ei det de",
    "AS": "as als som",
    "PREP": "unter med ved vid by",
    "GEN": " ".join(CUES["genus"][len(r"\b(?:"):-len(r")\b")].split("|")),
    "MAN": "man one we wir vi",
    "NEG": "not no nicht kein keine ikke ikkje inte ej never",
    "MOD": "may might could can kann konnen koennen kan kunne",
    "REL": "which that who where whereby wherein welche welcher welches der hvor hvori hvorved som dar",
    "THIS": "this it these they dies diese dieser dieses es sie den det denne dette detta denna",
}.items():
    for _w in _words.split():
        ROLES.setdefault(_w, _role)
_CUE_ROLES = ("define", "understand", "refer", "mean", "call", "describe")


def _role(token: str) -> str:
    if token in (TARGET, OTHER):
        return "T" if token == TARGET else "O"
    if not token[0].isalnum():
        return token
    for name in _CUE_ROLES:
        if _CUES[name].fullmatch(token):
            return name.upper()
    return ROLES.get(token, "w")


@dataclass(frozen=True)
class Candidate:
    """A sentence and one concept it names: the term spans (character offsets in ``sentence``) of that concept
    and of the other concepts, and the hand pattern that matched it, if any."""

    sentence: str
    target: tuple[tuple[int, int], ...]
    others: tuple[tuple[int, int], ...] = ()
    pattern: str | None = None


def masked_tokens(c: Candidate) -> list[str]:
    """Lower-cased, accent-light tokens of the sentence with the concept's terms as ``xtgtx``, others' as ``xothx``.

    >>> masked_tokens(Candidate("Co-production is a process.", ((0, 13),)))
    ['xtgtx', 'is', 'a', 'process', '.']
    """
    spans = sorted([(s, e, TARGET) for s, e in c.target] + [(s, e, OTHER) for s, e in c.others])
    parts, pos = [], 0
    for s, e, tag in spans:
        if s < pos:
            continue  # overlapping spans: the first one wins
        parts += [c.sentence[pos:s], f" {tag} "]
        pos = e
    parts.append(c.sentence[pos:])
    return _TOKEN.findall(light("".join(parts)).lower())


@lru_cache(maxsize=65536)
def _char_grams(token: str) -> tuple[str, ...]:
    p = f" {token} "
    return tuple(p[i:i + n] for n in (3, 4, 5) for i in range(len(p) - n + 1))


def _position_bucket(i: int) -> str:
    return str(i) if i < 3 else "3-5" if i < 6 else "6-10" if i < 11 else "11+"


def features(c: Candidate) -> dict[str, dict[str, float]]:
    """Raw feature counts of a candidate, per block (``w`` words, ``c`` characters, ``x`` context, ``s`` the
    skeleton of roles around the term)."""
    toks = masked_tokens(c)
    seq = ["xbosx"] + toks + ["xeosx"]
    w: dict[str, float] = {}
    for n in (1, 2, 3):
        for i in range(len(seq) - n + 1):
            g = " ".join(seq[i:i + n])
            if g not in ("xbosx", "xeosx"):
                w[g] = w.get(g, 0.0) + 1.0
    ch: dict[str, float] = {}
    for t in toks:
        if t in (TARGET, OTHER) or not t[0].isalnum():
            continue
        for g in _char_grams(t):
            ch[g] = ch.get(g, 0.0) + 1.0
    x: dict[str, float] = {}
    if TARGET in toks:
        i = toks.index(TARGET)
        # words before the term, not counting leading determiners, show whether the term is the clause's subject
        x[f"pos:{_position_bucket(i)}"] = 1.0
        after = [t for t in toks[i + 1:] if t != TARGET][:4]
        for n in range(1, len(after) + 1):
            x["after:" + " ".join(after[:n])] = 1.0
        before = toks[max(0, i - 2):i]
        if before:
            x["before:" + " ".join(before)] = 1.0
            x["before1:" + before[-1]] = 1.0
        x["ntarget:" + ("1" if toks.count(TARGET) == 1 else "2+")] = 1.0
    if OTHER in toks:
        x["other"] = 1.0
    if TARGET in toks:
        i = toks.index(TARGET)
        text = " ".join(toks)
        start = len(" ".join(toks[:i])) + (1 if i else 0)  # where the term starts in text
        end = len(" ".join(toks[:i + 8]))  # the term and the seven tokens after it
        for name, rx in _CUES.items():
            where = ""
            for m in rx.finditer(text):
                if start <= m.start() < end:
                    where = "cue_after:"
                    break
                where = where or ("cue_before:" if m.start() < start else "cue:")
            if where:
                x[where + name] = 1.0
        after = toks[i + 1:]
        for name, rx in _CONTENT.items():
            hits = [k for k, t in enumerate(after) if rx.fullmatch(t)]
            if hits:
                x["has:" + name] = 1.0
                if len(hits) > 1:
                    x["has2:" + name] = 1.0
                if hits[0] < 6:
                    x["near:" + name] = 1.0
    if c.pattern:
        x["pattern"] = 1.0
        x["pattern:" + c.pattern] = 1.0
    x["len:" + _position_bucket(len(toks) // 5)] = 1.0
    roles = ["^"] + [_role(t) for t in toks] + ["$"]
    sk: dict[str, float] = {}
    for n in (2, 3, 4):
        for i in range(len(roles) - n + 1):
            g = " ".join(roles[i:i + n])
            if "T" in g.split():  # n-grams that take in the term: how the sentence is built around it
                sk[g] = sk.get(g, 0.0) + 1.0
    return {"w": w, "c": ch, "x": x, "s": sk}


def _tf(count: float) -> float:
    """Sublinear term frequency: 1 + log(count)."""
    return 1.0 + math.log(count) if count > 1 else 1.0


@dataclass
class Model:
    """Logistic regression weights over named features, per block; ``idf`` for the ``w`` and ``c`` blocks."""

    idf: dict[str, dict[str, float]]
    weights: dict[str, dict[str, float]]
    intercept: float
    block_weight: dict[str, float]
    threshold: float = 0.5  # the cross-validated default; the protocol's [definitions] threshold overrides it
    info: dict = field(default_factory=dict)
    _tables: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # see _table
    _tables_of: tuple = field(default=(), init=False, repr=False, compare=False)  # the (weights, idf) they are of

    # -- scoring -----------------------------------------------------------------------------------
    def vector(self, c: Candidate) -> dict[str, dict[str, float]]:
        """The candidate's weighted, per-block L2-normalised feature values (features unknown to the model dropped)."""
        out = {}
        for block, counts in features(c).items():
            idf = self.idf.get(block)
            if idf is None:
                known = self.weights.get(block, {})
                vals = {f: _tf(v) for f, v in counts.items() if f in known}
            else:
                vals = {f: _tf(v) * idf[f] for f, v in counts.items() if f in idf}
            norm = math.sqrt(sum(v * v for v in vals.values())) or 1.0
            bw = self.block_weight.get(block, 1.0)
            out[block] = {f: bw * v / norm for f, v in vals.items()}
        return out

    def _table(self, block: str) -> dict[str, tuple[float, float]]:
        """``{feature: (idf or 1, weight)}`` of a block, built once; rebuilt when ``weights`` or ``idf`` is
        replaced (a change made inside them needs ``model._tables.clear()``)."""
        # kept: the dicts themselves, not their ids (a new dict can take a freed one's id)
        if not self._tables_of or self._tables_of[0] is not self.weights or self._tables_of[1] is not self.idf:
            self._tables, self._tables_of = {}, (self.weights, self.idf)
        if block not in self._tables:
            idf, wb = self.idf.get(block), self.weights.get(block, {})
            self._tables[block] = {f: (1.0, w) for f, w in wb.items()} if idf is None else \
                {f: (x, wb.get(f, 0.0)) for f, x in idf.items()}
        return self._tables[block]

    def score(self, c: Candidate, explain: int = 0) -> tuple[float, list[str]]:
        """Probability that the candidate defines its concept, and the ``explain`` features that raised it most."""
        if not explain:  # the same sum as below without the per-feature dictionaries: the stage's hot loop
            z = self.intercept
            for block, counts in features(c).items():
                table, s2, dot = self._table(block), 0.0, 0.0
                for f, v in counts.items():
                    t = table.get(f)
                    if t is not None:
                        x = _tf(v) * t[0]
                        s2 += x * x
                        dot += x * t[1]
                z += self.block_weight.get(block, 1.0) * dot / (math.sqrt(s2) or 1.0)
            return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))), []
        z, contrib = self.intercept, []
        for block, vals in self.vector(c).items():
            wb = self.weights.get(block, {})
            for f, v in vals.items():
                w = wb.get(f)
                if w is not None:
                    z += w * v
                    if explain:
                        contrib.append((w * v, f"{block}:{f}"))
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        top = [f for _, f in sorted(contrib, reverse=True)[:explain] if _ > 0] if explain else []
        return p, top

    # -- files -------------------------------------------------------------------------------------
    def to_json(self) -> dict:
        r = lambda d: {f: round(v, 5) for f, v in sorted(d.items())}  # noqa: E731
        return {"format": FORMAT, "threshold": self.threshold, "intercept": round(self.intercept, 6),
                "block_weight": self.block_weight, "info": self.info,
                "idf": {b: r(d) for b, d in self.idf.items()}, "weights": {b: r(d) for b, d in self.weights.items()}}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n",
                        encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, data: dict) -> Model:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a definition model (expected format {FORMAT!r})")
        return cls(idf={b: {str(f): float(v) for f, v in d.items()} for b, d in data["idf"].items()},
                   weights={b: {str(f): float(v) for f, v in d.items()} for b, d in data["weights"].items()},
                   intercept=float(data["intercept"]),
                   block_weight={b: float(v) for b, v in data["block_weight"].items()},
                   threshold=float(data.get("threshold", 0.5)), info=dict(data.get("info", {})))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Model:
        """The model in a JSON file (default: the one shipped in ``review/assets``); plain data, no code is run."""
        p = Path(path) if path is not None else MODEL_PATH
        if p == MODEL_PATH:
            return _shipped()
        return cls.from_json(json.loads(p.read_text(encoding="utf-8")))

    @property
    def id(self) -> str:
        return str(self.info.get("id", ""))


_SHIPPED: list[Model] = []


def _shipped() -> Model:
    if not _SHIPPED:
        _SHIPPED.append(Model.from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8"))))
    return _SHIPPED[0]


# -- training --------------------------------------------------------------------------------------
def train(candidates: Sequence[Candidate], labels: Sequence[int], C: float = 4.0, min_df: int = 2,
          block_weight: dict[str, float] | None = None, threshold: float = 0.5, info: dict | None = None,
          sample_weight: Sequence[float] | None = None) -> Model:
    """Fit the model (L2-regularised logistic regression, balanced classes) on labelled candidates.

    Parameters
    ----------
    candidates, labels
        Candidates and 1 (the sentence defines the candidate's concept) or 0.
    C
        Inverse regularisation strength.
    min_df
        Word and character n-grams seen in fewer training candidates are dropped.
    block_weight
        Scale of each block after its L2 normalisation (default 1 each).
    threshold, info
        Stored in the model: the default decision threshold and a description of the training.
    sample_weight
        Weight of each candidate in the loss (default 1 each).

    Returns
    -------
    Model
        Deterministic for the same inputs.
    """
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    raw = [features(c) for c in candidates]
    n = len(raw)
    idf: dict[str, dict[str, float]] = {}
    for block in IDF_BLOCKS:
        df: dict[str, int] = {}
        for r in raw:
            for f in r[block]:
                df[f] = df.get(f, 0) + 1
        idf[block] = {f: math.log((1 + n) / (1 + k)) + 1.0 for f, k in df.items() if k >= min_df}
    xdf: dict[str, int] = {}
    for r in raw:
        for f in r["x"]:
            xdf[f] = xdf.get(f, 0) + 1
    xkeep = {f for f, k in xdf.items() if k >= min_df}
    model = Model(idf=idf, weights={"x": dict.fromkeys(xkeep, 0.0)}, intercept=0.0,
                  block_weight=dict(block_weight or {b: 1.0 for b in BLOCKS}), threshold=threshold)
    index: dict[tuple[str, str], int] = {}
    for block in BLOCKS:
        names = sorted(idf[block]) if block in idf else sorted(xkeep)
        for f in names:
            index[(block, f)] = len(index)
    rows, cols, vals = [], [], []
    for i, c in enumerate(candidates):
        for block, fv in model.vector(c).items():
            for f, v in fv.items():
                j = index.get((block, f))
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    vals.append(v)
    X = csr_matrix((vals, (rows, cols)), shape=(n, len(index)))
    y = np.asarray(labels, dtype=int)
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, solver="liblinear", random_state=0)
    lr.fit(X, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight, dtype=float))
    weights: dict[str, dict[str, float]] = {b: {} for b in BLOCKS}
    for (block, f), j in index.items():
        weights[block][f] = float(lr.coef_[0, j])
    model.weights = weights
    model.intercept = float(lr.intercept_[0])
    meta = dict(info or {})
    meta.update({"C": C, "min_df": min_df, "candidates": n, "positives": int(y.sum()),
                 "features": sum(len(d) for d in weights.values())})
    meta["id"] = hashlib.sha256(json.dumps(model.to_json()["weights"], sort_keys=True).encode()).hexdigest()[:12]
    model.info = meta
    return model


def explain(names: Iterable[str]) -> str:
    """Readable top features: ``w:xtgtx refers to`` → ``"X refers to"``; ``c:efin`` → ``~efin``; context as is.

    >>> explain(["w:xtgtx refers to", "c:efin", "x:pattern"])
    '"X refers to", ~efin, pattern'
    """
    out = []
    for name in names:
        block, _, f = name.partition(":")
        f = f.replace(TARGET, "X").replace(OTHER, "Y").replace("xbosx", "^").replace("xeosx", "$")
        out.append(f'"{f}"' if block == "w" else f"~{f.strip()}" if block == "c" else f)
    return ", ".join(out)
