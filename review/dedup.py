"""Find and merge duplicate records.

How a pair is decided (:func:`compare`):

1. **Identifiers**: a shared OpenAlex id, PMID or DOI is strong evidence for the same
   work, but never enough alone: a DOI is sometimes wrong or shared (a book DOI on
   its chapters), so a clearly different title, first page, volume or a year more
   than one apart vetoes it (the pair becomes a "maybe" for a human).
2. **Evidence against**: different DOIs / PMIDs / OpenAlex ids, first pages,
   volumes, years more than one apart, different numbers in the titles ("Part 1" vs
   "Part 2"), or one title being an erratum / reply / comment and the other not.
3. **Evidence for**: title similarity (rapidfuzz, on accent- and case-folded text),
   author surnames (order- and subset-tolerant), same year, compatible venue (also
   when one is an abbreviation of the other), same volume, issue and pages.

Outcomes: ``duplicate`` (merged automatically), ``maybe`` (kept apart, queued for a
human), ``distinct``. Only pairs that share a blocking key are compared (DOI, PMID,
OpenAlex id, title prefix, title suffix, rare title words, first author + year ± 1,
volume + first page), so the work grows near-linearly with the number of records;
big blocks are filtered by title similarity in C++ (rapidfuzz ``cdist``) first.

Grouping guards against chaining: two groups are joined only if *every* pair across
them is compatible (no evidence against, similar titles), like complete linkage.
"""
from __future__ import annotations

import csv
import html
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable, Sequence, TextIO

import numpy as np
from rapidfuzz import fuzz, process

from .records import Record, fold

DUPLICATE, MAYBE, DISTINCT = "duplicate", "maybe", "distinct"
_SMALL_BLOCK = 16        # blocks up to this size: every pair; larger: pairs with similar titles only
_MAX_ID_BLOCK = 50       # a DOI shared by more records than this is a junk DOI: not used for blocking
_MAX_BLOCK = 5000        # larger blocks (a very common key) are split by title order

