"""Cleaning text and splitting it into sentences; the sources a sentence cites."""
from __future__ import annotations

import html
import re

# -- text preparation --------------------------------------------------------------------------
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_ABBREV = {
    "e.g", "i.e", "cf", "vs", "al", "fig", "figs", "no", "nos", "dr", "prof", "approx", "ca", "resp", "viz",
    "pp", "p", "vol", "ed", "eds", "u.s", "st", "mr", "mrs", "ms", "jr", "inc", "ltd", "sec", "ch", "chap",
    "z.b", "bzw", "vgl", "ggf", "d.h", "u.a", "s", "f", "ff", "jf", "bl.a", "dvs", "fx", "mfl", "m.fl", "osv",
    "mv", "m.v", "evt", "inkl", "ift", "nr", "t.ex", "s.k", "sk", "etc", "et", "ref", "refs", "eq",
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
            if token in _ABBREV or _is_initial(block, start, m.start(1), token) or (
                    token and token[-1].isdigit() and m.group(1) == "." and m.group(3) is None):
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


# -- cited sources --------------------------------------------------------------------------------
_NAME = r"[A-ZÆØÅÄÖÜ][\w'’-]+(?:\s+(?:de|van|der|von|den|la|le)\s+[A-Z][\w'’-]+)?"
_AUTHORS = (rf"{_NAME}(?:\s+et\s+al\.?|(?:,?\s+(?:and|&|og|och|und)\s+{_NAME})"
            rf"|(?:,\s+{_NAME}){{1,3}},?\s+(?:and|&)\s+{_NAME})?")
_YEAR = r"(?:1[89]\d\d|20\d\d)[a-z]?"
_CITE_NARRATIVE = re.compile(rf"\b({_AUTHORS})(?:'s|’s)?\s*\((?:e\.g\.,?\s*)?{_YEAR}"
                             r"(?:[,:;]\s*(?:p+\.?\s*)?\d+(?:[-–]\d+)?)?\)")
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
            part = re.sub(r"^(?:e\.g\.|see(?:\s+also)?|cf\.|i\.e\.|vgl\.|jf\.|se)\s*,?\s*", "", part.strip(),
                          flags=re.I)
            if re.search(rf"{_NAME}.*\b{_YEAR}\b", part):
                found.append((m.start(), part))
    for m in _CITE_NUMERIC.finditer(sentence):
        found.append((m.start(), m.group(0)))
    seen: dict[str, None] = {}
    for _, text in sorted(found, key=lambda x: x[0]):
        seen.setdefault(text, None)
    return list(seen)
