"""Definitions: sentences that say what a concept of the protocol *is*."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from review.core.errors import DefinitionsError
from review.core.protocol import Concept, Protocol
from review.core.search_query import _term_regex
from review.core.text import fold
from review.definitions.language import detect_language, fold_map, light
from review.definitions.model import Candidate, Model, explain
from review.definitions.patterns import PATTERNS, _in_proper_name, _is_subject, _np_ok
from review.definitions.sentences import cited_sources, split_sentences

FIELDS = ("title", "abstract", "fulltext")
# chosen by grouped CV over the 1,263 labelled sentences: the best F1 with precision >= 0.85 (at 0.6: P .839);
# [definitions] threshold overrides it (its default in review.core.settings is the same number)
DEFAULT_THRESHOLD = 0.65


@dataclass
class Definition:
    """One definitional sentence about one concept."""

    concept: str
    term: str  # the concept term as written in the sentence
    sentence: str
    pattern: str  # why it was taken: the hand pattern, and with the model its score and top features
    lang: str
    cited: str = ""
    record_id: str = ""
    field: str = ""
    position: int = 0  # sentence number in the field, from 0
    year: int | None = None
    id: int | None = None  # row id in the store
    score: float | None = None  # the model's probability (None: taken by a hand pattern alone)


def score_of(pattern: str) -> float | None:
    """The model's probability kept in a stored ``pattern`` (``"defined_as; p=0.97; …"``), else None."""
    m = re.search(r"(?:^|; )p=([01](?:\.\d+)?)(?:;|$)", pattern or "")
    return float(m.group(1)) if m else None


# -- concept matching -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Lexicon:
    """The protocol's concepts as term lists: ``{concept key: (terms, …)}``."""

    terms: dict[str, tuple[str, ...]]
    compounds: bool = True  # a one-word term also matches as the last part of a compound ("Bildungspartnerschaft")

    @classmethod
    def from_protocol(cls, protocol: Protocol, keys: Iterable[str] | None = None, related: bool = False) -> Lexicon:
        """The concepts named by ``keys`` (default: the ``[definitions] concepts`` setting, else all)."""
        keys = list(keys) if keys is not None else protocol.config.definitions.concepts
        known = {c.key: c for c in protocol.concepts}
        if keys is None:
            keys = list(known)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise DefinitionsError(f"{_where(protocol)}: key 'definitions.concepts': expected a list of concept keys")
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise DefinitionsError(f"{_where(protocol)}: key 'definitions.concepts': unknown concept {unknown[0]!r}; "
                                   f"concepts are {', '.join(known) or '(none)'}")
        return cls({k: tuple(_concept_terms(known[k], related)) for k in keys})

    @classmethod
    def from_concepts(cls, concepts: Iterable[Concept], related: bool = False) -> Lexicon:
        return cls({c.key: tuple(_concept_terms(c, related)) for c in concepts})

    def matches(self, folded: str) -> list[tuple[str, int, int]]:
        """``(concept, start, end)`` spans in folded text; a span inside a longer one is dropped."""
        spans = []
        for key, terms in self.terms.items():
            whole = _lexicon_pattern(terms)
            tails = _compounds_in(terms, folded) if self.compounds else []
            if (whole is None or not whole.search(folded)) and not tails:
                continue
            for term in terms:
                p = _lexicon_pattern((term,))
                if p is not None:
                    spans.extend((key, m.start(), m.end()) for m in p.finditer(folded) if m.end() > m.start())
            spans.extend((key, m.start(), m.end()) for m in tails)
        spans = sorted(set(spans), key=lambda s: (s[1], -(s[2] - s[1]), s[0]))
        return [s for s in spans if not any(o[1] <= s[1] and s[2] <= o[2] and (o[2] - o[1]) > (s[2] - s[1])
                                            for o in spans)]

    def pattern(self, key: str | None = None) -> re.Pattern | None:
        """The regex (on folded text) of one concept's terms, or of every concept's, with their inflected forms."""
        return _all_terms(self) if key is None else _lexicon_pattern(self.terms[key])

    def any_match(self, folded: str) -> bool:
        p = self.pattern()
        if p and p.search(folded):
            return True
        return self.compounds and bool(_compounds_in(tuple(t for ts in self.terms.values() for t in ts), folded))