# -- preparing records ------------------------------------------------------------------------
_TAGS = re.compile(r"<[^>]{1,20}>")
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
_ROMAN = frozenset("ii iii iv vi vii viii ix".split())
_SERIES = frozenset("part parte partie teil del deel phase volume vol no number".split())
_ALNUM = re.compile(r"[0-9a-z]+")
_STOP = frozenset("a an and the of in on for to with by at from de der die la le los el und et".split())
_VENUE_STOP = _STOP | {"journal", "j", "proceedings", "proc", "conference", "conf", "international", "int",
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
    """:func:`review.records.fold`, 3x faster for ASCII text (the common case), same result."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_PUNCT).split())
    return fold(text)


def _title_parts(title: str) -> tuple[str, frozenset, frozenset]:
    """(folded title, numbers in it, notice words like erratum/reply) for matching."""
    t = title or ""
    if "<" in t:
        t = _TAGS.sub(" ", t)
    if "&" in t:
        t = html.unescape(t)
    notice: set[str] = set()
    if "(" in t and _ERRATUM_REF.search(t):  # WoS erratum: "Title (vol 360, pg 542, 2009)"
        t = _ERRATUM_REF.sub(" ", t)
        notice.add("erratum")
    if "[" in t:
        stripped = t.strip().rstrip(".")
        if stripped.startswith("[") and stripped.endswith("]"):
            t = stripped[1:-1]  # a translated title, all in brackets
        else:
            t = _BRACKETED.sub(" ", t)  # "[Erratum appears in …]", "[Article in German]"
    f = _fold(t)
    for m in (_NOTICE.finditer(f) if f.startswith("re ") or any(h in f for h in _NOTICE_HINTS) else ()):
        w = m.group(1) or m.group(2)
        notice.add("erratum" if w.startswith(("errat", "corrigend", "correction")) else
                   "retraction" if w.startswith(("retract", "withdrawn", "expression")) else
                   "comment" if w.startswith("comment") else "reply")
    f = _NOTICE_PREFIX.sub("", f)  # "Erratum: <title>" is matched on <title>; the notice is kept apart
    compact = f.replace(" ", "")  # "CO 2" = "CO2", "10 000" = "10000", "HPV 16/18" = "HPV16 18"
    words = f.split()
    numbers = set() if compact.isalpha() else set(_DIGITS.findall(compact))
    if not _SERIES.isdisjoint(words) or not _ROMAN.isdisjoint(words):
        numbers.update(w for w in words if w in _ROMAN)
        numbers.update(words[i + 1] for i, w in enumerate(words[:-1]) if w in _SERIES)  # "part i", "phase a"
    return f, frozenset(numbers), frozenset(notice)


_NO_AUTHOR = frozenset(("anonymous", "anon", "et al", "others", "n/a"))


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
        last = _fold(" ".join(raw[:-1])) if len(raw) > 1 and _INITIALS.match(raw[-1]) else (words[-1] if words else "")
    return last.replace(" ", ""), tuple(w for w in words if len(w) > 1)


def _number(value: str) -> str:
    m = _DIGITS.search(value or "")
    return m.group(0).lstrip("0") or "0" if m else ""


def _page_range(pages: str) -> tuple[str, str]:
    """(first, last) page, with ``1325-9`` expanded to ``1325``, ``1329``; letters kept (``e123``)."""
    toks = [t.lstrip("0") or "0" for t in _ALNUM.findall((pages or "").lower())[:2]]
    toks = [t if any(c.isdigit() for c in t) else "" for t in toks]  # "Suppl-29": first page unknown
    if not toks:
        return "", ""
    first, last = toks[0], toks[-1]
    if first.isdigit() and last.isdigit() and len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return first, last


@dataclass(slots=True)
class Prepared:
    """The comparable features of one record."""

    title: str
    title_nums: frozenset
    notice: frozenset
    front_matter: bool
    surnames: tuple
    names: tuple
    authors: str
    year: int | None
    venue: tuple
    venue_full: tuple
    venue_words: tuple
    venue_acronym: str
    volume: str
    issue: str
    first_page: str
    last_page: str
    doi: str | None
    pmid: str | None
    openalex_id: str | None
    kind: str
    n_fields: int


def prepare(rec: Record) -> Prepared:
    """Normalised matching features of a record (computed once per record)."""
    t, nums, notice = _title_parts(rec.title)
    parts = [_author_parts(a.name) for a in rec.authors[:30]]
    surnames = tuple(p[0] for p in parts if p[0])
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
    return Prepared(t, nums, notice, bool(_FRONT_MATTER.match(t)), surnames, name_tokens,
                    " ".join(w for ws in name_tokens for w in ws), rec.year, venue, venue_full,
                    tuple(w for w in venue_words if w not in _STOP), acronym, volume,
                    _number(rec.issue), fp, lp, rec.doi, rec.pmid, rec.openalex_id,
                    _TYPES.get((rec.type or "").lower().strip(), ""), n_fields)


# -- comparing two records --------------------------------------------------------------------
def _abbreviates(short: tuple, long_: tuple) -> bool:
    """Whether ``short`` abbreviates ``long_`` word by word ("Nat Rev Nephrol", "Jou Mana Info Syste").

    Every word of the long form must be matched in order by a prefix, except generic words
    ("journal", "proceedings"), so "J Med" does not abbreviate "Journal of Internal Medicine".
    """
    if len(short) < 2:
        return False
    i = 0
    for w in long_:
        if i < len(short) and w.startswith(short[i]):
            i += 1
        elif w not in _VENUE_STOP:
            return False
    return i == len(short)


def _venue_relation(pa: Prepared, pb: Prepared) -> str | None:
    """``agree`` / ``differ`` / None (unknown). An abbreviation or acronym agrees with its full form."""
    a, b = pa.venue, pb.venue
    if not a or not b:
        return None
    # main titles ("Nephron - Clinical Practice" → "Nephron"), then whole names ("tripleC: Communication, …")
    for x, y in ((a, b), (pa.venue_full, pb.venue_full)):
        if not x or not y:
            continue
        # word sets: one may hold the other's words and more, but a one-word venue must match as a whole
        # ("Cancer" is not "Cancer Research")
        score = fuzz.token_set_ratio if min(len(x), len(y)) >= 2 else fuzz.token_sort_ratio
        if x == y or score(" ".join(x), " ".join(y)) >= 90:
            return "agree"
    fa, fb = pa.venue_words, pb.venue_words
    if _abbreviates(fa, fb) if len(" ".join(fa)) <= len(" ".join(fb)) else _abbreviates(fb, fa):
        return "agree"
    # "ICIS 2018 proceedings" vs "International Conference on Information Systems"
    if (pb.venue_acronym and len(pb.venue_acronym) >= 3 and pb.venue_acronym in a) or \
            (pa.venue_acronym and len(pa.venue_acronym) >= 3 and pa.venue_acronym in b):
        return "agree"
    if len(a) == 1 or len(b) == 1:
        return None  # "AMCIS" vs "Americas Conference on Information Systems": may be an acronym we cannot resolve
    return "differ"


def _author_similarity(a: Prepared, b: Prepared) -> float | None:
    """0–100: how well the author names agree; order, a missing tail and swapped name parts tolerated.

    None if either side has no authors. At most 75 if the first authors differ.
    """
    if not a.names or not b.names:
        return None
    s = fuzz.token_set_ratio(a.authors, b.authors)
    fa, fb = set(a.names[0]), set(b.names[0])
    first = bool(fa & fb) or any(fuzz.ratio(x, y) >= 80 for x in fa for y in fb if len(x) > 3 and len(y) > 3) \
        or any(fa & set(n) for n in b.names[1:3]) or any(fb & set(n) for n in a.names[1:3])
    return s if first else min(s, 75.0)


def _same_author_list(a: Prepared, b: Prepared) -> bool:
    """The same surnames in the same order (first names and initials may differ, a typo or one name of many
    may be missing)."""
    return bool(a.surnames and b.surnames) and fuzz.ratio(" ".join(a.surnames), " ".join(b.surnames)) >= 90


def title_similarity(a: str, b: str) -> float:
    """0–100 similarity of two folded titles.

    A title cut short (database field limits) scores at least 96; a main title
    without its subtitle ("Diminished control in crowdsourcing" vs the same with
    ": An investigation of …") at least 90.
    """
    if not a or not b:
        return 0.0
    s = fuzz.ratio(a, b)
    if s < 96:
        short, long_ = (a, b) if len(a) <= len(b) else (b, a)
        if len(short) >= 40 and long_.startswith(short[: max(len(short) - 3, 40)]):
            s = 96.0
        elif s < 90 and len(short) >= 15 and len(short.split()) >= 3 and \
                (long_.startswith(short + " ") or (len(short) >= 25 and long_.endswith(" " + short))):
            s = 90.0  # main title without its subtitle, or a title without its lead-in ("Review: …")
    return s


@dataclass
class Comparison:
    """The outcome for one pair, with the evidence that led to it."""

    outcome: str
    score: float
    evidence_for: list[str] = field(default_factory=list)
    evidence_against: list[str] = field(default_factory=list)
    conflicts: int = 0  # how many of evidence_against are hard conflicts (pages, volume, year, DOI, ...)

    @property
    def reasons(self) -> str:
        return "; ".join(["+" + e for e in self.evidence_for] + ["-" + e for e in self.evidence_against])


def _article_number(page: str) -> bool:
    """e12724, a1754 (BMJ), 106482 (Elsevier): an article number, not a page ("S417" is a page)."""
    return (page[0] != "s" and page[0].isalpha() and page[1:].isdigit() and len(page) >= 4) \
        or (page.isdigit() and len(page) >= 5)


_BIBLIOGRAPHIC_CONFLICTS = frozenset({"different pages", "different issue", "different volume", "different doi",
                                      "different pmid", "erratum/reply/comment vs other"})


def _pages_relation(a: Prepared, b: Prepared) -> str | None:
    """``agree`` / ``differ`` / None (unknown) for the page fields."""
    if a.first_page and b.first_page:
        if a.first_page == b.first_page:
            return "agree"
        # An article number (e12724, 106482) beside a page range (1-6) or page count (11): unknown.
        if any(_article_number(p) for p in (a.first_page, b.first_page)):
            return None
        if a.first_page.lstrip("abcdefghijklmnopqrstuvwxyz") == b.first_page.lstrip("abcdefghijklmnopqrstuvwxyz"):
            return "agree"  # "c37" vs "37"
        # The same last page of a real range: a typo in the first page ("2297-2108" vs "2097-2108").
        if a.last_page == b.last_page and len(a.last_page) >= 3 and a.first_page != a.last_page \
                and b.first_page != b.last_page:
            return None
        # A single page that is the other's last page ("488" vs "487-488"): some exports keep only the end.
        if (a.first_page == a.last_page and a.first_page == b.last_page) or \
                (b.first_page == b.last_page and b.first_page == a.last_page):
            return None
        return "differ"
    if a.last_page and b.last_page:  # a first page is missing or garbled ("Suppl-29" for "S417-S429")
        return None if a.last_page.endswith(b.last_page) or b.last_page.endswith(a.last_page) else "differ"
    return None


def compare(a: Prepared, b: Prepared, title_sim: float | None = None, link_related: bool = True) -> Comparison:
    """Decide whether two prepared records are the same work (see the module docstring).

    ``link_related``: also treat as duplicates the same paper published twice
    (same long title, same author list, same journal, a year apart at most) and
    an erratum printed in the same issue as its article, which reviews count once,
    even though pages and DOI differ.
    """
    pro: list[str] = []
    con: list[str] = []  # hard evidence against: never merged automatically
    soft: list[str] = []  # weaker evidence against: needs more agreement elsewhere
    strong_id = False
    for name, x, y in (("openalex id", a.openalex_id, b.openalex_id), ("pmid", a.pmid, b.pmid),
                       ("doi", a.doi, b.doi)):
        if x and y:
            if x == y:
                pro.append(f"same {name}")
                strong_id = True
            else:
                con.append(f"different {name}")
    t = None
    if a.title and b.title:
        t = title_similarity(a.title, b.title) if title_sim is None else title_sim
        pro.append(f"title {t:.0f}")
        if t < 80:
            con.append(f"titles differ ({t:.0f})")
        elif a.title_nums and b.title_nums and a.title_nums != b.title_nums:
            con.append("different numbers in titles")
    if a.notice != b.notice:
        con.append("erratum/reply/comment vs other")
    dy = abs(a.year - b.year) if a.year and b.year else None
    if dy == 0:
        pro.append("same year")
    elif dy is not None and dy > 1:
        con.append(f"years {a.year}/{b.year}")
    pages = _pages_relation(a, b)
    if pages == "agree":
        pro.append("same first page")
    elif pages == "differ":
        con.append("different pages")
    volume = None
    if a.volume and b.volume:
        volume = a.volume == b.volume
        (pro if volume else con).append("same volume" if volume else "different volume")
    if a.issue and b.issue:
        (pro if a.issue == b.issue else con).append("same issue" if a.issue == b.issue else "different issue")
    venue = _venue_relation(a, b)
    if venue == "agree":
        pro.append("same venue")
    elif venue == "differ":
        soft.append("different venue")
    if a.kind and b.kind and a.kind != b.kind and {a.kind, b.kind} != {"conference", "chapter"}:
        con.append(f"{a.kind} vs {b.kind}")
    auth = _author_similarity(a, b)
    if auth is not None:
        if auth >= 90:
            pro.append("same authors")
        elif auth < 75:
            soft.append("different authors")
    score = _score(t, auth, dy, venue, pages == "agree", strong_id, len(con) + 0.5 * len(soft))

    def outcome(o: str) -> Comparison:
        return Comparison(o, score, pro, con + soft, 0 if o == DUPLICATE else len(con))

    authors_ok = auth is not None and auth >= 90
    # Same venue, volume, first page and year: the same article, whatever else the fields say. A first
    # page "1" does not count: every article of an article-number journal starts there.
    fingerprint = dy == 0 and venue == "agree" and volume and pages == "agree" and a.first_page != "1"
    if con:
        if len(con) == 1 and con[0].startswith("titles differ") and fingerprint and _same_author_list(a, b) \
                and a.last_page == b.last_page and a.first_page != a.last_page and (strong_id or "same issue" in pro):
            return outcome(DUPLICATE)  # a translated title: same article in every other respect
        if link_related and t is not None and t >= 98 and venue == "agree" and dy is not None and dy <= 1 \
                and a.notice == b.notice and not (a.front_matter or b.front_matter) and len(a.title) >= 30 \
                and len(a.title.split()) >= 5 and len(a.surnames) >= 2 and _same_author_list(a, b) \
                and all(c in _BIBLIOGRAPHIC_CONFLICTS for c in con):
            pro.append("the same paper published twice (same long title, author list and journal)")
            return outcome(DUPLICATE)
        if link_related and t is not None and t >= 95 and a.notice != b.notice \
                and (a.notice | b.notice) == {"erratum"} \
                and authors_ok and venue == "agree" and volume and a.issue and a.issue == b.issue \
                and all(c in _BIBLIOGRAPHIC_CONFLICTS for c in con):
            pro.append("an erratum printed in the same issue as the article")
            return outcome(DUPLICATE)
        # Conflicting evidence never merges automatically; a near-certain match otherwise goes to a human.
        if t is not None and ((t >= 90 and len(con) == 1 and a.notice == b.notice) or (strong_id and t >= 80)):
            return outcome(MAYBE)
        return outcome(DISTINCT)
    details = (venue == "agree") + (pages == "agree") + bool(volume) + ("same issue" in pro) - len(soft)
    if t is None:
        # A record without title: only identifiers plus matching bibliographic details.
        if strong_id and authors_ok and pages == "agree":
            return outcome(DUPLICATE)
        return outcome(MAYBE if (strong_id or fingerprint) and auth != 0 else DISTINCT)
    if strong_id:
        # with a shared identifier a venue named differently (series vs conference) is no evidence against
        authors_differ = "different authors" in soft
        return outcome(DUPLICATE if t >= 90 and (not authors_differ or fingerprint or details >= 2) else MAYBE)
    if len(a.title) < 25 or len(a.title.split()) < 4 or a.front_matter:  # generic: "Editorial", "Reply"
        # Only the full page range in the same venue and volume tells such items apart.
        same_range = venue == "agree" and volume and pages == "agree" and (dy is None or dy <= 1) and \
            (a.last_page == b.last_page and a.first_page != a.last_page or a.issue) and a.issue == b.issue
        ok = t >= 97 and (authors_ok or auth is None) and same_range
        return outcome(DUPLICATE if ok else MAYBE if t >= 90 else DISTINCT)
    if t >= 95 and fingerprint:
        return outcome(DUPLICATE)
    if auth is not None and auth < 75:
        return outcome(MAYBE if t >= 95 else DISTINCT)
    if t >= 97:
        if auth is None:  # authors missing on one side: the details must carry it
            ok = dy == 0 and (details >= 2 or pages == "agree")
        elif authors_ok:  # a year apart: online-first vs print, or a proceedings' year
            ok = (dy == 0 and details >= 0) or (dy == 1 and venue == "agree")
        else:  # authors partly agree (a misspelt or missing name)
            ok = dy == 0 and details >= 2
        return outcome(DUPLICATE if ok else MAYBE)
    if t >= 90:
        ok = dy == 0 and ((authors_ok and details >= 1) or (auth is not None and details >= 3))
        return outcome(DUPLICATE if ok else MAYBE)
    ok = authors_ok and dy == 0 and pages == "agree" and details >= 3
    return outcome(DUPLICATE if ok else MAYBE if authors_ok and dy == 0 else DISTINCT)


def _score(t, auth, dy, venue, pages_agree, strong_id, n_con) -> float:
    """A 0–1 summary for ranking pairs (the decision itself is rule-based, see :func:`compare`)."""
    x = 0.4 * (t if t is not None else 50.0) + 0.2 * (auth if auth is not None else 50.0)
    x = x / 100 + 0.1 * ((1.0 if dy == 0 else 0.0 if dy and dy > 1 else 0.5) + (1.0 if venue == "agree" else 0.5)
                         + (1.0 if pages_agree else 0.5) + (1.0 if strong_id else 0.5))
    return max(0.0, int((x - 0.1 * n_con) * 10000) / 10000)


def compatible(a: Prepared, b: Prepared, link_related: bool = True) -> bool:
    """Whether two records may sit in one group (the anti-chaining check): not distinct, no hard conflict.

    Two records with different first pages in one volume never end up in one group
    through a third record that has no pages.
    """
    c = compare(a, b, link_related=link_related)
    return c.outcome != DISTINCT and c.conflicts == 0


# -- blocking ---------------------------------------------------------------------------------
def _keys(p: Prepared) -> list[str]:
    keys = []
    if p.doi:
        keys.append("d" + p.doi)
    if p.pmid:
        keys.append("p" + p.pmid)
    if p.openalex_id:
        keys.append("o" + p.openalex_id)
    words = p.title.split()
    if len(words) >= 2:
        compact = "".join(words)
        keys.append("t" + compact[:24])
        keys.append("u" + compact[-24:])
        rare = sorted(set(words) - _STOP)
        rare.sort(key=len)  # the three longest words, whatever their order or the typos elsewhere
        if len(rare) >= 2:
            keys.append("w" + " ".join(sorted(rare[-3:])))
    if p.surnames and p.year:
        keys.append(f"a{p.surnames[0]}:{p.year}")
        keys.append(f"a{p.surnames[0]}:{p.year + 1}")
    if p.volume and p.first_page:
        keys.append(f"v{p.volume}:{p.first_page}")
    return keys


def candidate_pairs(prepared: Sequence[Prepared], progress: bool = False) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, that share a blocking key (and, in big blocks, a similar title)."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(prepared):
        for k in _keys(p):
            blocks[k].append(i)
    n_rec = max(len(prepared), 1)
    codes: list[int] = []  # pair (i, j) as i * n + j
    found: list[np.ndarray] = []
    titles = [p.title for p in prepared]
    for key, idx in _progress(blocks.items(), progress, "blocking", len(blocks)):
        n = len(idx)
        if n < 2:
            continue
        if n <= _SMALL_BLOCK or (key[0] in "dpo" and n <= _MAX_ID_BLOCK):
            codes.extend(a * n_rec + b for a, b in combinations(idx, 2))  # idx is ascending
            continue
        if key[0] in "dpo":
            continue  # an identifier shared by very many records is junk
        idx_arr = np.asarray(idx)
        if n > _MAX_BLOCK:  # a very common key: compare neighbours in title order only
            idx_arr = idx_arr[np.argsort([titles[i] for i in idx], kind="stable")]
            for s in range(0, n, _MAX_BLOCK // 2):
                found.append(_similar_in_block(idx_arr[s:s + _MAX_BLOCK], titles, n_rec))
            continue
        found.append(_similar_in_block(idx_arr, titles, n_rec))
    found.append(np.asarray(codes, dtype=np.int64))
    pairs = np.unique(np.concatenate(found))
    return np.stack([pairs // n_rec, pairs % n_rec], axis=1)


def _similar_in_block(idx: np.ndarray, titles: list[str], n_rec: int) -> np.ndarray:
    """Pair codes of a block's records with similar titles (records without a title pair with all)."""
    block_titles = [titles[i] for i in idx]
    m = process.cdist(block_titles, block_titles, scorer=fuzz.ratio, score_cutoff=75, dtype=np.uint8, workers=1)
    empty = np.array([not t for t in block_titles])
    if empty.any():
        m[empty, :] = 1
        m[:, empty] = 1
    a, b = np.nonzero(np.triu(m, 1))
    lo, hi = np.minimum(idx[a], idx[b]), np.maximum(idx[a], idx[b])
    return lo.astype(np.int64) * n_rec + hi


def _progress(it, progress: bool, desc: str, total: int | None = None):
    if not progress:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=desc, total=total, unit="", leave=False, mininterval=0.5)


