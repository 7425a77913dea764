"""Normalised comparison keys of one record (title parts, authors, venue, pages, ids)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from review.core.records import Record
from review.core.text import fold, full_last_page

DUPLICATE, MAYBE, DISTINCT = "duplicate", "maybe", "distinct"
_SMALL_BLOCK = 16        # blocks up to this size: every pair; larger: pairs with similar titles only
_MAX_ID_BLOCK = 50       # a DOI shared by more records than this is a junk DOI: not used for blocking
_MAX_BLOCK = 5000        # larger blocks (a very common key) are split by title order

# -- preparing records ------------------------------------------------------------------------
_TAGS = re.compile(r"</?[a-z][a-z0-9]*\b[^<>]{0,20}>", re.I)  # tags only: "children <5 and >65 years" is text
_ESCAPED_TAG = re.compile(r"&lt;(/?[a-z][a-z0-9]*\b[^&<>]{0,20})&gt;", re.I)
# An isotope label in brackets, "[11C]", "[(18)F]", "[ 11 C]", "[99mTc]", "[C-11]": part of the title's words
# ("[11C]raclopride" = "11C-raclopride"), not a translation in brackets
_ISOTOPE = re.compile(r"\[\s*(?:\(\s*)?\d{1,3}m?(?:\s*\))?\s*-?\s*[a-z]{1,2}\s*\]|"
                      r"\[\s*[a-z]{1,2}\s*-\s*\d{1,3}\s*\]", re.I)
# Notes that databases add to a title about the article itself, not part of its title: "[corrected]",
# "[Article in German]", "[see comments]", "[Review]", "[Erratum appears in …]" (also cut short, unclosed),
# "(52 refs)" (CINAHL), "Erratum in: …" / "Comment in: …" / "Update of: …" after the title (MEDLINE).
_NOTE_BRACKET = re.compile(r"\[\s*(?:(?:published )?errat|corrected|see (?:comments?|editorial|also)|comments?\b|"
                           r"letter\]|editorial\]|review\b|abstract\]|article in|in process|retract|reprint|"
                           r"english abstract|authors?'? transl|meeting abstract|conference abstract|note:)"
                           r"(?:[^\[\]]|\[[^\]]*\])*(?:\]|$)", re.I)  # "[Erratum appears in X [Electronic Resource] …]"
_NOTE_PAREN = re.compile(r"\(\s*(?:review|abstract|letter|editorial|corrected|english abstract|authors?'? transl|"
                         r"\d+ refs?|\d+ references)\s*\)", re.I)
_NOTE_TAIL = re.compile(r"(?:[.;]\s*|\s+)(?:(?:published )?errat(?:um|a) (?:appears )?in\b|comment(?:s)? in:|"
                        r"comment on:|update (?:of|in):|republished (?:in|from):|retraction (?:in|of):|"
                        r"corrected and republished)[^\[]*$", re.I)
# A one-word note in brackets: the language ("[Japanese]"), "[Review]", "[16 refs]".
_NOTE_WORD = re.compile(r"\[\s*(?:[^\W\d_]+|\d+\s*refs?)\s*\]", re.I)
# Bilingual titles: "Original title; English title", "English = Original", "Original / English".
_HALVES = re.compile(r"\s+=\s+|;\s+|\s+/\s+")
_BRACKETED = re.compile(r"\[[^\]]*(?:\]|$)")  # also an unclosed "[Erratum appears in …" cut short
# An erratum citing its article: "Title (vol 360, pg 542, 2009)" or "Title (Journal (2009) 360, (542-544))"
_ERRATUM_REF = re.compile(r"\(\s*vol\.?\s*\d+\S*\s*,?\s*(?:pg|p|pp)\.?\s*\w+.*?\)|"
                          r"\([^()]*\(\d{4}\)\s*\d+[^()]*\(\s*\w*\d+\s*[-–]\s*\w*\d+\s*\)\s*\)", re.I)
# Notices about another work: unambiguous words anywhere, ambiguous ones ("response") only at the start.
_NOTICE = re.compile(r"\b(errat(?:um|a)|corrigend(?:um|a)|retraction|retracted|withdrawn|expression of concern|"
                     r"reply to|in reply|authors? reply|response to the comments?|comments? on|commentary on|"
                     r"correction to)\b|^(reply|response|comments?|commentary|correction|addendum|re)\b")
# Recurring items whose titles repeat issue after issue: a same title is no evidence of a same work.
_FRONT_MATTER = re.compile(r"^(?:editorial|editor s|editors|guest editor|from the editor|letter from the editor|"
                           r"introduction to the|special (?:section|issue)|preface|foreword|in this issue|"
                           r"call for papers|remarks|editor s comments|issues? information|table of contents|"
                           r"contents|masthead|index|reviewers|acknowledg|announcement|news|book reviews?)\b")
_NOTICE_PREFIX = re.compile(r"^(?:errat(?:um|a)|corrigend(?:um|a)|correction|retraction(?: note)?|"
                            r"retracted(?: article)?|"
                            r"notice of retraction|expression of concern)(?: (?:to|for|on|of|in))?(?: the article)? ")
_DIGITS = re.compile(r"\d+")
_COCHRANE = re.compile(r"\b(CD\d{6})\b", re.I)
_ROMAN = frozenset("ii iii iv vi vii viii ix".split())
_SERIES = frozenset("part parte partie teil del deel phase volume vol no number".split())
_CASES = frozenset("case cases study experiment section chapter appendix annex supplement trial report".split())
_ALNUM = re.compile(r"[0-9a-z]+")
_PAGE_WORDS = frozenset(("p", "pp", "pg", "pgs", "page", "pages"))
_STOP = frozenset("a an and the of in on for to with by at from de der die la le los el und et".split())
_VENUE_STOP = _STOP | {"i", "y", "e", "og", "och", "en", "du", "des", "del", "di", "da", "do", "della", "fur", "fuer",
                       "journal", "j", "proceedings", "proc", "conference", "conf", "international", "int",
                       "annual", "meeting", "ieee", "acm", "symposium", "workshop"}
# "Journal of Clinical Virology : the official publication of …", "BMJ (Clinical research ed.)"
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)?$")
_VENUE_SUBTITLE = re.compile(r"\s*(?::|\s-\s|\(|\[)")
_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")
_TYPES = {
    "article": "article", "journal-article": "article", "jour": "article", "journal article": "article",
    "ejour": "article", "review": "article", "letter": "article", "editorial": "article",
    "inproceedings": "conference", "conference": "conference", "conf": "conference", "cpaper": "conference",
    "proceedings-article": "conference", "conference paper": "conference", "proceedings": "conference",
    "book": "book", "monograph": "book", "edited-book": "book",
    "incollection": "chapter", "inbook": "chapter", "chap": "chapter", "book-chapter": "chapter",
    "phdthesis": "thesis", "mastersthesis": "thesis", "thes": "thesis", "dissertation": "thesis",
}


_ASCII_PUNCT = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})
_NOTICE_HINTS = ("errat", "corrig", "retract", "withdraw", "concern", "repl", "respons", "comment", "correct",
                 "addend")


def _fold(text: str) -> str:
    """:func:`review.core.text.fold`, 3x faster for ASCII text (the common case), same result."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_PUNCT).split())
    return fold(text)