@lru_cache(maxsize=64)
def _all_terms(lexicon: Lexicon) -> re.Pattern | None:
    return _lexicon_pattern(tuple(t for ts in lexicon.terms.values() for t in ts))


# Endings a concept term takes in the five languages without the protocol listing them: plural and definite forms
# ("Koproduktionen", "samskabelsen", "samskapingen", "samproduktionen", "partnerskapet", "partnerskapene",
# "Partnerschaften", "co-productions"). Only after a last word of at least INFLECT_MIN letters, never after an
# abbreviation ("PPP", "OPS") or a term with its own ``*``.
INFLECTIONS = ("s", "n", "en", "et", "er", "ne", "na", "ene", "erne", "erna", "ernes", "ens", "ets")
INFLECT_MIN = 6
_INFLECTED = "(?:" + "|".join(sorted(INFLECTIONS, key=len, reverse=True)) + r")?\b"


@lru_cache(maxsize=4096)
def _lexicon_pattern(terms: tuple[str, ...]) -> re.Pattern | None:
    """Like :func:`~review.core.search_query.term_pattern` (folded text, whole words, ``*`` for any ending), and a
    term also matches with one of the :data:`INFLECTIONS`."""
    parts = []
    for term in terms:
        rx = _term_regex(term)
        if not rx:
            continue
        words = fold(term).split()
        if (not term.rstrip().endswith("*") and not term.strip().isupper() and words
                and len(words[-1]) >= INFLECT_MIN and rx.endswith(r"\b")):
            rx = rx[:-2] + _INFLECTED
        parts.append(rx)
    return re.compile("|".join(parts)) if parts else None


COMPOUND_MIN = 8  # letters of a one-word term that may end a compound: "partnerskab" yes, "PPP", "OPS" no


@lru_cache(maxsize=256)
def _compound_pattern(terms: tuple[str, ...]) -> tuple[re.Pattern | None, tuple[str, ...]]:
    """Compounds ending in one of the one-word ``terms`` (German and the Nordic languages write them as one word:
    "Ordnungspartnerschaften", "velfærdspartnerskab", "Wissenskoproduktion"): a word with at least two letters
    before the term (a hyphen before the term is already a word break); a trailing ``*`` keeps any ending.
    Also the folded term words, for a fast substring test before the regex."""
    parts, words = [], []
    for term in terms:
        star = term.rstrip().endswith("*")
        word = fold(term.rstrip("* "))
        if " " in word or len(word) < COMPOUND_MIN or term.strip("* ").isupper():
            continue
        words.append(word)
        parts.append(r"\b[^\W\d_]{2,}" + re.escape(word) + (r"\w*" if star else r"\b"))
    return (re.compile("|".join(parts)) if parts else None), tuple(words)


def _compounds_in(terms: tuple[str, ...], folded: str) -> list[re.Match]:
    pattern, words = _compound_pattern(terms)
    if pattern is None or not any(w in folded for w in words):
        return []
    return list(pattern.finditer(folded))


def _concept_terms(concept: Concept, related: bool) -> list[str]:
    return concept.all_terms + (list(concept.related) if related else [])


def _where(protocol: Protocol) -> str:
    return str(protocol.path) if protocol.path else "<protocol>"


def concept_spans(sentence: str, lexicon: Lexicon) -> list[tuple[str, int, int]]:
    """``(concept, start, end)`` of every lexicon term in ``sentence``, as positions in the sentence itself."""
    if not lexicon.any_match(fold(sentence)):
        return []
    folded, index = fold_map(sentence)
    return [(concept, index[fs], index[fe - 1] + 1) for concept, fs, fe in lexicon.matches(folded)]