# -- grouping ---------------------------------------------------------------------------------
@dataclass
class DedupResult:
    """Duplicate groups and pairs found among a list of records (indices into that list)."""

    groups: list[list[int]]                       # groups of 2+ records, canonical (richest) first
    duplicates: list[tuple[int, int, Comparison]]  # pairs merged automatically
    maybe: list[tuple[int, int, Comparison]]       # pairs for a human
    vetoed: list[tuple[int, int, Comparison]]      # shared identifier, but conflicting evidence
    n_candidates: int = 0

    def group_of(self, n: int) -> list[int]:
        """Group index per record (records in no group get their own)."""
        out = list(range(n))
        for g in self.groups:
            for i in g:
                out[i] = g[0]
        return out


def find_duplicates(records: Sequence[Record], progress: bool = False,
                    same: Iterable[tuple[int, int]] = (), different: Iterable[tuple[int, int]] = (),
                    link_related: bool = True, prepared: Sequence[Prepared] | None = None) -> DedupResult:
    """Find duplicate groups among ``records``.

    Parameters
    ----------
    same, different : pairs of indices
        Human decisions: ``same`` pairs are always grouped, ``different`` pairs never.
    link_related : bool
        See :func:`compare`.
    prepared : list of Prepared, optional
        ``prepare(r)`` for every record, if already computed.
    """
    if prepared is None:
        prepared = [prepare(r) for r in _progress(records, progress, "preparing", len(records))]
    pairs = candidate_pairs(prepared, progress)
    titles = [p.title for p in prepared]
    if len(pairs):
        tsim = process.cpdist([titles[i] for i in pairs[:, 0]], [titles[j] for j in pairs[:, 1]],
                              scorer=fuzz.ratio, workers=-1)
    else:
        tsim = np.zeros(0)
    dups, maybe, vetoed = [], [], []
    for (i, j), ts in _progress(zip(pairs.tolist(), tsim.tolist()), progress, "comparing", len(pairs)):
        a, b = prepared[i], prepared[j]
        if ts < 80 and a.title and b.title and not _worth_a_look(a, b):
            continue  # titles too different, and nothing else that could make them one work
        c = compare(a, b, title_sim=ts if ts >= 96 else None, link_related=link_related)
        if c.outcome == DUPLICATE:
            dups.append((i, j, c))
            continue
        if c.outcome == MAYBE:
            maybe.append((i, j, c))
        if any(e in c.evidence_for for e in ("same doi", "same pmid", "same openalex id")):
            vetoed.append((i, j, c))  # a shared identifier overruled by conflicting evidence
    groups, chained = _group(prepared, dups, same, different, link_related)
    root = {x: g[0] for g in groups for x in g}
    maybe = [(i, j, c) for i, j, c in maybe + chained if root.get(i, i) != root.get(j, j)]
    dups = [(i, j, c) for i, j, c in dups if i in root and root[i] == root.get(j)]
    return DedupResult(groups, dups, maybe, vetoed, len(pairs))