def _clean_title(t: str) -> str:
    """A title without markup and database notes (see ``_NOTE_BRACKET``, ``_NOTE_PAREN``, ``_NOTE_TAIL``)."""
    if "&lt;" in t:  # markup written as text: "[&lt;sup&gt;11&lt;/sup&gt;C]" (not "&lt;5 years")
        t = _ESCAPED_TAG.sub(r"<\1>", t)
    if "<" in t:
        t = _TAGS.sub(" ", t)
    if "&" in t:
        t = html.unescape(t).replace("&", " and ")  # "A &amp; B", "A & B" = "A and B"
    if "[" in t:
        t = _ISOTOPE.sub(lambda m: " " + "".join(re.findall(r"\d+m?|[a-z]+", m.group(0), re.I)), t)
        t = _NOTE_BRACKET.sub(" ", t)
        rest = _NOTE_WORD.sub(" ", t)
        if len(_BRACKETED.sub(" ", rest).strip(" .;:")) >= 10 or len(rest.strip(" .;:[]")) >= 10:
            t = rest
    if "(" in t:
        t = _NOTE_PAREN.sub(" ", t)
    low = t.lower()
    if any(h in low for h in ("errat", "comment", "update", "republish", "retraction")):
        t = _NOTE_TAIL.sub("", t)
    return t.strip()


