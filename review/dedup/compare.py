"""Pairwise comparison of two prepared records: similarities, conflicts and a verdict."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from review.dedup.prepare import _STOP, _VENUE_STOP, DISTINCT, DUPLICATE, MAYBE, Prepared

#: Settings chosen by leave-one-set-out over the labelled sets (``benchmarks/dedup.py --loso``):
#: ``version_years``: how many years apart the same paper (same long title, author list and journal) may be
#: published twice and still count once; ``title_band``: the lowest title similarity at which agreeing
#: authors, year and two bibliographic details make a pair a duplicate.
#: ``year_by_evidence``: the same journal, volume, pages, authors and title with another year is one work
#: (a wrong year), not two.
PARAMS = {"version_years": 1, "title_band": 90.0, "year_by_evidence": False}
# Longest page range read as one article when the titles differ in a number; a meeting supplement's abstracts
# often all carry the supplement's whole range, which is longer.
MAX_ARTICLE_PAGES = 50


# -- comparing two records --------------------------------------------------------------------
def _abbreviates_word(s: str, w: str) -> bool:
    """``s`` abbreviates ``w``: a prefix ("respir"), or, from 3 letters, its letters in order from the
    first ("natl" = national, "jpn" = japanese, "dtsch" = deutsche)."""
    if w.startswith(s):
        return True
    if len(s) < 3 or s[0] != w[0]:
        return False
    it = iter(w)
    return all(c in it for c in s)


def _abbreviates(short: tuple, long_: tuple) -> bool:
    """Whether ``short`` abbreviates ``long_`` word by word ("Nat Rev Nephrol", "Proc Natl Acad Sci U S").

    Every word of the long form must be matched in order by an abbreviation, except generic words
    ("journal", "proceedings"), so "J Med" does not abbreviate "Journal of Internal Medicine". From
    four abbreviated words on, the long form may go on ("… of the United States of America").
    """
    if len(short) < 2:
        return False
    i = 0
    for w in long_:
        if i < len(short) and _abbreviates_word(short[i], w):
            i += 1
        elif i == len(short) and i >= 4:
            return True
        elif w not in _VENUE_STOP:
            return False
    return i == len(short)


def _venue_relation(pa: Prepared, pb: Prepared) -> str | None:
    """``agree`` / ``differ`` / None (unknown). An abbreviation or acronym agrees with its full form."""
    a, b = pa.venue, pb.venue
    if not a or not b:
        return None
    if pa.venue_key and pa.venue_key == pb.venue_key:  # spelling or transliteration ("Paediatr"/"Pediatr")
        return "agree"
    # main titles ("Nephron - Clinical Practice" → "Nephron"), then whole names ("tripleC: Communication, …")
    for x, y in ((a, b), (pa.venue_full, pb.venue_full)):
        if not x or not y:
            continue
        # word sets: one may hold the other's words and more, but a one-word venue must match as a whole
        # ("Cancer" is not "Cancer Research")
        score = fuzz.token_set_ratio if min(len(x), len(y)) >= 2 else fuzz.token_sort_ratio
        if x == y or score(" ".join(x), " ".join(y)) >= 90:
            return "agree"
    # an abbreviation of the main title or of the whole name ("Clin Pharmacol Adv Appl" = "Clinical
    # Pharmacology: Advances and Applications")
    for fa, fb in ((pa.venue_words, pb.venue_words), (pa.venue_words, pb.venue_full),
                   (pa.venue_full, pb.venue_words)):
        if _abbreviates(fa, fb) if len(" ".join(fa)) <= len(" ".join(fb)) else _abbreviates(fb, fa):
            return "agree"
    # "ICIS 2018 proceedings" vs "International Conference on Information Systems"
    if (pb.venue_acronym and len(pb.venue_acronym) >= 3 and pb.venue_acronym in a) or \
            (pa.venue_acronym and len(pa.venue_acronym) >= 3 and pa.venue_acronym in b):
        return "agree"
    if len(a) == 1 or len(b) == 1:
        # "AMCIS" vs "Americas Conference on Information Systems": may be an acronym we cannot resolve; a long
        # one-word name is a word, which the other name must contain ("Cytometry" in "Communications in
        # Clinical Cytometry", "Gastroenterology" in "Gastroenterol Clin North Am"), or it is another journal.
        w, other = (a[0], pb.venue_full) if len(a) == 1 else (b[0], pa.venue_full)
        if len(w) >= 8 and not any(x.startswith(w[:4]) for x in other):
            return "differ"
        return None
    return "differ"


def _author_similarity(a: Prepared, b: Prepared) -> float | None:
    """0–100: how well the author names agree; order, a missing tail and swapped name parts tolerated.

    None if either side has no authors. At most 75 if the first authors differ.
    """
    if not a.names or not b.names:
        return None
    s = fuzz.token_set_ratio(a.authors, b.authors)
    if s < 90 and a.initials and b.initials:  # "Zhou, Y; Zhong, NS" vs "Zhou, Yumin; Zhong, Nan-Shan", cut short
        k = min(len(a.initials), len(b.initials))
        if k >= 2 or len(a.initials) == len(b.initials):
            s = max(s, fuzz.ratio(" ".join(a.initials[:k]), " ".join(b.initials[:k])))
    if s < 90 and _list_cut_short(a, b):
        s = 90.0
    fa, fb = set(a.names[0]), set(b.names[0])
    first = bool(fa & fb) or any(fuzz.ratio(x, y) >= 80 for x in fa for y in fb if len(x) > 3 and len(y) > 3) \
        or any(fa & set(n) for n in b.names[1:3]) or any(fb & set(n) for n in a.names[1:3])
    return s if first else min(s, 75.0)


def _list_cut_short(a: Prepared, b: Prepared) -> bool:
    """One list is the other's first one to three names ("Huang, Ni; et al." vs "Huang, N; Hong, K; Burtch,
    G"): the same surnames in order, and the first author's initial where both have one."""
    k = min(len(a.surnames), len(b.surnames))
    if not 1 <= k <= 3 or len(a.surnames) == len(b.surnames) or a.surnames[:k] != b.surnames[:k]:
        return False
    ia, ib = a.initials[0], b.initials[0]
    return ia == ib or ia == a.surnames[0] or ib == b.surnames[0]  # no given name on one side