def _worth_a_look(a: Prepared, b: Prepared) -> bool:
    """Pairs with dissimilar titles that may still be one work (identifier, translated title, subtitle dropped)."""
    if (a.doi and a.doi == b.doi) or (a.pmid and a.pmid == b.pmid) or \
            (a.openalex_id and a.openalex_id == b.openalex_id) or \
            (a.volume and a.volume == b.volume and a.first_page and a.first_page == b.first_page):
        return True
    short, long_ = (a.title, b.title) if len(a.title) <= len(b.title) else (b.title, a.title)
    return len(short) >= 15 and (long_.startswith(short[:-3]) or long_.endswith(short))


def _group(prepared: Sequence[Prepared], dups, same, different, link_related: bool) -> tuple[list[list[int]], list]:
    """Union-find over the duplicate pairs, best first; two groups join only if all their members are compatible."""
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    def union(ra: int, rb: int) -> None:
        if len(members.get(ra, [ra])) < len(members.get(rb, [rb])):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] = members.get(ra, [ra]) + members.pop(rb, [rb])

    cannot: dict[int, set[int]] = defaultdict(set)
    for i, j in different:
        cannot[i].add(j)
        cannot[j].add(i)
    for i, j in same:
        ri, rj = find(i), find(j)
        if ri != rj:
            union(ri, rj)
    chained = []
    cache: dict[tuple[int, int], bool] = {}

    def ok(x: int, y: int) -> bool:
        if y in cannot.get(x, ()):
            return False
        k = (x, y) if x < y else (y, x)
        if k not in cache:
            cache[k] = compatible(prepared[x], prepared[y], link_related)
        return cache[k]

    for i, j, c in sorted(dups, key=lambda d: -d[2].score):
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        ma, mb = members.get(ri, [ri]), members.get(rj, [rj])
        if all(ok(x, y) for x in ma for y in mb):
            union(ri, rj)
        else:
            chained.append((i, j, Comparison(MAYBE, c.score, c.evidence_for,
                                             c.evidence_against + ["would join incompatible records"])))
    groups = []
    for r, ms in members.items():
        if len(ms) > 1:
            ms = sorted(ms, key=lambda x: (-prepared[x].n_fields, x))
            groups.append(ms)
    groups.sort(key=lambda g: g[0])
    return groups, chained