_ORDINALS = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth".split())
_NUMBER_WORDS = _ORDINALS | frozenset("one two three four five six seven eight nine ten eins zwei drei un deux trois "
                                      "uno dos tres".split())


def _label(word: str) -> bool:
    """A series label after "part", "phase", "no": a number, a roman numeral, a letter or a number word."""
    return word.isdigit() or len(word) <= 2 or word in _ROMAN or word in _NUMBER_WORDS


def _title_parts(title: str) -> tuple[str, frozenset, frozenset, frozenset, tuple]:
    """(folded title, numbers in it, the series labels among them, notice words like erratum/reply, alternative
    folded titles) for matching.

    The alternatives are the parts of a title that holds two: a translation in brackets beside the original
    ("Original [English]"), or two languages joined by ``;``, `` = `` or `` / ``.
    """
    t = title or ""
    notice: set[str] = set()
    if "(" in t and _ERRATUM_REF.search(t):  # WoS erratum: "Title (vol 360, pg 542, 2009)"
        t = _ERRATUM_REF.sub(" ", t)
        notice.add("erratum")
    t = _clean_title(t)
    parts: list[str] = []
    if "[" in t:
        inside = " ".join(m.group(0).strip("[]. ") for m in _BRACKETED.finditer(t))
        outside = _BRACKETED.sub(" ", t)
        if len(outside.strip(" .;:")) < 10:
            t = inside  # a translated title, all in brackets
        else:
            t = outside  # "Original [English]", "[English] Original"
            parts = [inside, outside]
    if len(t) > 40 and _HALVES.search(t):
        parts += _HALVES.split(t)
    f = _fold(t)
    for m in (_NOTICE.finditer(f) if f.startswith("re ") or any(h in f for h in _NOTICE_HINTS) else ()):
        w = m.group(1) or m.group(2)
        notice.add("erratum" if w.startswith(("errat", "corrigend", "correction")) else
                   "retraction" if w.startswith(("retract", "withdrawn", "expression")) else
                   "comment" if w.startswith("comment") else "reply")
    f = _NOTICE_PREFIX.sub("", f)  # "Erratum: <title>" is matched on <title>; the notice is kept apart
    # The digits in order, as one number: "CO 2" = "CO2", "10 000" = "10000", "HPV 16/18" = "HPV16 18",
    # "types 16, 18 and 45" = "types 16, 18 & 45"
    words = f.split()
    labels: set[str] = set()  # what tells parts of a series apart: "part i", "study 2", "the third …"
    if not _SERIES.isdisjoint(words) or not _ROMAN.isdisjoint(words):
        labels.update(w for w in words if w in _ROMAN)
        # "part i", "phase a", "part two"; not any word after one ("no candidate", "volume of …")
        labels.update(x for w, x in zip(words, words[1:]) if w in _SERIES and _label(x))
    if not _ORDINALS.isdisjoint(words):  # "the first issue of volume 27" vs "the third issue …"
        labels.update(w for w in words if w in _ORDINALS)
    if not _CASES.isdisjoint(words):  # "Case A" / "Case B", "Study 1", "Appendix C": short labels only
        labels.update(x for w, x in zip(words, words[1:]) if w in _CASES and len(x) == 1)
    numbers = labels | (set() if f.replace(" ", "").isalpha() else {"".join(_DIGITS.findall(f))})
    alts = []
    for part in parts:
        a = _fold(part)
        if a != f and len(a) >= 20 and len(a.split()) >= 3 and a not in alts:
            alts.append(a)
    return f, frozenset(numbers), frozenset(labels), frozenset(notice), tuple(alts)