def find_definitions(sentence: str, lexicon: Lexicon, lang_hint: str | None = None,
                     spans: list[tuple[str, int, int]] | None = None) -> list[Definition]:
    """Definitions of the lexicon's concepts in one sentence (one per concept at most); ``spans``: the
    sentence's :func:`concept_spans`, when the caller has them.

    >>> lex = Lexicon({"nocebo": ("nocebo", "nocebo effect")})
    >>> [d.pattern for d in find_definitions("The nocebo effect is defined as harm from negative expectations.", lex)]
    ['defined_as']
    """
    spans = concept_spans(sentence, lexicon) if spans is None else spans
    if not spans:
        return []
    text = light(sentence)
    cue_ok: dict[int, bool] = {}
    found: dict[str, Definition] = {}
    for concept, start, end in spans:
        if concept in found:
            continue
        if _in_proper_name(sentence, start):
            continue
        pre, post = text[max(0, start - 300):start], text[end:]
        for n, pat in enumerate(PATTERNS):
            # the anchored match after the term first: far cheaper than the searches of the cue and the text before
            m = None
            if pat.post is not None:
                m = pat.post.match(post)
                if m is None:
                    continue
            if pat.cue is not None:
                if n not in cue_ok:
                    cue_ok[n] = bool(pat.cue.search(text))
                if not cue_ok[n]:
                    continue
            if pat.pre is not None and not pat.pre.search(pre):
                continue
            if pat.subject and not _is_subject(pre):
                continue
            if pat.np and m is not None and not _np_ok(m.group("np")):
                continue
            lang = detect_language(sentence, lang_hint, among=pat.langs) if len(pat.langs) > 1 else pat.langs[0]
            found[concept] = Definition(concept=concept, term=sentence[start:end], sentence=sentence,
                                        pattern=pat.name, lang=lang, cited="; ".join(cited_sources(sentence)))
            break
    return list(found.values())


def candidates(sentence: str, lexicon: Lexicon, lang_hint: str | None = None) -> list[tuple[Candidate, Definition]]:
    """One candidate per concept the sentence names (outside proper names), with a draft definition: its
    ``pattern`` is the hand pattern that matched (``""`` when none did)."""
    spans = concept_spans(sentence, lexicon)
    if not spans:
        return []
    by_pattern = {d.concept: d for d in find_definitions(sentence, lexicon, lang_hint, spans)}
    lang = ""  # detected when needed: it is the slowest step here
    where: dict[str, list[tuple[int, int]]] = {}
    for concept, start, end in spans:
        if concept not in by_pattern and _in_proper_name(sentence, start):
            lang = lang or detect_language(sentence, lang_hint)
            if lang != "de":
                continue  # "the Nurse-Family Partnership"; German capitalises every noun
        where.setdefault(concept, []).append((start, end))
    out = []
    for concept, target in where.items():
        others = tuple(s for k, v in where.items() if k != concept for s in v)
        d = by_pattern.get(concept)
        if d is None:
            s, e = target[0]
            d = Definition(concept=concept, term=sentence[s:e], sentence=sentence, pattern="", lang=lang,
                           cited="")
        out.append((Candidate(sentence, tuple(target), others, d.pattern or None), d))
    return out


def judge(sentence: str, lexicon: Lexicon, model: Model, threshold: float = DEFAULT_THRESHOLD,
          lang_hint: str | None = None) -> list[Definition]:
    """Definitions in one sentence: the lexicon names the concept, the model judges whether the sentence says what
    it is (probability >= ``threshold``). Each definition's ``pattern`` says why: hand pattern, score, top features."""
    out = []
    for cand, d in candidates(sentence, lexicon, lang_hint):
        p = model.score(cand)[0]
        if p >= threshold:
            top = model.score(cand, explain=3)[1]
            if not d.pattern:
                d.lang = d.lang or detect_language(sentence, lang_hint)
                d.cited = "; ".join(cited_sources(sentence))
            d.score = round(p, 4)
            d.pattern = f"{d.pattern or 'model'}; p={p:.2f}; {explain(top)}"
            out.append(d)
    return out


def find_in_text(text: str, lexicon: Lexicon, fulltext: bool = False, lang_hint: str | None = None,
                 model: Model | None = None, threshold: float = DEFAULT_THRESHOLD) -> list[Definition]:
    """Definitions in a title, abstract or full text, with their sentence positions.

    Without ``model``, the hand patterns alone decide (:func:`find_definitions`); with it, :func:`judge`.
    """
    if not text or not lexicon.any_match(fold(text)):
        return []
    out = []
    for i, sentence in enumerate(split_sentences(text, fulltext)):
        found = (find_definitions(sentence, lexicon, lang_hint) if model is None
                 else judge(sentence, lexicon, model, threshold, lang_hint))
        for d in found:
            d.position = i
            out.append(d)
    return out
