"""Definitions: sentences that say what a concept of the protocol *is*.

From titles and abstracts of the stored records, and from full texts the user
adds (``review fulltext add RECORD_ID FILE``: PDF through pypdf, or plain text),
every sentence that mentions a concept term (the protocol's lexicon, matched with
:func:`review.query.term_pattern`) is tested against definitional patterns in
English, Danish, Norwegian, Swedish and German, anchored at the concept term:

- explicit verbs: "X is defined as", "we define X as", "X refers to", "X is understood as",
  "by X we mean", "X denotes / means / describes", "X, i.e. …", "termed X";
  "X defineres som", "X forstås som", "ved X forstås", "med X menes / avses",
  "X wird (als …) definiert", "unter X versteht man", "X bezeichnet";
- genus–differentia copula: "X is a process / form / disorder / antibody … (that …)",
  "X er en samarbejdsform", "X ist eine Form …", only when X is the subject of its
  clause and the predicate is not evaluative ("X is an effective treatment" is a claim,
  not a definition).

Each hit keeps the sentence, the concept, the record, the field (title, abstract,
fulltext), the sentence's position in the field, the pattern's name, the language
and the source the sentence cites, if any ("(Ostrom, 1996)", "Ostrom (1996)", "[12]").
:func:`run` stores them in the ``definitions`` table (a re-run replaces the previous
run's rows for the same protocol) and then clusters, compares and maps them
(:mod:`review.concepts`).

Protocol settings, ``[definitions]``:

- ``concepts``: concept keys to look for (default: all concepts of the protocol);
- ``related``: also count the concepts' related terms (default false);
- ``fields``: any of ``title``, ``abstract``, ``fulltext`` (default all three);
- ``only_included``: only records included at title/abstract screening (default false);
- plus the clustering and comparison settings read by :mod:`review.concepts`.
"""
from __future__ import annotations

import csv
import html
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

from tqdm.auto import tqdm

from .protocol import Concept, Protocol
from .query import term_pattern
from .records import _COMBINING, _FOLD, fold
from .store import Store, now

FIELDS = ("title", "abstract", "fulltext")
LANGUAGES = ("en", "da", "no", "sv", "de")


class DefinitionsError(ValueError):
    """Bad settings or input for the definitions stage; the message says what to do."""


@dataclass
class Definition:
    """One definitional sentence about one concept."""

    concept: str
    term: str  # the concept term as written in the sentence
    sentence: str
    pattern: str
    lang: str
    cited: str = ""
    record_id: str = ""
    field: str = ""
    position: int = 0  # sentence number in the field, from 0
    year: int | None = None
    id: int | None = None  # row id in the store


# -- text preparation --------------------------------------------------------------------------
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_ABBREV = {
    "e.g", "i.e", "cf", "vs", "al", "fig", "figs", "no", "nos", "dr", "prof", "approx", "ca", "resp", "viz",
    "pp", "p", "vol", "ed", "eds", "u.s", "st", "mr", "mrs", "ms", "jr", "inc", "ltd", "sec", "ch", "chap",
    "z.b", "bzw", "vgl", "ggf", "d.h", "u.a", "s", "f", "ff", "jf", "bl.a", "dvs", "fx", "mfl", "m.fl", "osv",
    "mv", "m.v", "ca", "evt", "inkl", "ift", "nr", "t.ex", "s.k", "sk", "etc", "et", "ref", "refs", "eq",
}
_BOUNDARY = re.compile(r"([.!?])([\"'”’)\]]*)(?:(\s+)|(?=[A-ZÆØÅÄÖÜ][a-zæøåäöüß]))")
_GLUED_HEADING = re.compile(r"\b(Abstract|Background|Introduction|Objectives?|Aims?|Purpose|Methods?|Results|"
                            r"Conclusions?|Summary|Context)(?=[A-Z][a-z])")
_BULLET = re.compile(r"\s*(?:\n\s*\n|[•▸▪►■◦]|\n(?=\s*[-–*]\s))\s*")