# -- merging ----------------------------------------------------------------------------------
_MERGE_FIELDS = ("title", "abstract", "year", "venue", "volume", "issue", "pages", "type", "language", "doi",
                 "openalex_id", "pmid", "isbn", "publisher", "url", "cited_by_count")


def merge(records: Sequence[Record]) -> Record:
    """One record from a group, canonical first: its values, gaps filled from the others.

    Longest abstract and author list win; lists (references, concepts, keywords) are
    united; every source of every member is kept.
    """
    base = records[0]
    out = Record.from_dict(base.to_dict())
    for r in records[1:]:
        for f in _MERGE_FIELDS:
            if getattr(out, f) in (None, "", 0) and getattr(r, f) not in (None, ""):
                setattr(out, f, getattr(r, f))
        if len(r.abstract) > len(out.abstract):
            out.abstract = r.abstract
        if len(r.authors) > len(out.authors) or (len(r.authors) == len(out.authors) and
                                                 sum(bool(a.openalex_id) for a in r.authors) >
                                                 sum(bool(a.openalex_id) for a in out.authors)):
            out.authors = r.authors
        for f in ("referenced_works", "concepts", "topics", "keywords"):
            have = getattr(out, f)
            have.extend(x for x in getattr(r, f) if x not in have)
        out.sources.extend(s for s in r.sources if s not in out.sources)
    return out