_NO_AUTHOR = frozenset(("anonymous", "anon", "et al", "others", "n/a", "no author name available"))  # the last: Scopus


def _author_parts(name: str) -> tuple[str, tuple[str, ...]]:
    """(surname, name words of 2+ letters), folded: "Altenried, Moritz" and "Moritz Altenried" share words."""
    name = (name or "").strip()
    low = name.lower()
    if not name or low.strip("[]. ") in _NO_AUTHOR:
        return "", ()
    if "," in name and name.isascii():  # the common case, without the general fold
        last, _, first = low.partition(",")
        last_words = last.translate(_ASCII_PUNCT).split()
        words = last_words + first.translate(_ASCII_PUNCT).split()
        return "".join(last_words), tuple(w for w in words if len(w) > 1)
    if "," in name:
        last, first = name.split(",", 1)
        last = _fold(last)
        words = last.split() + _fold(first).split()
    else:
        raw = name.split()
        words = _fold(name).split()
        n = len(raw)
        while n > 1 and _INITIALS.match(raw[n - 1]):  # "Diaz R. J." (Embase), "Smith J A": every initial
            n -= 1
        last = _fold(" ".join(raw[:n])) if n < len(raw) else (words[-1] if words else "")
    return last.replace(" ", ""), tuple(w for w in words if len(w) > 1)


# Spelling and transliteration variants in journal names: British/American ("paediatric", "oesophagus"),
# Russian ("psikhiatrii"/"psihiatrii"), old Wade-Giles vs pinyin Chinese titles ("Chung-hua erh k'o tsa chih" =
# "Zhonghua er ke za zhi"). Applied to both names before they are compared.
_TRANSLIT = (("ae", "e"), ("oe", "e"), ("ph", "f"), ("kh", "h"), ("y", "i"), ("ck", "k"))
_WADE_GILES = (("chunghua", "zhonghua"), ("tsachih", "zazhi"), ("erhko", "erke"), ("neiko", "neike"),
               ("waiko", "waike"), ("ihsueh", "yixue"), ("hsueh", "xue"), ("chieh", "jie"), ("chih", "zhi"))


def _translit(word: str) -> str:
    for a, b in _TRANSLIT:
        if a in word:
            word = word.replace(a, b)
    return word


def _venue_key(words: list[str]) -> str:
    """Compact, transliterated journal name ("zhonghuaerkezazhi") to compare names written differently."""
    k = "".join(_translit(w) for w in words if w not in _VENUE_STOP)
    for a, b in _WADE_GILES:
        if a in k:
            k = k.replace(a, b)
    return k


def _initial_keys(names: list[str], surnames: tuple) -> tuple:
    """``surname + first initial`` per author ("zhou y"): compares "Zhou, Y" with "Zhou, Yumin"."""
    out = []
    for name, last in zip(names, surnames):
        rest = name.partition(",")[2].split() if "," in name else name.split()
        given = [w for w in rest if _fold(w).replace(" ", "") != last and w[:1].isalpha()]
        out.append(f"{last} {_fold(given[0])[:1]}" if given else last)
    return tuple(out)


def _number(value: str) -> str:
    m = _DIGITS.search(value or "")
    return m.group(0).lstrip("0") or "0" if m else ""


def _page_range(pages: str) -> tuple[str, str]:
    """(first, last) page, with ``1325-9`` expanded to ``1325``, ``1329``; letters kept (``e123``)."""
    toks = _ALNUM.findall((pages or "").lower())
    if toks and toks[0] in _PAGE_WORDS:  # "pp. 123-129", "p 12"
        toks = toks[1:]
    toks = [t.lstrip("0") or "0" for t in toks[:2]]
    toks = [t if any(c.isdigit() for c in t) else "" for t in toks]  # "Suppl-29": first page unknown
    if not toks:
        return "", ""
    return toks[0], full_last_page(toks[0], toks[-1])