def _same_author_list(a: Prepared, b: Prepared) -> bool:
    """The same surnames in the same order (first names and initials may differ, a typo or one name of many
    may be missing)."""
    if not (a.surnames and b.surnames):
        return False
    if fuzz.ratio(" ".join(a.surnames), " ".join(b.surnames)) >= 90:
        return True
    k = min(len(a.surnames), len(b.surnames))  # a list cut short ("et al."), from three names on
    return k >= 3 and len(a.surnames) != len(b.surnames) and \
        fuzz.ratio(" ".join(a.surnames[:k]), " ".join(b.surnames[:k])) >= 90


def _title_sim(a: Prepared, b: Prepared) -> float:
    """:func:`title_similarity`, the best over each record's alternative titles (translations, halves)."""
    t = title_similarity(a.title, b.title)
    if t < 97 and (a.alt_titles or b.alt_titles):
        t = max(t, max(title_similarity(x, y) for x in (a.title,) + a.alt_titles for y in (b.title,) + b.alt_titles))
    return t


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


def _content_words(title: str) -> int:
    return sum(w not in _STOP for w in title.split())


def _article_number(page: str) -> bool:
    """e12724, a1754 (BMJ), 106482 (Elsevier): an article number, not a page ("S417" is a page)."""
    return (page[0] != "s" and page[0].isalpha() and page[1:].isdigit() and len(page) >= 4) \
        or (page.isdigit() and len(page) >= 5)