# -- the review stage -------------------------------------------------------------------------
SETTINGS = {"link_related": bool}


def settings(protocol) -> dict[str, Any]:
    """The protocol's ``[dedup]`` settings, checked."""
    from .protocol import ProtocolError

    raw = dict((getattr(protocol, "settings", None) or {}).get("dedup") or {})
    where = f"{protocol.path}: " if getattr(protocol, "path", None) else ""
    for key, value in raw.items():
        if key not in SETTINGS:
            raise ProtocolError(f"{where}[dedup] {key}: unknown setting; expected one of {', '.join(SETTINGS)}")
        if not isinstance(value, SETTINGS[key]):
            raise ProtocolError(f"{where}[dedup] {key}: expected {SETTINGS[key].__name__}, got {value!r}")
    return {"link_related": raw.get("link_related", True)}


def run(store, protocol=None, progress: bool = True) -> dict[str, Any]:
    """Deduplicate the store's records (the ``dedup`` stage of ``review run``).

    Earlier groups and human decisions in ``dedup_pairs`` are kept (``same`` joins,
    ``different`` separates). New duplicates go to ``duplicates`` (record →
    canonical), the canonical record gets the merged metadata, new "maybe" pairs go
    to ``dedup_pairs``; every decision is an event (``dedup``/``duplicate``,
    ``maybe``, ``vetoed``) and the run's counts one more (``dedup``/``run``).
    """
    from .store import now

    opts = settings(protocol) if protocol is not None else {"link_related": True}
    records = list(store.records())
    ids = [r.id for r in records]
    pos = {rid: i for i, rid in enumerate(ids)}
    existing = dict(store.query("SELECT record_id, canonical_id FROM duplicates"))
    decided = store.query("SELECT a, b, status FROM dedup_pairs WHERE status IN ('same','different')")
    pairs_of = lambda rows: [(pos[a], pos[b]) for a, b in rows if a in pos and b in pos]  # noqa: E731
    same = pairs_of(existing.items()) + pairs_of((r["a"], r["b"]) for r in decided if r["status"] == "same")
    different = pairs_of((r["a"], r["b"]) for r in decided if r["status"] == "different")
    res = find_duplicates(records, progress=progress, same=same, different=different, **opts)
    phash = getattr(protocol, "hash", None)
    run_id = store.start_run("dedup", "dedup", query=opts, protocol_hash=phash)
    why = {}
    for i, j, c in res.duplicates:
        why.setdefault(i, c)
        why.setdefault(j, c)
    known = {(r["a"], r["b"]) for r in store.query("SELECT a, b FROM dedup_pairs")}
    n_new = n_maybe = 0
    ts = now()
    with store.transaction() as conn:
        for g in res.groups:
            # an existing canonical id stays canonical, so ids seen by reviewers do not move
            canon_i = next((pos[existing[ids[x]]] for x in g if existing.get(ids[x]) in pos), g[0])
            canon = ids[canon_i]
            for x in g:
                if x == canon_i or existing.get(ids[x]) == canon:
                    continue
                c = why.get(x)
                conn.execute("INSERT OR REPLACE INTO duplicates(record_id, canonical_id, score, method, run_id, ts)"
                             " VALUES (?,?,?,?,?,?)", (ids[x], canon, c.score if c else None,
                                                       "auto" if c else "group", run_id, ts))
                store.log("dedup", "duplicate", record_id=ids[x], run_id=run_id, protocol_hash=phash,
                          data={"canonical_id": canon, "score": c.score if c else None,
                                "reasons": c.reasons if c else "joined through its group"})
                n_new += 1
            store.update_record(merge([records[canon_i]] + [records[x] for x in g if x != canon_i]))
        for i, j, c in res.maybe:
            a, b = sorted((ids[i], ids[j]))
            if (a, b) in known:
                continue
            known.add((a, b))
            conn.execute("INSERT INTO dedup_pairs(a, b, score, status, ts, info) VALUES (?,?,?,?,?,?)",
                         (a, b, c.score, "maybe", ts, c.reasons))
            store.log("dedup", "maybe", record_id=a, run_id=run_id, protocol_hash=phash,
                      data={"a": a, "b": b, "score": c.score, "reasons": c.reasons})
            n_maybe += 1
        for i, j, c in res.vetoed:
            store.log("dedup", "vetoed", record_id=ids[i], run_id=run_id, protocol_hash=phash,
                      data={"a": ids[i], "b": ids[j], "reasons": c.reasons})
    unique = store.count_records(unique=True)
    summary = {"records": len(records), "candidate_pairs": res.n_candidates, "groups": len(res.groups),
               "new_duplicates": n_new, "unique": unique, "duplicates": len(records) - unique,
               "new_maybe_pairs": n_maybe, "maybe_pairs_open": len(maybe_pairs(store, with_records=False))}
    store.log("dedup", "run", run_id=run_id, protocol_hash=phash, data=summary)
    store.finish_run(run_id, n_records=len(records), info=summary)
    return summary