# Volume, issue and pages as a regular issue prints them: numbers only ("22", "4" or "3-4", "742-747", "pp. 742-7").
# A supplement, a part or a meeting issue says so in words or letters ("Suppl 1", "4S", "Supl", "Pt 2", "S500").
_PLAIN = (re.compile(r"\d+"), re.compile(r"(\d+\s*[-/–]\s*)?\d+|"), re.compile(r"(pp?\.?\s*)?\d+\s*[-–]+\s*\d+"))


@dataclass(slots=True)
class Prepared:
    """The comparable features of one record."""

    title: str
    title_nums: frozenset
    notice: frozenset
    alt_titles: tuple
    front_matter: bool
    surnames: tuple
    names: tuple
    authors: str
    year: int | None
    venue: tuple
    venue_full: tuple
    venue_words: tuple
    venue_acronym: str
    venue_key: str
    volume: str
    issue: str
    first_page: str
    last_page: str
    doi: str | None
    pmid: str | None
    openalex_id: str | None
    kind: str
    n_fields: int
    initials: tuple = ()
    review_id: str = ""  # a Cochrane review number (cd002991): the same review across its updates
    title_labels: frozenset = frozenset()  # the part of title_nums that names a part of a series ("part 2")
    plain: bool = False  # volume, issue and pages are numbers only (:data:`_PLAIN`)


def prepare(rec: Record) -> Prepared:
    """Normalised matching features of a record (computed once per record)."""
    t, nums, labels, notice, alts = _title_parts(rec.title)
    parts = [_author_parts(a.name) for a in rec.authors[:30]]
    surnames = tuple(p[0] for p in parts if p[0])
    initials = _initial_keys([a.name for a, p in zip(rec.authors, parts) if p[0]], surnames)
    name_tokens = tuple(p[1] for p in parts if p[1])
    fp, lp = _page_range(rec.pages)
    full_words = [w for w in _fold(rec.venue).split() if not _ORDINAL.match(w)]  # "50th Annual …", "2017"
    main = _VENUE_SUBTITLE.split(rec.venue, 1)[0] if rec.venue else ""
    venue_words = full_words if main == rec.venue else [w for w in _fold(main).split() if not _ORDINAL.match(w)]
    venue = tuple(w for w in venue_words if w not in _VENUE_STOP)
    venue_full = tuple(w for w in full_words if w not in _VENUE_STOP)
    acronym = "".join(w[0] for w in venue_words if w not in _STOP and not w.isdigit()) if len(venue_words) > 2 else ""
    n_fields = sum(bool(x) for x in (rec.title, rec.abstract, rec.authors, rec.year, rec.venue, rec.volume,
                                     rec.issue, rec.pages, rec.doi, rec.pmid, rec.openalex_id, rec.publisher))
    volume = _number(rec.volume)
    if rec.year and volume == str(rec.year):
        volume = ""  # the year in the volume field ("2015-April")
    m = _COCHRANE.search(f"{rec.pages} {rec.doi or ''} {rec.volume}")
    return Prepared(t, nums, notice, alts, bool(_FRONT_MATTER.match(t)), surnames, name_tokens,
                    " ".join(w for ws in name_tokens for w in ws), rec.year, venue, venue_full,
                    tuple(w for w in venue_words if w not in _STOP), acronym, _venue_key(full_words), volume,
                    _number(rec.issue), fp, lp, rec.doi, rec.pmid, rec.openalex_id,
                    _TYPES.get((rec.type or "").lower().strip(), ""), n_fields, initials,
                    m.group(1).lower() if m else "", labels,
                    all(r.fullmatch((x or "").strip()) for r, x in zip(_PLAIN, (rec.volume, rec.issue, rec.pages))))