def clean_text(text: str, fulltext: bool = False) -> str:
    """Text ready for sentence splitting: HTML entities and tags removed.

    With ``fulltext=True`` (text extracted from a PDF), words hyphenated at a line
    end are joined and single line breaks become spaces; blank lines stay breaks.
    """
    text = html.unescape(html.unescape(text or ""))
    text = _TAG.sub(" ", text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    text = _GLUED_HEADING.sub(r"\1 ", text)  # "BackgroundEmicizumab is …" (OpenAlex abstracts)
    if fulltext:
        # "co-\nproduction" keeps its hyphen (short prefix); "organi-\nsation" is joined
        text = re.sub(r"\b(\w{1,3})-\n\s*(?=\w)", r"\1-", text)
        text = re.sub(r"(\w)-\n\s*(?=[a-zæøåäöüß])", r"\1", text)
        text = re.sub(r"[ \t]*\n[ \t]*(?!\n)", " ", text)
        text = re.sub(r"\n\s*\n+", "\n\n", text)
    return re.sub(r"[ \t\u00a0]+", " ", text)


def split_sentences(text: str, fulltext: bool = False) -> list[str]:
    """Sentences of a title, abstract or full text, in order.

    Splits after ``.``, ``!`` and ``?`` before an upper-case letter (also when the
    space is missing, as in many OpenAlex abstracts: "biological.To describe"),
    at blank lines and bullets; not after abbreviations ("e.g.", "et al.", "vs.")
    or initials ("E. Ostrom").
    """
    out: list[str] = []
    for block in _BULLET.split(clean_text(text, fulltext)):
        block = " ".join(block.split())
        start = 0
        for m in _BOUNDARY.finditer(block):
            end = m.end(2)
            word = re.search(r"([\w.]+)$", block[start:m.start(1)])
            token = word.group(1).lower() if word else ""
            if token in _ABBREV or _is_initial(block, start, m.start(1), token) or (token and token[-1].isdigit() and m.group(1) == "."
                                                                      and m.group(3) is None):
                continue
            if m.group(3) is not None:
                nxt = block[m.end():m.end() + 1]
                if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘([«„"):
                    continue
            elif len(token) < 2 or not token[-2:].isalpha():
                continue  # "U.S.Food", "2.5" etc.
            sentence = block[start:end].strip()
            if sentence:
                out.append(sentence)
            start = m.end()
        rest = block[start:].strip()
        if rest:
            out.append(rest)
    return out


def _is_initial(block: str, start: int, dot: int, token: str) -> bool:
    """A one-letter token before a dot is an initial ("E. Ostrom"), unless it follows a long lower-case
    word ("haemophilia A. The")."""
    if not re.fullmatch(r"[a-z]", token):
        return False
    prev = re.search(r"(\w+)\W+\w$", block[start:dot])
    return not (prev and prev.group(1).islower() and len(prev.group(1)) > 3)


def _fold_char(ch: str) -> str:
    c = ch.lower()
    if not c.isascii():
        c = _COMBINING.sub("", unicodedata.normalize("NFKD", c)).translate(_FOLD)
    return c


_WORD = re.compile(r"[^\W_]+")


def fold_map(text: str) -> tuple[str, list[int]]:
    """:func:`review.records.fold` of ``text`` and, for each folded character, its index in ``text``."""
    if text.isascii():  # fast path: lower() keeps positions
        parts: list[str] = []
        index: list[int] = []
        for m in _WORD.finditer(text.lower()):
            if parts:
                index.append(m.start() - 1)
            parts.append(m.group())
            index.extend(range(m.start(), m.end()))
        return " ".join(parts), index
    chars: list[str] = []
    index: list[int] = []
    space = True  # drop leading spaces and collapse runs
    for i, ch in enumerate(text):
        for c in _fold_char(ch):
            if c.isalnum():
                chars.append(c)
                index.append(i)
                space = False
            elif not space:
                chars.append(" ")
                index.append(i)
                space = True
    if chars and chars[-1] == " ":
        chars.pop()
        index.pop()
    return "".join(chars), index


@lru_cache(maxsize=4096)
def _light_char(ch: str) -> str:
    if ch.isascii():
        return ch
    base = _COMBINING.sub("", unicodedata.normalize("NFKD", ch))
    base = base.translate({ord("ø"): "o", ord("Ø"): "O", ord("ł"): "l", ord("đ"): "d"})
    return base if len(base) == 1 else ch


def light(text: str) -> str:
    """Accents off, same length and case as ``text`` (å→a, ø→o, ü→u; æ and ß kept)."""
    return text if text.isascii() else "".join(_light_char(c) for c in text)


# -- language --------------------------------------------------------------------------------------
_STOP = {
    "en": "the of and is are to in that with as for by which this be was were or an from we".split(),
    "da": "og er af til det som en et at med der for ikke også mellem nogle hvad bliver blev kan ved de den har "
          "efter samarbejde sådan meget være".split(),
    "no": "og er av til det som en et ei at med der for ikke også mellom noen hva blir ble kan ved de den har "
          "etter samarbeid mye være ikkje".split(),
    "sv": "och är av till det som en ett att med för inte också mellan några vad blir blev kan vid de den har "
          "efter samverkan samt vilket".split(),
    "de": "und ist der die das ein eine zu mit von als wird werden nicht auch zwischen unter man sich den dem des "
          "im für auf".split(),
}
_STOPSETS = {lang: {fold(w) for w in ws} for lang, ws in _STOP.items()}
_MARKERS = {  # words that tell the Scandinavian languages apart
    "da": {"af", "mellem", "nogle", "hvad", "bliver", "blev", "efter", "samarbejde", "sadan", "meget", "vaere"},
    "no": {"av", "mellom", "noen", "hva", "blir", "ble", "etter", "samarbeid", "mye", "ikkje", "vaere"},
    "sv": {"och", "ar", "mellan", "nagra", "vad", "inte", "ocksa", "samt", "vilket", "att", "for", "ett"},
}


_SPELLING = [  # (regex on a folded word, {language: score}): Danish -hed/-tion/skab vs Norwegian -het/-sjon/skap …
    (re.compile(r"(?:hed|heden|heder)$"), {"da": 2}),
    (re.compile(r"(?:het|heten|heter)$"), {"no": 1, "sv": 1}),
    (re.compile(r"sjon(?:en|er|ene)?$"), {"no": 2}),
    (re.compile(r"tion(?:en|er|erne)?$"), {"da": 1, "sv": 1, "de": 1}),
    (re.compile(r"skab"), {"da": 2}),
    (re.compile(r"skap"), {"no": 1, "sv": 1}),
    (re.compile(r"bejd"), {"da": 2}),
    (re.compile(r"beid"), {"no": 2}),
    (re.compile(r"^(?:kj|gj|skj)"), {"no": 1}),
    (re.compile(r"prosess"), {"no": 2}),
]


def _spelling(word: str) -> dict[str, int]:
    out: dict[str, int] = {}
    if len(word) > 4:
        for rx, scores in _SPELLING:
            if rx.search(word):
                for lang, n in scores.items():
                    out[lang] = out.get(lang, 0) + n
    return out


def detect_language(text: str, hint: str | None = None, among: Iterable[str] = LANGUAGES) -> str:
    """Best guess among ``among`` (en, da, no, sv, de) from function words; ``hint`` on a tie."""
    words = fold(text).split()
    among = [lang for lang in among if lang in _STOPSETS]
    if not among:
        return hint or "en"
    scores = {lang: sum(w in _STOPSETS[lang] for w in words) + 2 * sum(w in _MARKERS.get(lang, ()) for w in words)
              + sum(_spelling(w).get(lang, 0) for w in words) for lang in among}
    best = max(scores.values())
    top = [lang for lang in among if scores[lang] == best]
    if hint:
        hint = {"nb": "no", "nn": "no"}.get(hint, hint)
        if hint in top:
            return hint
    return top[0] if best > 0 or not hint else hint


# -- cited sources --------------------------------------------------------------------------------
_NAME = r"[A-ZÆØÅÄÖÜ][\w'’-]+(?:\s+(?:de|van|der|von|den|la|le)\s+[A-Z][\w'’-]+)?"
_AUTHORS = rf"{_NAME}(?:\s+et\s+al\.?|(?:,?\s+(?:and|&|og|och|und)\s+{_NAME})|(?:,\s+{_NAME}){{1,3}},?\s+(?:and|&)\s+{_NAME})?"
_YEAR = r"(?:1[89]\d\d|20\d\d)[a-z]?"
_CITE_NARRATIVE = re.compile(rf"\b({_AUTHORS})(?:'s|’s)?\s*\((?:e\.g\.,?\s*)?{_YEAR}(?:[,:;]\s*(?:p+\.?\s*)?\d+(?:[-–]\d+)?)?\)")
_CITE_PAREN = re.compile(r"\(([^()]*\b" + _YEAR + r"\b[^()]*)\)")
_CITE_NUMERIC = re.compile(r"\[(\d{1,3}(?:\s*[-–,]\s*\d{1,3})*)\]")


def cited_sources(sentence: str) -> list[str]:
    """Sources the sentence cites: "Ostrom (1996)", "Ostrom, 1996", "[12]" (in order, without repeats)."""
    found: list[tuple[int, str]] = []
    for m in _CITE_NARRATIVE.finditer(sentence):
        found.append((m.start(), " ".join(m.group(0).split())))
    for m in _CITE_PAREN.finditer(sentence):
        if any(s <= m.start() < s + len(t) + 2 for s, t in found):
            continue  # the year of a narrative citation
        for part in re.split(r";\s*", m.group(1)):
            part = re.sub(r"^(?:e\.g\.|see(?:\s+also)?|cf\.|i\.e\.|vgl\.|jf\.|se)\s*,?\s*", "", part.strip(), flags=re.I)
            if re.search(rf"{_NAME}.*\b{_YEAR}\b", part):
                found.append((m.start(), part))
    for m in _CITE_NUMERIC.finditer(sentence):
        found.append((m.start(), m.group(0)))
    seen: dict[str, None] = {}
    for _, text in sorted(found, key=lambda x: x[0]):
        seen.setdefault(text, None)
    return list(seen)


# -- patterns --------------------------------------------------------------------------------------
# Regexes run on light(sentence) (case kept, accents off), anchored at the concept term X:
# PRE must match the text before X (it ends with "$"), POST the text after X (from its start).
_Q = r"[\"'“”‘’«»„]"
_PAREN = r"(?:\s*\((?:[^()]|\([^()]*\)){0,160}\)|\s*\[[^\[\]]{0,60}\])"
_SUFFIX = (r"(?:-(?!(?:related|based|specific|induced|associated|treated|like|mediated|naive|positive|negative|free"
           r"|dependent|focused|oriented|led|driven|centred|centered|type|style)\b)[a-z0-9]{2,8}\b)?")
_HEADNOUN = (r"(?:\s+(?:(?:effects?|responses?|phenomen(?:on|a)|concepts?|approach(?:es)?|process(?:es)?|models?|care"
             r"|drugs?|products?|medicines?|medications?|agents?|therap(?:y|ies)|treatments?|(?-i:[A-Z]{1,2}|[IVX]{1,3})"
             r"|\d{1,2})\b|\(\w{2,6}\)))?")
_STOPWORDS_GAP = r"(?:is|are|was|were|has|have|can|may|refers?|means|denotes?|er|ar|ist|sind|wird|werden)"
_PREP = (rf"(?:\s+(?:of|in|for|within|among|between|across|af|i|innen|inom|von|im|in\s+der|der)"
         rf"(?:\s+(?!{_STOPWORDS_GAP}\b)[\w'’-]+(?![\w'’-])){{1,5}}?)")
_COMMA = r"(?:\s*,(?:[^,;:()]|\([^()]*\)){1,140},)"
_GAP = rf"{_SUFFIX}{_Q}?{_HEADNOUN}{_Q}?(?:{_PAREN}|{_Q})*{_PREP}?{_PAREN}*{_COMMA}?"
_ADV = (r"(?:(?:here|often|commonly|usually|generally|broadly|typically|widely|also|variously|best|simply|formally"
        r"|classically|traditionally|now|thus|therefore|then|first|further|operationally|conventionally|mostly|most"
        r"|frequently|sometimes|loosely|narrowly|essentially|basically|fundamentally|primarily|in\s+essence"
        r"|in\s+(?:this|the\s+present|our)\s+(?:paper|article|study|review|chapter|thesis|context))\s*,?\s+)*")
_TERMWORD = (r"(?:(?:the|a|an)\s+)?(?:(?:term|concept|notion|construct|word|label|idea|begrebet|begrepet|begreppet"
             r"|termen|begriff|der\s+begriff|die\s+bezeichnung|bezeichnung)\s+(?:of\s+|af\s+|av\s+)?)")
_CLOSE = rf"{_Q}?{_PAREN}?"

_GENUS_EN = (
    "process procedure form type kind sort class category group family way mode means approach method methodology "
    "technique tool instrument strategy model framework concept notion term idea construct principle paradigm "
    "perspective theory practice arrangement relationship relation collaboration cooperation co-operation "
    "partnership alliance interaction engagement involvement participation activity action initiative scheme "
    "programme program intervention therapy psychotherapy treatment modality service system structure network "
    "mechanism institution organisation organization agreement contract policy governance regime logic "
    "phenomenon effect response reaction condition disorder disease syndrome illness deficiency state pattern "
    "trait antibody drug medication medicine compound molecule protein peptide hormone steroid glucocorticoid "
    "enzyme cofactor product biologic biological agent version copy analogue analog replica formulation "
    "preparation concentrate substitute marker biomarker measure index indicator assay device technology "
    "platform style movement mode component element dimension feature aspect set combination mixture "
    "production provision delivery creation contribution exchange integration coordination co-ordination "
    "mobilisation mobilization inclusion consultation deliberation negotiation transfer sharing pooling"
).split()
_GENUS_NORDIC = (
    "form proces prosess process tilgang tilnaerming tilnærming ansats begreb begrep begrepp koncept konsept model "
    "modell samarbejde samarbeid samarbete samverkan partnerskab partnerskap relation relasjon strategi praksis "
    "praktik metode metod aftale avtale avtal kontrakt arrangement ordning type typ made mate satt tankegang ide "
    "ideal paradigme paradigm netvaerk netværk nettverk natverk indsats innsats aktivitet initiativ perspektiv "
    "princip prinsipp deltagelse deltakelse medvirkning inddragelse involvering faellesskab fællesskab fellesskap "
    "styring samspil samspill interaktion interaksjon"
).split()
_GENUS_DE = (
    "form prozess ansatz konzept begriff modell art verfahren zusammenarbeit kooperation beziehung strategie praxis "
    "instrument methode arrangement vereinbarung vertrag erkrankung storung therapie beteiligung partnerschaft "
    "netzwerk steuerung governance leistung prinzip idee paradigma mechanismus weise typ beziehung interaktion "
    "engagement initiative programm"
).split()
_NO_COMPOUND = {"ide", "idee", "typ", "type", "made", "mate", "satt", "art", "form", "weise", "set"}


def _genus_regex(words: list[str], compound: bool) -> str:
    plural = r"(?:s|es|er|erne|ne|en|n|e|ar|or)?" if compound else r"(?:s|es)?"
    words = sorted({w.replace("-", r"[-\s]?") for w in words}, key=len, reverse=True)
    irregular = "phenomena|therapies|strategies|technologies|analogues|bodies|methodologies|policies|"
    if compound:
        long = [w for w in words if w not in _NO_COMPOUND]
        short = [w for w in words if w in _NO_COMPOUND]
        return (rf"(?:\w*(?:{'|'.join(long)}){plural}|(?:\w+s)?(?:{'|'.join(short)}){plural})\b")
    return rf"(?:{irregular}(?:{'|'.join(words)}){plural})\b"


_GEN_EN, _GEN_NORDIC, _GEN_DE = _genus_regex(_GENUS_EN, False), _genus_regex(_GENUS_NORDIC, True), _genus_regex(_GENUS_DE, True)

# Words that make "X is a … <genus>" a claim rather than a definition, or show the
# noun phrase has ended before the genus (prepositions, verbs).
_EVALUATIVE = set((
    "effective efficacious efficient important promising safe safer major main key first only most more less least "
    "leading standard preferred preferable recommended best better good great useful valuable viable attractive "
    "feasible cost-effective cost-saving dominant essential critical crucial significant reliable valid suitable "
    "appropriate reasonable well-known well-recognized well-recognised well-established well-documented "
    "growing increasing emerging real true big huge powerful strong robust accurate sensitive potential possible "
    "likely worthwhile necessary needed welcome remarkable interesting central popular successful challenging "
    "difficult problematic controversial urgent ideal optimal excellent "
    "vigtig vigtigt vigtige viktig viktigt viktige central centralt centrale sentral sentralt sentrale effektiv "
    "effektivt effektive god godt gode bedre bedste beste basta stor stort store vaesentlig vesentlig popular "
    "populaer populært populaert ny nyt nytt nye "
    "wichtig wichtige wichtiger wichtiges zentral zentrale zentraler zentrales effektiv effektive gut gute guter "
    "erfolgreich erfolgreiche vielversprechend vielversprechende haufig haufige neu neue neuer neues"
).split())
_NOT_IN_NP = set((
    "of in with for among by to on from after before during between versus vs than at about under without within "
    "through via per against toward towards into over that which who whom whose when where while if because "
    "although whether how what is are was were be been being has have had do does did not no but can may "
    "will would should could must af i til med fra pa om hos mellem mellom mellan vid ved av for "
    "von mit fur bei zu zur zum nach uber zwischen nicht"
).split())
_NOT_SUBJECT = (_NOT_IN_NP - {"that"}) | set((
    "we they it he she i you use using used receiving treated switching including such er ar ist sind wird werden "
    "man det der die das den dem des sig sich"
).split()) - {"der", "die", "das", "den", "dem", "des", "det"}
_HEADING = re.compile(
    r"^\W*(?:(?:abstract|background|introduction|objectives?|aims?|purpose|context|rationale|summary|key\s+points|"
    r"highlights|scientific\s+research\s+question|hintergrund|einleitung|baggrund|bakgrunn|bakgrund|indledning|"
    r"innledning|inledning|sammendrag|sammanfattning|zusammenfassung|resume|abstrakt)\b\W*)+", re.I)
# "The concept of X is …", "The analysis of X is a method …": X names what is defined.
_TERMWORD_END = re.compile(r"(?:(?:the|a|an)\s+)?(?:term|concept|notion|construct|word|label|idea|principle|practice|process"
                           r"|analysis|measurement|assessment|begrebet|begrepet|begreppet|termen|begriff|der\s+begriff"
                           r"|die\s+bezeichnung|bezeichnung)(?:\s+(?:of|af|av))?\s*$", re.I)


@dataclass(frozen=True)
class Pattern:
    """A definitional pattern: ``pre`` before the concept term, ``post`` after it.

    ``subject``: the term must be the subject of its clause (only determiners and
    modifiers before it). ``np``: the named group ``np`` of ``post`` must not contain
    evaluative words or a preposition or verb before its genus.
    """

    name: str
    langs: tuple[str, ...]
    pre: re.Pattern | None = None
    post: re.Pattern | None = None
    subject: bool = False
    np: bool = False
    cue: re.Pattern | None = None  # cheap test on the whole sentence before the anchored ones


def _p(name: str, langs: str, pre: str | None = None, post: str | None = None, subject: bool = False,
       np: bool = False, cue: str | None = None) -> Pattern:
    c = lambda r: re.compile(r, re.I) if r else None  # noqa: E731
    return Pattern(name, tuple(langs.split()), c(pre and rf"(?:{pre})$"), c(post and rf"^(?:{post})"), subject, np,
                   c(cue))


_BE = (r"(?:is|are|was|were|has\s+been|have\s+been|had\s+been|can\s+be|could\s+be|may\s+be|might\s+be|should\s+be"
       r"|will\s+be|would\s+be|must\s+be|is\s+to\s+be|are\s+to\s+be|be|being|will\s+here\s+be|is\s+here|are\s+here)")
_NORDIC_PASSIVE = (r"(?:(?:kan|skal|vil|ma|må|kunne|skall|bor|bør|maste|maa)\s+)?(?:(?:her|ofte|typisk|generelt|gerne"
                   r"|bredt|normalt|vanligvis|vanligtvis|oftest)\s+)*")

PATTERNS: list[Pattern] = [
    # explicit definitional verbs
    _p("we_define", "en", pre=rf"(?<![\w-])(?:define[sd]?|redefine[sd]?|defining|definitions?\s+of|conceptuali[sz]ations?\s+of"
                               rf"|conceptuali[sz]e[sd]?|understands?|understandings?\s+of)\s+{_TERMWORD}?{_Q}?",
       post=rf"{_CLOSE}\s*,?\s*(?:as(?!\s+(?:defined|described|measured|assessed|diagnosed|determined|indicated"
            r"|reported|specified)\b)|to\s+be|to\s+mean|in\s+terms\s+of)\b", cue=r"defin|conceptuali|underst"),
    _p("we_define", "en", post=rf"{_CLOSE}\s*,?\s*(?:which|that|what)\s+(?:we|i|they|the\s+authors?|[a-z]+\s+et\s+al\.?)"
                               r"\s+(?:define|call|term|describe|conceptuali[sz]e|understand|refer\s+to)\s+as\b", cue=r"defin|call|term|describ|conceptuali|underst|refer"),
    _p("we_use_term", "en", pre=rf"\buse[sd]?\s+the\s+(?:term|concept|notion|label|word)\s+{_Q}?",
       post=rf"{_CLOSE}\s+(?:here\s+)?(?:to\s+(?:refer|mean|denote|describe|designate|capture|cover)|for\s+|as\s+)", cue=r"\buse"),
    _p("by_we_mean", "en", pre=rf"\bby\s+{_TERMWORD}?{_Q}?",
       post=rf"{_CLOSE}\s*,?\s*(?:(?:we|i|the\s+authors?|they|[a-z]+\s+et\s+al\.?)\s+(?:mean|refer\s+to|understand|denote)"
            r"|(?:is|are)\s+meant)\b", cue=r"\bby\b"),
    _p("defined_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}(?:defined|redefined)\s+(?:as|by|in\s+terms\s+of|here\s+as)\b",
       subject=True, cue=r"defin"),
    _p("understood_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}(?:understood|conceived|construed|interpreted|"
                                    r"thought\s+of)\s+(?:here\s+)?as\b", subject=True, cue=r"underst|conceiv|constru|interpret|thought"),
    _p("conceptualised_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}conceptuali[sz]ed\s+(?:here\s+)?as\b", subject=True, cue=r"conceptuali"),
    _p("described_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}described\s+(?:here\s+)?as\b", subject=True, cue=r"describ"),
    _p("characterised_by", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+(?:caused\s+by\s+[^.;]{{1,160}}?,?\s+and\s+(?:is|are)\s+)?"
                                      rf"{_ADV}characteri[sz]ed\s+by\b", subject=True, cue=r"characteri"),
    _p("defined_as", "en", post=rf"{_CLOSE}\s*(?:,|\(|—|–|\s-)\s*(?:(?:which|that)\s+{_BE}\s+)?{_ADV}"
                                r"(?:defined\s+(?:as|by)|understood\s+as|conceptuali[sz]ed\s+as|described\s+as"
                                r"|characteri[sz]ed\s+by)\b", cue=r"defin|underst|conceptuali|describ|characteri"),
    _p("refers_to", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:(?:is|are)\s+(?:here\s+)?used\s+(?:here\s+)?to\s+(?:refer\s+to|describe|"
                                r"denote|mean|designate|capture)|(?:refers?|referring)\s+to|(?:can|may|might|could|should|will"
                                r"|would|does|do)\s+(?:be\s+(?:taken|used)\s+to\s+)?(?:refer\s+to|mean|denote|designate))\b",
       subject=True, cue=r"refer|used|mean|denot|designat"),
    _p("denotes", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:denotes?|designates?|signif(?:y|ies)|connotes?)\b", subject=True, cue=r"denot|designat|signif|connot"),
    _p("means", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:means|mean)\b(?!\s+(?:of|and|score|age|value|difference|change"
                             r"|duration|number|time|level|dose|rate|±)\b)", subject=True, cue=r"mean"),
    _p("describes", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:describes|describe)\s+(?:a|an|the|how|any|all|those|situations?"
                                 r"|processes|forms|ways)\b", subject=True, cue=r"describ"),
    _p("encompasses", "en", post=rf"{_GAP}\s*,?\s*{_ADV}(?:encompass(?:es)?|comprises?|embraces?|entails?)\b",
       subject=True, cue=r"encompass|compris|embrac|entail"),
    _p("ie", "en", post=rf"{_CLOSE}\s*(?:,|\()\s*(?:i\.\s?e\.|that\s+is|viz\.|in\s+other\s+words)", cue=r"i\.\s?e\.|that\s+is|viz\.|in\s+other\s+words"),
    _p("ie", "en", pre=rf"(?:\(|,)\s*(?:i\.\s?e\.|that\s+is|namely),?\s*(?:the\s+|an?\s+)?{_Q}?",
       post=rf"{_Q}?\s*(?:\)|$|[.;])", cue=r"i\.\s?e\.|that\s+is|namely"),
    _p("termed", "en", pre=rf"\b(?:(?:is|are|was|were|be|been|being)\s+)?{_ADV}(?:termed|called|named|labell?ed|dubbed|coined"
                           rf"|known\s+as|referred\s+to\s+as|designated\s+as|described\s+as|defined\s+as|what\s+we\s+call)"
                           rf"\s+(?:the\s+|an?\s+)?{_TERMWORD}?{_Q}?", post=r"(?!-\w)", cue=r"term|call|name|label|dub|coin|known|referred|designat|describ|defin"),
    _p("understood_as", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}(?:seen|viewed|regarded|considered|conceived|thought\s+of"
                                    rf"|framed|treated)\s+(?:here\s+)?as\s+(?P<np>(?:(?:a|an|the|one)\s+)?"
                                    rf"(?:[\w'’-]+,?\s+){{0,5}}?{_GEN_EN})", subject=True, np=True,
       cue=r"seen|viewed|regarded|considered|conceived|thought|framed|treated"),
    _p("refers_to", "en", post=rf"{_GAP}\s*,?\s*{_BE}\s+{_ADV}(?:coined|introduced|used|adopted|developed|proposed)\s+"
                                r"[^.;]{0,100}?\bto\s+(?:describe|denote|refer\s+to|capture|designate|characteri[sz]e|mean)\b",
       subject=True, cue=r"coined|introduced|used|adopted|developed|proposed"),
    _p("means", "en", post=rf"{_GAP}\s*,?\s*(?:is|are)\s+(?:(?:essentially|fundamentally|basically|simply|all|primarily"
                            r"|ultimately)\s+)?(?:about(?!\s+to\b)|when)\s+(?!the\s+(?:same|case)\b)",
       subject=True, cue=r"about|when"),
    _p("is_a", "en", post=rf"{_GAP}\s*,?\s*(?:is|are|represents?|constitutes?)\s+{_ADV}"
                          rf"(?P<np>(?:(?:a|an|the|one)\s+)?(?:[\w'’-]+,?\s+){{0,7}}?{_GEN_EN})", subject=True, np=True, cue=r"\b(?:is|are|represents?|constitutes?)\b"),
    _p("appositive", "en", post=rf"{_CLOSE}\s*,\s*(?P<np>(?:a|an)\s+(?:[\w'’-]+,?\s+){{0,5}}?{_GEN_EN})"
                                r"(?!\s+(?:could|can|may|might|will|would|should|must|is|are|was|were|has|have|had|do|does"
                                r"|did)\b)", np=True, cue=r","),

    # Danish, Norwegian, Swedish
    _p("defineres_som", "da no sv",
       post=rf"{_GAP}\s*,?\s*(?:(?:er|ar|blir|bliver|blev|ble|har\s+vaeret|har\s+blitt|kan\s+vaere)\s+)?{_NORDIC_PASSIVE}"
            r"(?:defineres|defineras|defineret|definert|definerad|definieras|definierad)\s+(?:her\s+|har\s+)?som\b",
       subject=True, cue=r"defin"),
    _p("forstas_som", "da no sv",
       post=rf"{_GAP}\s*,?\s*(?:(?:er|ar|blir|bliver)\s+)?{_NORDIC_PASSIVE}(?:forstas|forstaes|forstaas|forstatt|forstaet"
            r"|forstaaet|uppfattas|opfattes|oppfattes|begribes|beskrives|beskrivs|beskrivas|betegnes|betecknas|kendetegnes"
            r"|kjennetegnes|karakteriseres|karakteriseras)\s+(?:her\s+|har\s+)?(?:som|ved|av|af|gennem|gjennom)\b",
       subject=True, cue=r"forst|uppfatt|opfatt|oppfatt|begrib|beskriv|betegn|beteckn|kendeteg|kjenneteg|karakteris"),
    _p("defineres_som", "da no sv", pre=r"\b(?:defineres|definieras|defineras|forstas|forstaes|forstaas|menes|avses"
                                        r"|betegnes|beskrives|beskrivs|beskrivas|opfattes|oppfattes|uppfattas)\s+"
                                        r"(?:(?:her|har|i\s+det\s+folgende|fremover)\s+)?" + _Q + "?",
       post=rf"{_CLOSE}\s+(?:(?:her|har)\s+)?som\b",
       cue=r"defin|forst|menes|avses|betegn|beskriv|opfatt|oppfatt|uppfatt"),
    _p("wird_definiert", "de", pre=r"\b(?:wird|werden)\s+(?:(?:hier|im\s+folgenden|in\s+diesem\s+\w+|daher|somit)\s+)?"
                                   + _Q + "?",
       post=rf"{_CLOSE}\s+(?:(?:hier|im\s+folgenden)\s+)?als\b[^.;]{{1,240}}?\b(?:definiert|verstanden|bezeichnet"
            r"|beschrieben|aufgefasst|konzipiert)\b",
       cue=r"definiert|verstanden|bezeichnet|beschrieben|aufgefasst|konzipiert"),
    _p("ved_forstas", "da", pre=rf"\bved\s+{_TERMWORD}?{_Q}?", post=rf"{_CLOSE}\s*,?\s*(?:forstas|forstaas|menes)\b", cue=r"\bved\b"),
    _p("med_menes", "no da sv", pre=rf"\bmed\s+{_TERMWORD}?{_Q}?",
       post=rf"{_CLOSE}\s*,?\s*(?:menes|forstas|forstaes|avses|menas|forstaas)\b", cue=r"\bmed\b"),
    _p("betyder", "da no sv",
       post=rf"{_GAP}\s*,?\s*(?:(?:kan|skal|vil)\s+)?(?:betyder|betyr|innebaerer|innebærer|indebaerer|indebærer|innebar"
            r"|refererer\s+til|henviser\s+til|viser\s+til|avser|syftar\s+pa|omfatter|omfattar|daekker\s+over"
            r"|dækker\s+over|dekker\s+over|betegner|betecknar|beskriver|handler\s+om|handlar\s+om)\b", subject=True, cue=r"betyd|betyr|innebaer|innebær|indebaer|indebær|innebar|refererer|henviser|viser\s+til|avser|syftar|omfatt|dækker|daekker|dekker|betegn|beteckn|beskriv|handl"),
    _p("er_en", "da no sv", post=rf"{_GAP}\s*,?\s*(?:er|ar)\s+(?:(?:grundlaeggende|grunnleggende|i\s+bund\s+og\s+grund"
                                  rf"|altsa|saledes|dermed|derfor)\s+)?(?P<np>(?:(?:en|et|ei|ett|den|det)\s+)?"
                                  rf"(?:[\w'’-]+,?\s+){{0,4}}?{_GEN_NORDIC})", subject=True, np=True, cue=r"\b(?:er|ar)\b"),

    # German
    _p("wird_definiert", "de",
       post=rf"{_GAP}\s*,?\s*(?:(?:wird|werden|ist|sind|kann|konnen|lasst\s+sich|lassen\s+sich)\s+)(?:(?:hier|oft|meist|haufig"
            r"|allgemein|zumeist|im\s+folgenden|in\s+der\s+regel|in\s+diesem\s+\w+|daher|somit)\s+)*(?:(?:definiert|verstanden"
            r"|bezeichnet|beschrieben|aufgefasst)\s+als\b|[^.;]{0,160}?\bals\b[^.;]{1,240}?\b(?:definiert|verstanden|"
            r"bezeichnet|beschrieben|aufgefasst|konzipiert|definieren|verstehen|beschreiben|fassen)\b)", subject=True, cue=r"definier|verstanden|verstehen|bezeichn|beschrieb|beschreib|aufgefasst|konzipiert|fassen"),
    _p("unter_versteht_man", "de", pre=rf"\bunter\s+(?:(?:dem|den|der|einer|einem)\s+)?(?:(?:begriff(?:en)?|bezeichnung"
                                     rf"|terminus)\s+(?:(?:der|des)\s+)?)?{_Q}?",
       post=rf"{_CLOSE}\s*(?:,[^,]{{0,100}},\s*)?(?:versteht|verstehen|wird|werden|ist|sind|lasst|lassen)\b", cue=r"\bunter\b"),
    _p("bezeichnet", "de", post=rf"{_GAP}\s*,?\s*(?:bezeichnet|meint|beschreibt|bedeutet|umfasst|umschreibt|benennt)\b",
       subject=True, cue=r"bezeichn|meint|beschreib|bedeut|umfasst|umschreib|benennt"),
    _p("als_bezeichnet", "de", pre=r"\b(?:als|wird\s+[^.;]{0,120}\bals|werden\s+[^.;]{0,120}\bals)\s+" + _Q + "?",
       post=rf"{_CLOSE}\s*(?:bezeichnet|definiert|verstanden)\b", cue=r"\bals\b"),
    _p("ist_ein", "de", post=rf"{_GAP}\s*,?\s*(?:ist|sind)\s+(?:(?:grundsatzlich|im\s+kern|also|somit|damit|daher)\s+)?"
                             rf"(?P<np>(?:(?:ein|eine|einer|der|die|das)\s+)?(?:[\w'’-]+,?\s+){{0,4}}?{_GEN_DE})",
       subject=True, np=True, cue=r"\b(?:ist|sind)\b"),
]


def _is_subject(pre: str) -> bool:
    """Whether the concept term that follows ``pre`` starts its clause (only modifiers before it)."""
    clause = re.split(r"[;:•▸]|\.\s|\?\s|!\s", pre)[-1]
    if re.search(r",\s+[^,]*$", clause):
        clause = re.sub(r"^.*,\s+", "", clause)  # "In the literature, X is …"
    clause = _HEADING.sub("", clause)
    clause = _TERMWORD_END.sub("", clause.rstrip(" \"'“‘«„"))
    words = [w.lower() for w in re.findall(r"[\w'’-]+", clause)]
    if words and words[0] in _LEADING_PREP and words[-1] not in _NOT_SUBJECT:
        # "In this article X is understood as …": a leading phrase of up to five words, then X
        return any(not any(w in _NOT_SUBJECT for w in words[k:]) for k in range(2, min(len(words), 6) + 1))
    return len(words) <= 4 and not any(w in _NOT_SUBJECT for w in words)


_LEADING_PREP = {"in", "within", "across", "throughout", "following", "for", "among", "i", "inom", "im", "innen"}


def _in_proper_name(sentence: str, start: int) -> bool:
    """Whether the term at ``start`` is part of a capitalised name ("the Nurse-Family Partnership")."""
    if not sentence[start:start + 1].isupper():
        return False
    words = re.findall(r"[\w'’-]+", sentence[:start])
    if not words:
        return False
    first = re.match(r"\W*([\w'’-]+)", sentence).group(1)
    prev = words[-1]
    return prev[:1].isupper() and not (len(words) == 1 and prev == first) and not _HEADING.fullmatch(prev)


_ARTICLES = {"a", "an", "the", "one", "en", "et", "ei", "ett", "den", "det", "ein", "eine", "einer", "der", "die", "das"}


def _np_ok(np_text: str) -> bool:
    """The predicate noun phrase holds no evaluative word, preposition or verb before its genus
    ("is an effective treatment", "are replacing originator compounds" fail)."""
    words = [w.lower().strip(",") for w in np_text.split()]
    parts = [p for w in words[:-1] for p in w.split("-")]  # "first-line", "cost-effective"
    if any(p in _EVALUATIVE for p in parts) or any(w in ("a", "an", "the") for w in words[1:-1]):
        return False  # evaluative, or a hedge before the article ("is perhaps the disorder …")
    if len(words) > 1 and words[0] not in _ARTICLES and words[0].endswith("ing"):
        return False
    return not any(w in _EVALUATIVE or w in _NOT_IN_NP for w in words[:-1])


# -- concept matching -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Lexicon:
    """The protocol's concepts as term lists: ``{concept key: (terms, …)}``."""

    terms: dict[str, tuple[str, ...]]

    @classmethod
    def from_protocol(cls, protocol: Protocol, keys: Iterable[str] | None = None, related: bool = False) -> "Lexicon":
        """The concepts named by ``keys`` (default: the ``[definitions] concepts`` setting, else all)."""
        settings = protocol.settings.get("definitions", {})
        keys = list(keys) if keys is not None else settings.get("concepts")
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
    def from_concepts(cls, concepts: Iterable[Concept], related: bool = False) -> "Lexicon":
        return cls({c.key: tuple(_concept_terms(c, related)) for c in concepts})

    def matches(self, folded: str) -> list[tuple[str, int, int]]:
        """``(concept, start, end)`` spans in folded text; a span inside a longer one is dropped."""
        spans = []
        for key, terms in self.terms.items():
            whole = term_pattern(terms)
            if whole is None or not whole.search(folded):
                continue
            for term in terms:
                p = term_pattern([term])
                if p is not None:
                    spans.extend((key, m.start(), m.end()) for m in p.finditer(folded) if m.end() > m.start())
        spans = sorted(set(spans), key=lambda s: (s[1], -(s[2] - s[1]), s[0]))
        return [s for s in spans if not any(o[1] <= s[1] and s[2] <= o[2] and (o[2] - o[1]) > (s[2] - s[1])
                                            for o in spans)]

    def any_match(self, folded: str) -> bool:
        p = _all_terms(self)
        return bool(p and p.search(folded))


@lru_cache(maxsize=64)
def _all_terms(lexicon: Lexicon) -> re.Pattern | None:
    return term_pattern(tuple(t for ts in lexicon.terms.values() for t in ts))


def _concept_terms(concept: Concept, related: bool) -> list[str]:
    return concept.all_terms + (list(concept.related) if related else [])


def _where(protocol: Protocol) -> str:
    return str(protocol.path) if protocol.path else "<protocol>"


def find_definitions(sentence: str, lexicon: Lexicon, lang_hint: str | None = None) -> list[Definition]:
    """Definitions of the lexicon's concepts in one sentence (one per concept at most).

    >>> lex = Lexicon({"nocebo": ("nocebo", "nocebo effect")})
    >>> [d.pattern for d in find_definitions("The nocebo effect is defined as harm from negative expectations.", lex)]
    ['defined_as']
    """
    if not lexicon.any_match(fold(sentence)):
        return []
    folded, index = fold_map(sentence)
    spans = lexicon.matches(folded)
    if not spans:
        return []
    text = light(sentence)
    cue_ok: dict[int, bool] = {}
    found: dict[str, Definition] = {}
    for concept, fs, fe in spans:
        if concept in found:
            continue
        start, end = index[fs], index[fe - 1] + 1
        if _in_proper_name(sentence, start):
            continue
        pre, post = text[max(0, start - 300):start], text[end:]
        for n, pat in enumerate(PATTERNS):
            if pat.cue is not None:
                if n not in cue_ok:
                    cue_ok[n] = bool(pat.cue.search(text))
                if not cue_ok[n]:
                    continue
            if pat.pre is not None and not pat.pre.search(pre):
                continue
            m = None
            if pat.post is not None:
                m = pat.post.match(post)
                if m is None:
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


def find_in_text(text: str, lexicon: Lexicon, fulltext: bool = False, lang_hint: str | None = None) -> list[Definition]:
    """Definitions in a title, abstract or full text, with their sentence positions."""
    if not text or not lexicon.any_match(fold(text)):
        return []
    out = []
    for i, sentence in enumerate(split_sentences(text, fulltext)):
        for d in find_definitions(sentence, lexicon, lang_hint):
            d.position = i
            out.append(d)
    return out


# -- full texts --------------------------------------------------------------------------------------
def read_fulltext(path: str | Path) -> str:
    """Text of a PDF (pypdf) or plain-text file.

    Raises
    ------
    DefinitionsError
        When the file is missing, of another kind, unreadable or holds no text (a scanned PDF needs OCR first).
    """
    path = Path(path)
    if not path.is_file():
        raise DefinitionsError(f"{path}: file not found; give the path of a PDF or .txt full text")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        import logging

        from pypdf import PdfReader

        logging.getLogger("pypdf").setLevel(logging.ERROR)  # repair notes ("EOF marker not found") are not errors
        try:
            reader = PdfReader(str(path))
            if reader.is_encrypted:
                reader.decrypt("")
            text = "\n\n".join((page.extract_text() or "") for page in reader.pages)
        except Exception as e:  # pypdf raises many kinds of errors on damaged files (LimitReachedError, …)
            raise DefinitionsError(f"{path}: cannot read this PDF ({e}); save it again as PDF or as .txt") from None
    elif suffix in (".txt", ".text", ".md", ""):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise DefinitionsError(f"{path}:{line}: not UTF-8 text (byte {e.start}); save the full text as UTF-8") from None
    else:
        raise DefinitionsError(f"{path}: unsupported full-text file type {suffix!r}; use .pdf or .txt")
    if not text.strip():
        raise DefinitionsError(f"{path}: no text could be extracted (a scanned PDF?); run OCR first or add a .txt file")
    return text


def add_fulltext(store: Store, record_id: str, path: str | Path) -> dict[str, Any]:
    """Store the full text of a record (replacing an earlier one) and return a short summary."""
    rid = _resolve_record(store, record_id)
    text = read_fulltext(path)
    with store.transaction():
        store.conn.execute(
            "INSERT OR REPLACE INTO fulltexts(record_id, path, text, status, ts) VALUES (?,?,?,?,?)",
            (rid, str(Path(path).resolve()), text, "retrieved", now()))
    store.log("fulltext", "added", record_id=rid, data={"path": str(path), "chars": len(text)})
    return {"record_id": rid, "path": str(path), "chars": len(text), "sentences": len(split_sentences(text, True))}


def _resolve_record(store: Store, record_id: str) -> str:
    from .records import normalize_doi, short_openalex_id

    rid = record_id.strip()
    if store.record(rid) is not None:
        return rid
    oa = short_openalex_id(rid)
    if oa and store.record(oa) is not None:
        return oa
    doi = normalize_doi(rid)
    if doi:
        row = store.query("SELECT id FROM records WHERE doi=?", (doi,))
        if row:
            return row[0]["id"]
    raise DefinitionsError(f"record {record_id!r} is not in the store {store.path}; give a record id (e.g. W2741809807) or DOI "
                           "of a stored record")


# -- the stage ----------------------------------------------------------------------------------------
_SETTING_KEYS = {"concepts", "fields", "related", "only_included", "cluster_method", "k_min", "k_max",
                 "min_cluster_size", "seed", "mask_concepts", "dimensions"}


def _settings(protocol: Protocol) -> dict[str, Any]:
    s = protocol.settings.get("definitions", {})
    where = _where(protocol)
    unknown = sorted(set(s) - _SETTING_KEYS)
    if unknown:
        from .protocol import _Checker

        line = _Checker(protocol.text, where).line_of(("definitions", unknown[0]))
        raise DefinitionsError(f"{where}{f':{line}' if line else ''}: unknown key 'definitions.{unknown[0]}'; "
                               f"expected one of {', '.join(sorted(_SETTING_KEYS))}")
    fields = s.get("fields", list(FIELDS))
    if not isinstance(fields, list) or any(f not in FIELDS for f in fields):
        raise DefinitionsError(f"{where}: key 'definitions.fields': expected a list of {', '.join(FIELDS)}")
    for key in ("related", "only_included"):
        if key in s and not isinstance(s[key], bool):
            raise DefinitionsError(f"{where}: key 'definitions.{key}': expected true or false, got {s[key]!r}")
    return {"fields": fields, "related": s.get("related", False), "only_included": s.get("only_included", False)}


def extract(store: Store, protocol: Protocol, progress: bool = True) -> list[Definition]:
    """Definitions in the store's unique records (titles, abstracts) and added full texts; nothing is written."""
    cfg = _settings(protocol)
    lexicon = Lexicon.from_protocol(protocol, related=cfg["related"])
    ids = store.record_ids(unique=True)
    if cfg["only_included"]:
        from .screen import final_decisions

        included = {r for r, d in final_decisions(store, "title_abstract").items() if d == "include"}
        ids = [i for i in ids if i in included]
    fulltexts = {}
    if "fulltext" in cfg["fields"]:
        fulltexts = {r["record_id"]: r["text"] for r in store.query(
            "SELECT record_id, text FROM fulltexts WHERE status='retrieved' AND text IS NOT NULL")}
    out: list[Definition] = []
    for rec in tqdm(store.records(ids), total=len(ids), desc="definitions", unit="rec", disable=not progress):
        parts = [(f, getattr(rec, f)) for f in ("title", "abstract") if f in cfg["fields"]]
        if rec.id in fulltexts:
            parts.append(("fulltext", fulltexts[rec.id]))
        for field, text in parts:
            for d in find_in_text(text, lexicon, fulltext=field == "fulltext", lang_hint=rec.language or None):
                d.record_id, d.field, d.year = rec.id, field, rec.year
                out.append(d)
    return out


def save(store: Store, protocol: Protocol, definitions: list[Definition], info: dict | None = None) -> int:
    """Store definitions as a new run, replacing the previous runs' rows for this protocol; returns the run id."""
    from .search import tool_versions

    run_id = store.start_run("definitions", protocol.id, query={"patterns": sorted({p.name for p in PATTERNS})},
                             protocol_hash=protocol.hash, tool_versions=tool_versions())
    ts = now()
    with store.transaction():
        store.conn.execute("DELETE FROM definitions WHERE run_id IN (SELECT id FROM runs WHERE kind='definitions' AND label=?)"
                           " AND run_id != ?", (protocol.id, run_id))
        for d in definitions:
            cur = store.conn.execute(
                "INSERT INTO definitions(record_id, concept, sentence, field, position, pattern, cited, lang, run_id, ts)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (d.record_id, d.concept, d.sentence, d.field, d.position, d.pattern, d.cited or None, d.lang, run_id, ts))
            d.id = int(cur.lastrowid)
    store.finish_run(run_id, n_records=len({d.record_id for d in definitions}), info=info or {"definitions": len(definitions)})
    return run_id


def load(store: Store, protocol: Protocol | None = None) -> list[Definition]:
    """Stored definitions (of the protocol's latest run, or of every run), with the records' years."""
    sql = ("SELECT d.*, r.year FROM definitions d LEFT JOIN records r ON r.id = d.record_id")
    params: list[Any] = []
    if protocol is not None:
        sql += " WHERE d.run_id = (SELECT MAX(id) FROM runs WHERE kind='definitions' AND label=? AND status='done')"
        params.append(protocol.id)
    rows = store.query(sql + " ORDER BY d.id", params)
    return [Definition(concept=r["concept"], term="", sentence=r["sentence"], pattern=r["pattern"] or "",
                       lang=r["lang"] or "", cited=r["cited"] or "", record_id=r["record_id"], field=r["field"],
                       position=r["position"] or 0, year=r["year"], id=r["id"]) for r in rows]


def write_csv(definitions: list[Definition], path: str | Path) -> Path:
    """Definitions as CSV (one row per definition, with its id for tracing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = ["id", "concept", "record_id", "year", "field", "position", "pattern", "lang", "cited", "sentence"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for d in definitions:
            w.writerow(asdict(d))
    return path


def run(store: Store, protocol: Protocol, progress: bool = True, out_dir: str | Path | None = None) -> dict[str, Any]:
    """The definitions stage: extract, store, cluster, compare, map (and write files to ``out_dir``)."""
    from . import concepts

    defs = extract(store, protocol, progress=progress)
    by_concept: dict[str, int] = {}
    for d in defs:
        by_concept[d.concept] = by_concept.get(d.concept, 0) + 1
    run_id = save(store, protocol, defs, info={"definitions": len(defs), "by_concept": by_concept})
    analysis = concepts.analyse(store, protocol, definitions=defs, out_dir=out_dir, progress=progress)
    return {"run_id": run_id, "definitions": len(defs), "records": len({d.record_id for d in defs}),
            "by_concept": by_concept, **analysis["summary"]}


def iter_labelled(path: str | Path) -> Iterator[dict[str, str]]:
    """Rows of a labelled evaluation CSV (``sentence, is_definition, concept, …``)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)