# -- the review queue -------------------------------------------------------------------------
def maybe_pairs(store, with_records: bool = True) -> list[dict[str, Any]]:
    """Open "maybe" pairs, best score first: ``{a, b, score, reasons[, record_a, record_b]}``."""
    rows = store.query("SELECT a, b, score, info FROM dedup_pairs WHERE status='maybe' ORDER BY score DESC, a, b")
    out = []
    for r in rows:
        item = {"a": r["a"], "b": r["b"], "score": r["score"], "reasons": r["info"] or ""}
        if with_records:
            item["record_a"], item["record_b"] = store.record(r["a"]), store.record(r["b"])
        out.append(item)
    return out


def resolve_pair(store, a: str, b: str, same: bool, reviewer: str) -> None:
    """Record a human decision on a pair; ``same=True`` also marks the duplicate at once.

    The record with the more complete metadata stays canonical; its group absorbs
    the other record's group.
    """
    from .store import now

    if not reviewer:
        raise ValueError("resolve_pair needs the reviewer's name")
    ra, rb = store.record(a), store.record(b)
    for rid, rec in ((a, ra), (b, rb)):
        if rec is None:
            raise ValueError(f"record {rid!r} is not in the store")
    a, b = sorted((a, b))
    status = "same" if same else "different"
    ts = now()
    with store.transaction() as conn:
        conn.execute("INSERT INTO dedup_pairs(a, b, score, status, decided_by, ts, info) VALUES (?,?,?,?,?,?,?)"
                     " ON CONFLICT(a, b) DO UPDATE SET status=excluded.status, decided_by=excluded.decided_by,"
                     " ts=excluded.ts", (a, b, None, status, reviewer, ts, "human"))
        store.log("dedup", "pair_resolved", record_id=a, actor=reviewer, data={"a": a, "b": b, "decision": status})
        if not same:
            return
        canon = dict(store.query("SELECT record_id, canonical_id FROM duplicates"))
        ca, cb = canon.get(a, a), canon.get(b, b)
        if ca == cb:
            return
        keep, drop = sorted((ca, cb), key=lambda rid: (-prepare(store.record(rid)).n_fields, rid))
        moved = [rid for rid, c in canon.items() if c == drop] + [drop]
        for rid in moved:
            conn.execute("INSERT OR REPLACE INTO duplicates(record_id, canonical_id, score, method, ts)"
                         " VALUES (?,?,?,?,?)", (rid, keep, None, f"human:{reviewer}", ts))
            store.log("dedup", "duplicate", record_id=rid, actor=reviewer,
                      data={"canonical_id": keep, "reasons": "reviewer decision"})
        store.update_record(merge([store.record(keep), store.record(drop)]))


