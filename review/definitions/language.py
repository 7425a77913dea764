"""Language of a sentence among en, da, no, sv, de, and accent folding with positions."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from review.core.text import _COMBINING, _FOLD, fold

LANGUAGES = ("en", "da", "no", "sv", "de")


def _fold_char(ch: str) -> str:
    c = ch.lower()
    if not c.isascii():
        c = _COMBINING.sub("", unicodedata.normalize("NFKD", c)).lower().translate(_FOLD)  # as fold()
    return c


_WORD = re.compile(r"[^\W_]+")


def fold_map(text: str) -> tuple[str, list[int]]:
    """:func:`review.core.text.fold` of ``text`` and, for each folded character, its index in ``text``."""
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
