"""BibTeX, RIS and CSL-JSON from records, with stable citation keys."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from review.core.records import Record
from review.core.store import Store
from review.core.text import fold

SUFFIXES = {"bibtex": ".bib", "ris": ".ris", "csljson": ".json"}
KEYS_ARTIFACT = "citation_keys"




# -- types ----------------------------------------------------------------------------------------------
# OpenAlex types, current and 2023 (Crossref) schema → (BibTeX, RIS, CSL).
_TYPES: dict[str, tuple[str, str, str]] = {}
for _names, _t in [
    (("article", "journal-article", "review", "letter", "editorial", "erratum", "retraction"),
     ("article", "JOUR", "article-journal")),
    (("book", "monograph", "edited-book", "reference-book"), ("book", "BOOK", "book")),
    (("book-chapter", "book-part", "book-section", "reference-entry"), ("incollection", "CHAP", "chapter")),
    (("proceedings-article",), ("inproceedings", "CPAPER", "paper-conference")),
    (("report",), ("techreport", "RPRT", "report")),
    (("dissertation",), ("phdthesis", "THES", "thesis")),
    (("preprint", "posted-content"), ("misc", "GEN", "article")),
    (("dataset",), ("misc", "DATA", "dataset")),
]:
    for _n in _names:
        _TYPES[_n] = _t
_DEFAULT_TYPE = ("misc", "GEN", "document")


def entry_type(record_type: str, fmt: str = "bibtex") -> str:
    """The BibTeX (or ``fmt="ris"`` / ``"csljson"``) type for an OpenAlex work type."""
    t = _TYPES.get((record_type or "").strip().lower(), _DEFAULT_TYPE)
    return t[{"bibtex": 0, "ris": 1, "csljson": 2}[fmt]]


# -- names ------------------------------------------------------------------------------------------------
_PARTICLES = {"van", "von", "der", "den", "de", "da", "di", "del", "della", "des", "du", "la", "le", "ter", "ten",
              "dos", "das", "do", "af", "zu", "zur", "bin", "ibn", "al", "el", "dei", "degli", "vom", "het", "'t"}
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_ORG_WORDS = re.compile(r"\b(organi[sz]ation|group|consortium|committee|association|collaboration|institute|"
                        r"society|network|council|agency|ministry|department|university|centre|center|"
                        r"investigators|team|foundation|office)\b", re.IGNORECASE)


_VANCOUVER_INITIALS = re.compile(r"^(?:[A-Z]{1,3}|(?:[A-Z]\.){1,3})$")


def split_name(name: str) -> dict[str, str]:
    """A person's name as ``{"family", "given", "suffix"}`` (or ``{"literal"}`` for an organisation).

    ``"Jan van der Valk"`` → family ``"van der Valk"``; ``"Valk, J. van der"`` keeps its comma
    split; ``"Martin Luther King Jr."`` → suffix ``"Jr."``.
    """
    name = " ".join((name or "").split())
    if not name:
        return {"literal": ""}
    if _ORG_WORDS.search(name) and "," not in name:
        return {"literal": name}
    if "," in name:
        parts = [p.strip() for p in name.split(",")]
        if len(parts) >= 3:
            return {"family": parts[0], "suffix": parts[1], "given": ", ".join(parts[2:])}
        if parts[1].lower() in _NAME_SUFFIXES:
            return _with_suffix(split_name(parts[0]), parts[1])
        return {"family": parts[0], "given": parts[1]}
    tokens = name.split(" ")
    if len(tokens) >= 2 and _VANCOUVER_INITIALS.match(tokens[-1]) and not _VANCOUVER_INITIALS.match(tokens[0]):
        # "Sauvé B", "van der Berg JH" (PubMed/Vancouver): surname first, initials last
        return {"family": " ".join(tokens[:-1]), "given": ". ".join(tokens[-1].replace(".", "")) + "."}
    suffix = ""
    if len(tokens) > 2 and tokens[-1].lower().strip(",") in _NAME_SUFFIXES:
        suffix = tokens.pop().strip(",")
    i = len(tokens) - 1
    while i > 1 and tokens[i - 1] in _PARTICLES:  # lower-case particles only ("Van Dijk" stays given+family)
        i -= 1
    out = {"family": " ".join(tokens[i:]), "given": " ".join(tokens[:i])}
    return _with_suffix(out, suffix) if suffix else out


def _with_suffix(parts: dict[str, str], suffix: str) -> dict[str, str]:
    return {**parts, "suffix": suffix}


def _family_or_literal(parts: dict[str, str]) -> str:
    return parts.get("family") or parts.get("literal", "")


# -- citation keys ----------------------------------------------------------------------------------------
_STOPWORDS = set(
    "a an the of on in for and or to with from at by as is are was were be its it into about via over under "
    "between among through than that this these those what which who how why when do does can should "
    # Danish / Norwegian / Swedish / German / French / Spanish / Dutch articles and prepositions
    "en et ett den det de og och i pa paa om af av til till med for fra fran "
    "der die das dem des ein eine einer eines und zur zum im am vom fur mit uber auf "
    "le la les un une du des et au aux el los las y del een het van voor".split())


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


def key_base(rec: Record) -> str:
    """Key before the collision suffix: ``surname`` + ``year`` (or ``nd``) + first significant title word."""
    surname = _ascii(_family_or_literal(split_name(rec.first_author)).split(" (")[0])[:24] or "anon"
    year = str(rec.year) if rec.year else "nd"
    word = ""
    for w in clean(rec.title).split():  # "Co-production of …" → "coproduction"
        w = _ascii(w)
        if w and w not in _STOPWORDS and not w.isdigit():
            word = w[:20]
            break
    return f"{surname}{year}{word}"


def _suffix(n: int) -> str:
    """0 → a, 25 → z, 26 → aa, …"""
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(97 + r) + s
    return s


def citation_keys(records: Iterable[Record], taken: dict[str, str] | None = None) -> dict[str, str]:
    """Citation keys ``{record id: key}`` for ``records``.

    Records in ``taken`` keep their key. The others get :func:`key_base`; where several
    records (or a taken key) share a base, each new one gets the next free suffix
    ``a``, ``b``, … in order of (year, title, record id), so the result does not depend on
    the order of ``records``.
    """
    taken = dict(taken or {})
    out: dict[str, str] = {}
    todo: dict[str, list[Record]] = {}
    for rec in records:
        if rec.id in taken:
            out[rec.id] = taken[rec.id]
        else:
            todo.setdefault(key_base(rec), []).append(rec)
    used = set(taken.values())
    for base in sorted(todo):
        recs = sorted(todo[base], key=lambda r: (r.year or 0, fold(r.title), r.id))
        if len(recs) == 1 and base not in used:
            out[recs[0].id] = base
            used.add(base)
            continue
        n = 0
        for rec in recs:
            while base + _suffix(n) in used:
                n += 1
            out[rec.id] = base + _suffix(n)
            used.add(out[rec.id])
    return out


def store_keys(store: Store, records: Sequence[Record]) -> dict[str, str]:
    """Citation keys of ``records``, taken from (and new ones added to) the store's ``citation_keys`` artifact.

    A store opened read-only keeps its keys; new ones are made the same way but not saved.
    """
    known: dict[str, str] = store.artifact(KEYS_ARTIFACT) or {}
    keys = citation_keys(records, known)
    new = {k: v for k, v in keys.items() if k not in known}
    if new and not getattr(store, "readonly", False):
        store.put_artifact(KEYS_ARTIFACT, {**known, **new}, kind="export")
    return keys


# -- LaTeX ------------------------------------------------------------------------------------------------
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "%": r"\%", "&": r"\&", "$": r"\$", "#": r"\#", "_": r"\_"}
_LATEX_SPECIAL_RE = re.compile(r"[\\{}~^%&$#_]")
_LATEX_BACK = {v: k for k, v in _LATEX_SPECIAL.items()}
_LATEX_BACK_RE = re.compile("|".join(re.escape(v) for v in sorted(_LATEX_BACK, key=len, reverse=True)))
_encoder = None
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(text: Any) -> str:
    """One line of text: whitespace runs (newlines, tabs) become one space; control characters go."""
    return " ".join(_CONTROL.sub("", str(text or "")).split())


def latex_escape(text: str, unicode: bool = True) -> str:
    """Text as a BibTeX value: LaTeX specials escaped; with ``unicode=False`` non-ASCII as LaTeX accents."""
    out = _LATEX_SPECIAL_RE.sub(lambda m: _LATEX_SPECIAL[m.group()], clean(text))
    if not unicode and not out.isascii():
        global _encoder
        if _encoder is None:
            from pylatexenc.latexencode import UnicodeToLatexEncoder  # a dependency of bibtexparser 2

            _encoder = UnicodeToLatexEncoder(non_ascii_only=True, replacement_latex_protection="braces-all",
                                             unknown_char_policy="keep", unknown_char_warning=False)
        out = _encoder.unicode_to_latex(out)
    return out


def latex_to_text(value: str) -> str:
    """Inverse of :func:`latex_escape` with ``unicode=True``."""
    return _LATEX_BACK_RE.sub(lambda m: _LATEX_BACK[m.group()], value)


def _verbatim(value: str) -> str:
    # url / doi are verbatim fields in biblatex: no LaTeX escapes, but braces and backslashes must go.
    return re.sub(r"[{}\\\s]", lambda m: quote(m.group()), clean(value))


# -- BibTeX -----------------------------------------------------------------------------------------------
def _bib_name(name: str, unicode: bool) -> str:
    p = split_name(name)
    if "literal" in p:
        return "{" + latex_escape(p["literal"], unicode) + "}" if p["literal"] else ""
    parts = [p["family"]] + ([p["suffix"]] if p.get("suffix") else []) + ([p["given"]] if p.get("given") else [])
    out = ", ".join(latex_escape(x, unicode) for x in parts)
    if re.search(r"\band\b", out, re.IGNORECASE):  # " and " would split the name in two
        out = ", ".join("{" + latex_escape(x, unicode) + "}" for x in parts)
    return out


def keywords(rec: Record) -> list[str]:
    """Keywords, topics and concepts of a record, each once (case-insensitive), in that order."""
    seen, out = set(), []
    for k in [*rec.keywords, *rec.topics, *rec.concepts]:
        k = clean(k)
        if k and k.lower() not in seen:
            seen.add(k.lower())
            out.append(k)
    return out


def bibtex_fields(rec: Record, abstract: bool = True, unicode: bool = True) -> tuple[str, dict[str, str]]:
    """``(entry type, {field: value})`` of one record, values as they are written in the .bib file."""
    etype = entry_type(rec.type)
    esc = lambda s: latex_escape(s, unicode)  # noqa: E731
    f: dict[str, str] = {}
    authors = [n for n in (_bib_name(a.name, unicode) for a in rec.authors) if n]
    if authors:
        f["author"] = " and ".join(authors)
    f["title"] = esc(rec.title)
    venue = clean(rec.venue)
    if venue:
        key = {"article": "journal", "incollection": "booktitle", "inproceedings": "booktitle", "phdthesis": "school",
               "techreport": "institution", "book": "series"}.get(etype, "howpublished")
        if etype in ("techreport", "phdthesis") and rec.publisher:
            key = "howpublished"
        f[key] = esc(venue)
    if rec.year:
        f["year"] = str(rec.year)
    for key, value in (("volume", rec.volume), ("number", rec.issue)):
        if clean(value):
            f[key] = esc(value)
    if clean(rec.pages):
        f["pages"] = re.sub(r"\s*[-\u2013\u2014]+\s*", "--", esc(rec.pages))
    if clean(rec.publisher):
        f[{"techreport": "institution", "phdthesis": "school"}.get(etype, "publisher")] = esc(rec.publisher)
    if rec.doi:
        f["doi"] = _verbatim(rec.doi)
    if clean(rec.url):
        f["url"] = _verbatim(rec.url)
    if clean(rec.isbn):
        f["isbn"] = esc(rec.isbn)
    if rec.pmid:
        f["pmid"] = esc(rec.pmid)
    if rec.language:
        f["language"] = esc(rec.language)
    kw = keywords(rec)
    if kw:
        f["keywords"] = esc(", ".join(kw))
    if abstract and clean(rec.abstract):
        f["abstract"] = esc(rec.abstract)
    if rec.openalex_id:
        f["openalex"] = rec.openalex_id
    return etype, {k: v for k, v in f.items() if v}


def to_bibtex(records: Sequence[Record], keys: dict[str, str] | None = None, abstract: bool = True,
              unicode: bool = True) -> str:
    """A .bib text of ``records`` (keys from :func:`citation_keys` unless given)."""
    import bibtexparser
    from bibtexparser.model import Entry, Field

    keys = keys or citation_keys(records)
    lib = bibtexparser.Library()
    for rec in records:
        etype, fields = bibtex_fields(rec, abstract, unicode)
        lib.add(Entry(etype, keys[rec.id], [Field(k, "{" + v + "}") for k, v in fields.items()]))
    fmt = bibtexparser.BibtexFormat()
    fmt.indent = "  "
    # values are enclosed above; the default unparse stack would deep-copy the whole library to do it
    return bibtexparser.write_string(lib, unparse_stack=[], bibtex_format=fmt)


# -- RIS --------------------------------------------------------------------------------------------------
def _plain_name(name: str) -> str:
    p = split_name(name)
    if "literal" in p:
        return p["literal"]
    return ", ".join(x for x in (p["family"], p.get("given", ""), p.get("suffix", "")) if x)


def ris_entry(rec: Record, key: str | None = None, abstract: bool = True) -> dict[str, Any]:
    """One record as a rispy entry dict (rispy's default tag names)."""
    rtype = entry_type(rec.type, "ris")
    e: dict[str, Any] = {"type_of_reference": rtype}
    if key:
        e["id"] = key
    e["title"] = clean(rec.title)
    authors = [_plain_name(a.name) for a in rec.authors if clean(a.name)]
    if authors:
        e["authors"] = authors
    if rec.year:
        e["year"] = str(rec.year)
    if clean(rec.venue):
        e["secondary_title"] = clean(rec.venue)
    if clean(rec.volume):
        e["volume"] = clean(rec.volume)
    if clean(rec.issue):
        e["number"] = clean(rec.issue)
    pages = clean(rec.pages)
    if pages:
        m = re.match(r"^(.*?)\s*[-\u2013\u2014]+\s*(.*)$", pages)
        first, last = (m.group(1), m.group(2)) if m else (pages, "")
        e["start_page"] = first
        if last:
            e["end_page"] = last
    if clean(rec.publisher):
        e["publisher"] = clean(rec.publisher)
    if rec.doi:
        e["doi"] = rec.doi
    if clean(rec.url):
        e["urls"] = [clean(rec.url)]
    if clean(rec.isbn):
        e["issn"] = clean(rec.isbn)
    if rec.language:
        e["language"] = rec.language
    kw = keywords(rec)
    if kw:
        e["keywords"] = kw
    if abstract and clean(rec.abstract):
        e["abstract"] = clean(rec.abstract)
    if rec.openalex_id:
        e["name_of_database"] = "OpenAlex"
        e["accession_number"] = rec.openalex_id
    if rec.pmid:
        e["notes"] = [f"PMID: {rec.pmid}"]
    return e


def to_ris(records: Sequence[Record], keys: dict[str, str] | None = None, abstract: bool = True) -> str:
    """A .ris text of ``records`` (Zotero, EndNote, Mendeley)."""
    import rispy

    class PlainRisWriter(rispy.RisWriter):
        def set_header(self, count: int) -> str:
            return ""  # rispy numbers references ("1.") by default; plain RIS has no such lines

    keys = keys or citation_keys(records)
    return rispy.dumps([ris_entry(r, keys[r.id], abstract) for r in records], implementation=PlainRisWriter)


# -- CSL-JSON ---------------------------------------------------------------------------------------------
def csl_item(rec: Record, key: str | None = None, abstract: bool = True) -> dict[str, Any]:
    """One record as a CSL-JSON item (field names of the CSL 1.0 schema)."""
    item: dict[str, Any] = {"id": key or rec.id, "type": entry_type(rec.type, "csljson"), "title": clean(rec.title)}
    authors = []
    for a in rec.authors:
        p = split_name(a.name)
        if p.get("literal"):
            authors.append({"literal": p["literal"]})
        elif "family" in p:
            authors.append({k: v for k, v in p.items() if v})
    if authors:
        item["author"] = authors
    if rec.year:
        item["issued"] = {"date-parts": [[int(rec.year)]]}
    for field, value in (("container-title", rec.venue), ("volume", rec.volume), ("issue", rec.issue),
                         ("publisher", rec.publisher), ("ISBN", rec.isbn), ("language", rec.language)):
        if clean(value):
            item[field] = clean(value)
    if clean(rec.pages):
        item["page"] = re.sub(r"\s*[\u2013\u2014]+\s*|\s*-+\s*", "-", clean(rec.pages))
    if rec.doi:
        item["DOI"] = rec.doi
    if clean(rec.url):
        item["URL"] = clean(rec.url)
    if rec.pmid:
        item["PMID"] = rec.pmid
    kw = keywords(rec)
    if kw:
        item["keyword"] = ", ".join(kw)
    if abstract and clean(rec.abstract):
        item["abstract"] = clean(rec.abstract)
    if rec.openalex_id:
        item["note"] = f"OpenAlex: {rec.openalex_id}"
    return item


def to_csljson(records: Sequence[Record], keys: dict[str, str] | None = None, abstract: bool = True) -> str:
    """A CSL-JSON text (a JSON array of items; ``id`` is the citation key, as in the .bib export)."""
    keys = keys or citation_keys(records)
    return json.dumps([csl_item(r, keys[r.id], abstract) for r in records], ensure_ascii=False, indent=1)