def review_queue(store, reviewer: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> dict[str, int]:
    """Terminal review of the "maybe" pairs: answer ``s`` (same), ``d`` (different), ``k`` (skip), ``q`` (quit).

    Reads answers line by line from ``stdin``, so it can be scripted and tested.
    """
    counts = {"same": 0, "different": 0, "skipped": 0}
    pairs = maybe_pairs(store)
    for n, p in enumerate(pairs, 1):
        print(f"\n[{n}/{len(pairs)}] score {p['score'] if p['score'] is not None else '-'}  ({p['reasons']})",
              file=stdout)
        for label, rec in (("A", p["record_a"]), ("B", p["record_b"])):
            print(f"  {label} {rec.id}: {_describe(rec)}", file=stdout)
        while True:
            print("same / different / skip / quit? [s/d/k/q] ", end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                return counts
            ans = line.strip().lower()[:1]
            if ans in ("s", "d"):
                resolve_pair(store, p["a"], p["b"], same=ans == "s", reviewer=reviewer)
                counts["same" if ans == "s" else "different"] += 1
                break
            if ans == "k":
                counts["skipped"] += 1
                break
            if ans == "q":
                return counts
            print("  answer s, d, k or q", file=stdout)
    return counts


def _describe(rec: Record) -> str:
    authors = "; ".join(a.name for a in rec.authors[:3]) + (" et al." if len(rec.authors) > 3 else "")
    bits = [rec.title or "(no title)", authors, str(rec.year or ""), rec.venue,
            " ".join(x for x in (rec.volume and f"vol {rec.volume}", rec.issue and f"({rec.issue})",
                                 rec.pages and f"p {rec.pages}") if x), rec.doi and f"doi {rec.doi}"]
    return " | ".join(b for b in bits if b)


# -- file mode --------------------------------------------------------------------------------
RECORD_COLUMNS = ("ID", "title", "author", "year", "journal", "volume", "number", "pages", "doi", "pmid",
                  "openalex_id", "ENTRYTYPE", "publisher", "isbn", "url", "abstract", "merged_ids")


def dedup_files(paths: Sequence[str | Path], out_dir: str | Path, format: str | None = None,
                lenient: bool = False, columns: dict[str, str] | None = None, encoding: str = "utf-8",
                progress: bool = False) -> dict[str, Any]:
    """Deduplicate files without a review store.

    Writes ``out_dir/duplicate_groups.csv`` (``record_id,group_id`` for every input
    record; ``group_id`` is the record_id of the group's kept record),
    ``out_dir/maybe_pairs.csv`` and ``out_dir/records.csv`` (the deduplicated records,
    merged). ``record_id`` is the input's own id (CSV ``ID``, BibTeX key, RIS ``ID``
    or position, OpenAlex id); with several files, ids used in more than one file are
    prefixed ``file name:``.
    """
    from .importers import read_file

    results = [read_file(p, format, lenient, columns, encoding) for p in paths]
    records: list[Record] = []
    keys: list[str] = []
    key_files: dict[str, set[str]] = defaultdict(set)
    for res in results:
        for k in res.keys:
            key_files[k].add(res.path)
    for res in results:
        records.extend(res.records)
        keys.extend(f"{Path(res.path).name}:{k}" if len(key_files[k]) > 1 else k for k in res.keys)
    res = find_duplicates(records, progress=progress)
    group = res.group_of(len(records))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "duplicate_groups.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id", "group_id"])
        for i, k in enumerate(keys):
            w.writerow([k, keys[group[i]]])
    with open(out / "maybe_pairs.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id_a", "record_id_b", "score", "reasons", "title_a", "title_b"])
        for i, j, c in sorted(res.maybe, key=lambda m: -m[2].score):
            w.writerow([keys[i], keys[j], c.score, c.reasons, records[i].title, records[j].title])
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group):
        members[g].append(i)
    with open(out / "records.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(RECORD_COLUMNS)
        for g, ms in members.items():
            rec = merge([records[g]] + [records[x] for x in ms if x != g])
            w.writerow([keys[g], rec.title, " and ".join(a.name for a in rec.authors), rec.year or "", rec.venue,
                        rec.volume, rec.issue, rec.pages, rec.doi or "", rec.pmid or "", rec.openalex_id or "",
                        rec.type, rec.publisher, rec.isbn, rec.url, rec.abstract, ";".join(keys[x] for x in ms)])
    skipped = [s for r in results for s in r.skipped]
    return {"records": len(records), "unique": len(members), "groups": len(res.groups),
            "duplicates": len(records) - len(members), "maybe_pairs": len(res.maybe), "skipped": len(skipped),
            "skipped_entries": skipped, "out": str(out)}