_PROCEEDINGS = frozenset({"conference", "chapter"})
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
    same_review = bool(a.review_id) and a.review_id == b.review_id
    if a.review_id and b.review_id and not same_review:
        con.append("different Cochrane review")
    if same_review and "different doi" in con:
        con.remove("different doi")  # 14651858.CD002991.pub2 vs .pub3: versions of one review
    t = None
    if a.title and b.title:
        t = _title_sim(a, b) if title_sim is None else title_sim
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
    if venue == "differ" and {a.kind, b.kind} == _PROCEEDINGS and a.volume and a.volume == b.volume \
            and a.first_page not in ("", "1") and a.first_page == b.first_page and a.last_page == b.last_page:
        # a chapter in a series ("Communications in Computer and Information Science", vol. 490, pp. 183-190) vs the
        # same paper under its conference's name, in the same volume and pages; without them a chapter may be a
        # conference paper republished or extended, and two conference papers a workshop's and the main meeting's
        venue = None
    if venue == "agree":
        pro.append("same venue")
    elif venue == "differ":
        soft.append("different venue")
    if a.kind and b.kind and a.kind != b.kind and {a.kind, b.kind} != _PROCEEDINGS:
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
    same_place = volume and pages == "agree" and a.first_page != "1"
    fingerprint = dy == 0 and venue == "agree" and same_place
    full_range = pages == "agree" and a.last_page == b.last_page and a.first_page != a.last_page  # "703-712" both
    if con:
        if same_review and t is not None and t >= 90 and a.notice == b.notice and \
                all(c in _BIBLIOGRAPHIC_CONFLICTS or c.startswith("years ") for c in con):
            pro.append("versions of the same Cochrane review")
            return outcome(DUPLICATE)
        if PARAMS["year_by_evidence"] and t is not None and t >= 95 and venue == "agree" and volume \
                and pages == "agree" and a.first_page != "1" \
                and not _article_number(a.first_page) and con == [f"years {a.year}/{b.year}"] \
                and a.notice == b.notice and authors_ok:
            pro.append("same journal, volume and pages: a wrong year")
            return outcome(DUPLICATE)
        # The same journal, volume, issue, page range, year and authors: one article, whose DOI is an alias
        # (Springer's 10.1007/BF… and 10.1007/s…, a SICI cut short), or, with a shared DOI or PMID, whose
        # title lost a number ("(Kir2.1 and Kir2.2)" vs "(Kir2.2)"). Not with link_related off (strict mode).
        if len(con) == 1 and ((con[0] == "different doi" and link_related)
                              or (con[0] == "different numbers in titles" and strong_id)) \
                and t is not None and t >= 95 and fingerprint and not soft and authors_ok \
                and a.issue == b.issue != "" and full_range \
                and a.notice == b.notice and not (a.front_matter or b.front_matter):
            pro.append("same journal, volume, issue and page range")
            return outcome(DUPLICATE)
        # The same journal, volume, page range (a few pages, not a supplement's), year and authors: one article
        # with a number mistyped inside a word of one title ("p6INK4a" for "p16(INK4a)"); not a number standing
        # alone ("type 1" / "type 2", "week 16" / "week 52", "(1)" / "(2)", "1st" / "2nd"), nor parts of a series.
        if link_related and len(con) == 1 and con[0] == "different numbers in titles" and t is not None \
                and a.title_labels == b.title_labels and _numbers_inside_words(a.title, b.title) and t >= 95 \
                and fingerprint and not soft and authors_ok and full_range and a.issue == b.issue \
                and 0 < _page_count(a) <= MAX_ARTICLE_PAGES and a.notice == b.notice \
                and not (a.front_matter or b.front_matter):
            pro.append("same journal, volume, page range, year and authors: a number mistyped in a title")
            return outcome(DUPLICATE)
        if strong_id and len(con) == 1 and con[0] in ("different volume", "different issue") and t is not None \
                and t >= 97 and dy == 0 and authors_ok and not soft and full_range and a.notice == b.notice \
                and not (a.front_matter or b.front_matter):
            # A shared DOI or PMID, title, authors, year and page range: a volume or issue number is a slip (a
            # meeting abstract's record given the article's DOI and pages, "26" for "60")
            pro.append("same identifier, title, authors, year and page range")
            return outcome(DUPLICATE)
        if len(con) == 1 and con[0].startswith("titles differ") and fingerprint and _same_author_list(a, b) \
                and full_range and (strong_id or "same issue" in pro):
            return outcome(DUPLICATE)  # a translated title: same article in every other respect
        if link_related and t is not None and t >= 98 and venue == "agree" and dy is not None \
                and dy <= PARAMS["version_years"] \
                and a.notice == b.notice and not (a.front_matter or b.front_matter) and len(a.title) >= 30 \
                and len(a.title.split()) >= 5 and len(a.surnames) >= 2 and _same_author_list(a, b) \
                and all(c in _BIBLIOGRAPHIC_CONFLICTS or c.startswith("years ") for c in con):
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
    # No year on one side ("n.d.", in press, a field an export left out): the year says nothing either way, and
    # the same venue, volume, first page and authors carry it.
    if dy is None and t >= 95 and venue == "agree" and same_place and authors_ok:
        pro.append("same venue, volume, first page and authors; a year missing")
        return outcome(DUPLICATE)
    # With title, authors, volume and the whole page range, a venue named otherwise is a book's title vs its
    # series' ("Annals of the New York Academy of Sciences", vol. 1109, pp. 93-105 in "Autoimmunity, Part A"); not
    # two conference papers, a workshop's and the main meeting's (see the series exception above). A venue against
    # asks for the title band of a year apart (97), not that of the same venue (95).
    if dy is None and t >= 97 and authors_ok and venue == "differ" and same_place and full_range \
            and not a.kind == b.kind == "conference":
        pro.append("same title, authors, volume and page range; a year missing")
        return outcome(DUPLICATE)
    # Online first vs print: the same volume and first page a year apart (not an article number, which
    # says nothing about the year), in the same journal or by the same authors.
    if dy == 1 and same_place and venue != "differ" and not _article_number(a.first_page) \
            and ((t >= 95 and (venue == "agree" or authors_ok or _same_author_list(a, b))) or (t >= 90 and authors_ok)):
        pro.append("same volume and first page, a year apart")
        return outcome(DUPLICATE)
    if auth is not None and auth < 75:
        return outcome(MAYBE if t >= 95 else DISTINCT)
    if t >= 97:
        if auth is None:  # authors missing on one side: the details must carry it
            ok = (dy == 0 and (details >= 2 or pages == "agree")) or (dy is None and details >= 3)
        elif authors_ok:  # a year apart: online-first vs print, or a proceedings' year
            # (a title of a few words, "Gateways to clinical trials", may be a column in every issue: a year
            # apart it needs the same volume and pages)
            # (a proceedings paper dated by its meeting in one database and by its volume in another: the
            # same long title, authors and page range a year apart, the venue missing on a side; not pages
            # from 1, which every report, yearly edition and per-paper numbered item has)
            # (no year on one side: two of venue, volume, pages and issue, the volume or the pages among them, as an
            # issue number recurs every year; or an article in press beside it printed (:func:`_in_press`); or,
            # when neither record has a volume or pages (conference papers numbered from 1, as AIS/ICIS's are), the
            # same venue and a title of five content words or more with nothing against. Otherwise a volume or pages
            # on one side only is what tells a meeting abstract (a supplement, a few pages or an abstract number)
            # from its paper in press. Title and authors alone are not enough: a thesis and its article, a preprint
            # and its paper share them too)
            ok = (dy == 0 and details >= 0) or (dy is None and details >= 2 and (bool(volume) or pages == "agree")) \
                or (venue == "agree" and _in_press(a, b)) \
                or (dy is None and venue == "agree" and not soft and _content_words(a.title) >= 5
                    and not (a.volume or b.volume) and {a.first_page, b.first_page} <= {"", "1"}) \
                or (dy == 1 and venue == "agree" and (_content_words(a.title) >= 5 or same_place)) \
                or (link_related and dy == 1 and venue is None and _content_words(a.title) >= 5 and full_range
                    and a.first_page != "1" and not _article_number(a.first_page))
        else:  # authors partly agree (a misspelt or missing name); no year: venue, volume and pages
            ok = (dy == 0 and details >= 2) or (dy is None and details >= 3)
        return outcome(DUPLICATE if ok else MAYBE)
    if t >= 90:
        ok = (dy == 0 and ((authors_ok and details >= 1) or (auth is not None and details >= 3))) \
            or (dy is None and authors_ok and (details >= 3 or (details >= 2 and full_range and a.first_page != "1")))
        return outcome(DUPLICATE if ok else MAYBE)
    if t >= PARAMS["title_band"]:  # typos in a short title, a subtitle written differently
        ok = dy == 0 and authors_ok and details >= 2 and pages == "agree"
        return outcome(DUPLICATE if ok else MAYBE)
    ok = authors_ok and dy == 0 and pages == "agree" and details >= 3
    return outcome(DUPLICATE if ok else MAYBE if authors_ok and dy == 0 else DISTINCT)


_ORDINAL_DIGITS = re.compile(r"\d+(?:st|nd|rd|th|e|er|te|de|ste)")  # 1st, 2nd, 3e, 2te


def _in_press(a: Prepared, b: Prepared) -> bool:
    """One record is an article in press (no year, volume, issue or pages) and the other the same article as a
    regular issue prints it: a year, a volume and a page range of a few pages in numbers only, not from page 1.
    The titles must be the same once folded ("The role of …" vs "Role of …" may be a meeting abstract whose
    fields an export left out) and so must the author list (two names at least)."""
    for bare, full in ((a, b), (b, a)):
        if not (bare.year or bare.volume or bare.issue or bare.first_page or bare.last_page) and full.year \
                and full.plain and full.volume and full.first_page not in ("0", "1") \
                and 2 <= _page_count(full) <= MAX_ARTICLE_PAGES and a.title == b.title \
                and _content_words(a.title) >= 5 and len(a.surnames) >= 2 and _same_author_list(a, b):
            return True
    return False


def _numbers_inside_words(a: str, b: str) -> bool:
    """Whether every word with a digit that one folded title has and the other lacks also has letters, and is not
    an ordinal ("p16" vs "p6ink4a": yes; "1" vs "2", "1st" vs "2nd": no)."""
    diff = {w for w in a.split() if any(c.isdigit() for c in w)} ^ {w for w in b.split() if any(c.isdigit() for c in w)}
    return bool(diff) and all(any(c.isalpha() for c in w) and not _ORDINAL_DIGITS.fullmatch(w) for w in diff)


def _page_count(a: Prepared) -> int:
    """Pages in a numeric range ("1099-1103": 5); a large number when they cannot be counted."""
    if a.first_page.isdigit() and a.last_page.isdigit():
        return int(a.last_page) - int(a.first_page) + 1
    return 10**6


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
