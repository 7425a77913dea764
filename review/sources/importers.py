"""Read bibliographic files into :class:`~review.core.records.Record`: RIS, BibTeX, CSV/TSV, OpenAlex, Web of
Science and PubMed text, EndNote XML.

Every record keeps where it came from (``Source(kind, path, locator)``): the line of
its RIS reference, CSV row or BibTeX entry, with the input's own ID in the locator.
Missing values as exports write them (``NA``, ``N/A``, ``NaN``, ``NULL``, ``None``, ``-``,
empty) are missing. A malformed value in one field (a DOI that is not a DOI, a year
that is not a year) drops that field, keeps the record and is listed, with file, line
and field, in :attr:`ImportResult.problems`; ``strict=True`` refuses the file instead.
A malformed entry (broken syntax, a ragged row, a duplicate ID) gives an
:class:`InputError` naming the file, the line and the problem; ``lenient=True`` skips
it instead and lists it, with its reason, in :attr:`ImportResult.skipped` (and,
through :func:`import_files`, in the store): nothing is ever dropped silently.

Record ids: the short OpenAlex id for OpenAlex input, else
``stable_id(<absolute path>, <input ID or position>)``, so importing the same file
again adds no new records.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import xml.parsers.expat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.core.errors import InputError
from review.core.records import Author, Record, Source
from review.core.settings import IMPORT_FORMATS
from review.core.text import full_last_page, normalize_doi, normalize_pmid, short_openalex_id, stable_id
from review.sources.openalex_json import from_openalex

FORMATS = IMPORT_FORMATS
MAX_FIELD = 100_000  # characters; a longer title or author field is a broken file, not a record
_LIMITS = {"title": 4_000, "authors": 100_000, "venue": 1_000, "year": 40, "doi": 400}
#: Cell values that mean "no value" (spaces stripped), in the spellings tools write: R and pandas ``NA`` / ``NaN`` /
#: ``<NA>``, SQL exports ``NULL``, Python ``None``, spreadsheets ``#N/A``, many databases ``-``. Exact spellings, not
#: any case: "Na" is a surname (and "Null" a word) where "NA" is R's missing value.
MISSING = frozenset({"", "NA", "na", "N/A", "n/a", "N.A.", "n.a.", "#N/A", "NaN", "nan", "NAN", "NULL", "null",
                     "None", "none", "NONE", "<NA>", "-", "--"})
#: Database names that some exports put where the journal goes (ASySD's ``source`` column, RIS ``DB``).
_DATABASES = frozenset({"embase", "medline", "pubmed", "cinahl", "psycinfo", "scopus", "web of science",
                        "wos", "web of science core collection", "cochrane library", "central", "ovid", "ebsco",
                        "proquest", "google scholar", "lilacs", "amed", "global health", "biosis"})


def is_missing(value: Any) -> bool:
    """Whether a cell value means "no value" (see :data:`MISSING`; a float NaN too)."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return isinstance(value, str) and value.strip() in MISSING


def _drop_missing(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with missing cells (and missing items of list values) as empty strings / left out."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, (list, tuple)):
            out[k] = [x for x in v if not is_missing(x)]
        else:
            out[k] = "" if is_missing(v) else v
    return out


@dataclass
class ImportResult:
    """Records read from one file.

    ``keys`` are the input's own record ids (CSV ``ID`` column, BibTeX entry key,
    RIS ``ID`` tag or position, OpenAlex id), parallel to ``records``.
    """

    path: str
    format: str
    records: list[Record] = field(default_factory=list)
    raws: list[Any] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: fields dropped from kept records: ``{file, line, record, field, reason}``
    problems: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"file": self.path, "format": self.format, "records": len(self.records),
                "skipped": len(self.skipped), "skipped_entries": self.skipped,
                "problems": len(self.problems), "problem_entries": self.problems}


class _Collector:
    """Collects records; a bad entry raises (listed in lenient mode); a bad field is dropped and listed
    (raises in strict mode, like a bad entry)."""

    def __init__(self, path: Path, fmt: str, lenient: bool, strict: bool = False):
        self.path, self.lenient, self.strict = path, lenient, strict
        self.result = ImportResult(str(path), fmt)
        self._abs = str(path.resolve())
        self._seen: dict[str, str] = {}

    def problem(self, where: str, reason: str) -> None:
        reason = " ".join(reason.split())  # one line, whatever the input held
        if not self.lenient:
            raise InputError(f"{self.path}:{where}: {reason}")
        self.result.skipped.append({"file": str(self.path), "locator": where, "reason": reason})

    def left_out(self, line: int, reason: str) -> None:
        """List a line that holds no field of a kept record (banner text, a stray line): the import goes on."""
        self.result.problems.append({"file": str(self.path), "line": str(line), "record": "", "field": "",
                                     "reason": reason, "action": "line left out"})

    def build(self, values: dict[str, Any], source: Source, key: str, where: str, what: str,
              line_of: Callable[[str], str | None] | None = None) -> Record | None:
        """:func:`_build` a record; a bad field is dropped and listed (strict: the entry is a problem).

        ``line_of(field)``: the line of that field in the input, if known (else the entry's line ``where``).
        """
        dropped: list[tuple[str, str]] | None = None if self.strict else []
        try:
            rec = _build(values, source, self.record_id(key), dropped)
        except ValueError as err:
            fld = getattr(err, "field", None)
            hint = f" (field {fld}); fix or clear it, or import without --strict to drop the field and keep the " \
                "record" if fld else ""
            self.problem((line_of and fld and line_of(fld)) or where, f"{what} {key}: {err}{hint}")
            return None
        for fld, reason in dropped or ():
            self.result.problems.append({"file": str(self.path), "line": (line_of and fld and line_of(fld)) or where,
                                         "record": key, "field": fld,
                                         "reason": " ".join((f"{reason}; field dropped, record kept" if fld
                                                             else reason).split())})
        return rec

    def add(self, rec: Record | None, raw: Any, key: str, where: str) -> None:
        """Add a converted record; ``key`` is the input's own id (or position). None (not built) is ignored."""
        if rec is None:
            return
        if key in self._seen:
            self.problem(where, f"duplicate ID {key!r} (first used at {self._seen[key]}); IDs must be unique "
                                "within a file")
            return
        self._seen[key] = where
        self.result.records.append(rec)
        self.result.raws.append(raw)
        self.result.keys.append(key)

    def record_id(self, key: str) -> str:
        return stable_id(self._abs, key)


# -- reading text -----------------------------------------------------------------------------
def _require_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file")


def _read_text(path: Path, encoding: str = "utf-8") -> str:
    _require_file(path)
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not {encoding} (byte 0x{data[e.start]:02x}); save the file as UTF-8 "
                         f"or give its encoding (--encoding latin-1)") from None
    except LookupError:
        raise InputError(f"{path}: unknown encoding {encoding!r}") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(f"{path}:{line}: contains NUL bytes (a binary file, or UTF-16?); save it as UTF-8 text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_format(path: str | Path) -> str:
    """``ris``, ``bibtex``, ``csv``, ``openalex``, ``wos``, ``medline`` or ``endnote`` from the file name, else from
    its first bytes."""
    path = Path(path)
    name = path.name.lower()
    for suffix in (".gz", ".zip"):
        if name.endswith(suffix):
            return "openalex"
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    by_ext = {"ris": "ris", "bib": "bibtex", "bibtex": "bibtex", "csv": "csv",
              "tsv": "csv", "tab": "csv", "json": "openalex", "jsonl": "openalex", "ndjson": "openalex",
              "nbib": "medline", "ciw": "wos", "xml": "endnote"}
    if ext in by_ext:
        return by_ext[ext]
    if not path.exists():
        raise InputError(f"{path}: file not found")
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if re.match(r"[A-Z][A-Z0-9]  -", head):
        return "ris"
    if re.match(r"PMID- ?\d", head):
        return "medline"
    if re.match(r"(?:FN |VR |PT [A-Z]\r?\n)", head):
        return "wos"
    if head.startswith("@") or re.search(r"^@\w+\s*[{(]", head, re.M):
        return "bibtex"
    if head[:1] in "[{":
        return "openalex"
    if head.startswith("<") and re.search(r"<records?>", head):
        return "endnote"
    if "," in head.split("\n", 1)[0] or "\t" in head.split("\n", 1)[0]:
        return "csv"
    raise InputError(f"{path}: cannot tell the format (RIS, BibTeX, CSV, OpenAlex JSON, Web of Science, "
                     "PubMed text or EndNote XML); name it with --format")


# -- common conversion helpers ------------------------------------------------------------------
_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2}|2100)(?!\d)")


def _year(value: Any) -> int | None:
    """A year from ``2020``, ``"2020/05/01"``, ``"May 2020"``; None if empty; ValueError if not a year."""
    if value is None:
        return None
    if isinstance(value, float) and value == int(value):
        value = int(value)
    s = str(value).strip()
    if not s:
        return None
    m = _YEAR.search(s)
    if not m:
        raise ValueError(f"year {s[:40]!r} is not a year")
    return int(m.group(1))


def _clean(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if v)
    return " ".join(str(value).split())


def _pages(first: Any, last: Any = None) -> str:
    first, last = _clean(first), _clean(last)
    if first and last and first != last and "-" not in first:
        return f"{first}-{last}"
    return first or last


_INITIALS = re.compile(r"^[A-Z][A-Za-z]?\.?(?:[ -]?[A-Z]\.?){0,3}$")


def split_authors(value: Any) -> list[str]:
    """Author names from a list or from one string in any common export style.

    ``"Smith, J and Lee, K"`` (BibTeX), ``"Smith, J.; Lee, K."`` (Scopus, WoS),
    ``"Smith J, Lee K"`` (Vancouver, PubMed) and ``"Smith J., Lee K."`` (old Scopus).
    """
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in split_authors(v)] if any(";" in str(v) for v in value) \
            else [_clean(v) for v in value if _clean(v)]
    s = _clean(value)
    if not s:
        return []
    if re.search(r"\sand\s", s) and (";" not in s):
        parts = re.split(r"\s+and\s+", s)
    elif ";" in s:
        parts = s.split(";")
    elif "," in s:
        parts = [p.strip() for p in s.split(",")]
        # "Smith J, Lee K" or "Smith J., Lee K.": every part ends with initials -> one author per part.
        if not (len(parts) > 1 and all(" " in p and _INITIALS.match(p.rsplit(" ", 1)[1]) for p in parts if p)):
            parts = [s]  # "Smith, John": one author, surname first
    else:
        parts = [s]
    return [p.strip() for p in parts if p.strip() and p.strip().lower() not in ("et al", "et al.", "others")]


def _check_lengths(values: dict[str, Any]) -> str | None:
    for key, limit in _LIMITS.items():
        v = values.get(key)
        if not v:
            continue
        n = len(v) if isinstance(v, str) else sum(len(str(x)) for x in v) if isinstance(v, list) else 0
        if n > limit:
            return f"field {key} is {n:,} characters long (limit {limit:,}); the file is probably broken here"
    return None


def _keywords(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = _clean(value)
        # "a; b" (RIS, Scopus, WoS) or "a, b" (BibTeX, Zotero): semicolons win where both occur
        return [k for k in re.split(r"\s*[;|]\s*" if re.search(r"[;|]", value) else r"\s*,\s*", value) if k]
    return [_clean(k) for k in value if k]


class FieldError(ValueError):
    """A malformed value in one field (the rest of the record is usable)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# RIS ``TY`` codes, BibTeX entry types and the document types of Scopus, Web of Science, PubMed and Zotero
# CSV exports, in OpenAlex's work types (the vocabulary of the protocol's ``types`` and of the exporters).
_WORK_TYPES = {
    "article": ("jour", "jfull", "ejour", "mgzn", "news", "inpress", "inpr", "abst", "article", "journal article",
                "journal-article", "journalarticle", "article in press", "journal", "magazine article",
                "newspaper article", "meeting abstract", "data paper", "short survey", "article; early access",
                "comparative study", "clinical trial", "randomized controlled trial", "multicenter study",
                "electronic article"),
    # OpenAlex's 2023 name, kept so the exporters write @inproceedings; criteria on "article" match it
    "proceedings-article": ("conf", "cpaper", "inproceedings", "conference", "conference paper", "proceedings paper",
                            "conferencepaper", "conference proceedings"),
    "review": ("review", "review article", "systematic review", "meta-analysis", "article; review",
               "review; early access"),
    "book": ("book", "ebook", "edbook", "whole book", "booklet", "book series", "edited book", "monograph",
             "proceedings", "book; edited book", "electronic book"),
    "book-chapter": ("chap", "echap", "book chapter", "chapter", "inbook", "incollection", "book section",
                     "booksection", "article; book chapter", "book part", "electronic book section"),
    "dissertation": ("thes", "thesis", "phdthesis", "mastersthesis", "dissertation", "doctoral thesis"),
    "report": ("rprt", "report", "techreport", "government document", "govdoc", "technical report", "working paper"),
    "editorial": ("editorial", "editorial material", "edit", "comment", "letter to the editor; editorial"),
    "letter": ("letter", "correspondence"),
    "erratum": ("erratum", "correction", "corrected and republished article", "published erratum"),
    "retraction": ("retraction", "retracted publication", "retraction of publication"),
    "preprint": ("preprint", "unpublished", "unpb", "posted-content", "manuscript", "unpublished work"),
    "dataset": ("data", "dataset", "aggr", "dbase"),
    "standard": ("stand", "standard"),
    "other": ("gen", "elec", "web", "online", "misc", "note", "webpage", "blog post", "computer program", "ctlg",
              "pamp", "pcomm", "slide", "video", "audio", "map", "pat", "patent", "hear", "bill", "case", "stat"),
}
_WORK_TYPE = {name: oa for oa, names in _WORK_TYPES.items() for name in names}


def work_type(value: Any) -> str:
    """A source's type name (RIS code, BibTeX entry type, database document type) as an OpenAlex work type.

    A value with several types (``Article; Proceedings Paper``) takes the first one that is known;
    an unknown name is kept, lower-cased, so nothing is lost.
    """
    raw = _clean(value).lower().strip("@ ")
    if not raw:
        return ""
    if raw in _WORK_TYPE:
        return _WORK_TYPE[raw]
    for part in re.split(r"\s*[;|,]\s*", raw):
        if part in _WORK_TYPE:
            return _WORK_TYPE[part]
    return raw


def _build(values: dict[str, Any], source: Source, rid: str,
           dropped: list[tuple[str, str]] | None = None) -> Record:
    """Record from plain field values (already mapped to our names).

    Missing cells (:data:`MISSING`) are empty. A malformed field raises :class:`FieldError`, or, if
    ``dropped`` is a list, is left empty and listed there as ``(field, reason)``. ValueError if the
    record as a whole is unusable (empty, a field far too long).
    """
    values = _drop_missing(values)
    too_long = _check_lengths(values)
    if too_long:
        raise ValueError(too_long)

    def bad(fld: str, reason: str) -> None:
        if dropped is None:
            raise FieldError(fld, reason)
        dropped.append((fld, reason))

    try:
        year = _year(values.get("year"))
    except ValueError as err:
        bad("year", str(err))
        year = None
    if year is not None and not 1000 <= year <= 2100:
        bad("year", f"year {year} out of range")
        year = None
    title = _clean(values.get("title"))
    doi_raw = _clean(values.get("doi"))
    doi = normalize_doi(doi_raw)
    if doi_raw and not doi:
        bad("doi", f"doi {doi_raw[:60]!r} is not a DOI (expected 10.xxxx/...)")
    venue = _clean(values.get("venue"))
    if venue.lower() in _DATABASES:
        venue = ""  # the database the record came from, not its journal
    if not (title or doi or values.get("authors") or venue or _clean(values.get("abstract"))):
        if dropped is None:
            raise ValueError("empty record: no title, DOI, authors, journal or abstract")
        # kept, so that the output accounts for every input row; it can only be a record of its own
        dropped.append(("", "empty record: no title, DOI, authors, journal or abstract; kept, nothing to match it on"))
    oa = _clean(values.get("openalex_id"))
    return Record(
        id=rid,
        title=title,
        abstract=str(values.get("abstract") or "").strip(),
        authors=[Author(name=n) for n in split_authors(values.get("authors"))],
        year=year,
        venue=venue,
        volume=_clean(values.get("volume")),
        issue=_clean(values.get("issue")),
        pages=_pages(values.get("pages") or values.get("first_page"), None if values.get("pages")
                     else values.get("last_page")),
        type=work_type(values.get("type")),
        language=_clean(values.get("language")),
        doi=doi,
        openalex_id=short_openalex_id(oa) if oa else None,
        pmid=normalize_pmid(_clean(values.get("pmid"))),
        isbn=_clean(values.get("isbn")),
        publisher=_clean(values.get("publisher")),
        url=_clean(values.get("url")),
        keywords=_keywords(values.get("keywords")),
        sources=[source],
    )


# -- RIS --------------------------------------------------------------------------------------
_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: |$)")
_RIS_LOOSE_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9] {0,3}-(?: |$)")  # "TY - JOUR", "ty  - JOUR": a reference, misspelt


def _ris_entries(text: str, col: _Collector) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, lines)`` per reference, by ``TY`` … ``ER``.

    A tagged line outside a reference is a problem (a reference whose ``TY`` is missing or broken). Untagged text
    between references (the banners some databases write, "Record #1 of 2", "Provider: …") holds no field: it is
    left out and listed among the file's problems; ``--strict`` stops at it.
    """
    start, lines = 0, []
    for n, line in enumerate(text.split("\n"), 1):
        m = _RIS_TAG.match(line)
        tag = m.group(1) if m else None
        if not start:
            if tag == "TY":
                start, lines = n, [line]
            elif tag or _RIS_LOOSE_TAG.match(line) or (line.strip() and col.strict):
                col.problem(f"{n}", f"text outside a reference: {line.strip()[:50]!r} "
                                    "(a reference starts with the tag TY)")
            elif line.strip():
                col.left_out(n, f"text outside a reference: {line.strip()[:50]!r}")
            continue
        if tag == "TY":
            col.problem(f"{start}", f"reference has no end tag ER before the next TY at line {n}")
            start, lines = n, [line]
        elif tag == "ER":
            yield start, lines
            start, lines = 0, []
        else:
            lines.append(line)
    if start:
        col.problem(f"{start}", "file ends inside this reference (no end tag ER); the file may be truncated")


def read_ris(path: str | Path, lenient: bool = False, encoding: str = "utf-8", strict: bool = False) -> ImportResult:
    """Read a RIS file (Scopus, Web of Science, PubMed, Zotero, EndNote exports).

    Raises
    ------
    InputError
        For a malformed file or reference (strict mode), naming file and line.
    """
    import rispy

    path = Path(path)
    col = _Collector(path, "ris", lenient, strict)
    text = _read_text(path, encoding)
    position = 0
    for start, lines in _ris_entries(text, col):
        position += 1
        raw = "\n".join(lines + ["ER  - "])
        try:
            parsed = rispy.loads(raw)
            if len(parsed) != 1:
                raise ValueError("could not be parsed")
            e = parsed[0]
        except Exception as err:  # rispy raises assorted errors on odd lines
            col.problem(f"{start}", f"RIS reference could not be parsed ({err})")
            continue
        key = _clean(e.get("id")) or str(position)
        values = _ris_values(e)
        locator = f"{start}" + (f" ID={_clean(e.get('id'))}" if e.get("id") else f" #{position}")
        rec = col.build(values, Source("ris", str(path), locator), key, f"{start}", "reference",
                        lambda fld, s=start, ls=lines: _tag_line(ls, s, _RIS_FIELD_TAGS.get(fld, ())))
        col.add(rec, raw, key, f"{start}")
    return _finish(col)


_RIS_FIELD_TAGS = {"doi": ("DO",), "year": ("PY", "Y1", "DA")}


def _tag_line(lines: list[str], start: int, tags: tuple[str, ...]) -> str | None:
    """The line number of the first of ``tags`` in a RIS reference starting at line ``start``."""
    for i, line in enumerate(lines):
        if line[:2] in tags and line[2:5] == "  -":
            return str(start + i)
    return None


def _ris_values(e: dict[str, Any]) -> dict[str, Any]:
    first = lambda *keys: next((e[k] for k in keys if e.get(k)), "")  # noqa: E731
    db = _clean(e.get("name_of_database")).lower()
    an = _clean(e.get("accession_number"))
    pmid = an if an.isdigit() and ("pubmed" in db or "medline" in db) else ""
    year = first("year", "publication_year", "date")
    return {
        "title": first("title", "primary_title", "translated_title", "short_title"),
        "abstract": first("abstract", "notes_abstract"),
        "authors": e.get("authors") or e.get("first_authors") or [],
        "year": year,
        "venue": first("journal_name", "secondary_title", "alternate_title3", "alternate_title1",
                       "alternate_title2"),
        "volume": e.get("volume"), "issue": e.get("number"),
        "first_page": e.get("start_page"), "last_page": e.get("end_page"),
        "doi": e.get("doi"), "pmid": pmid,  # SN is the ISBN of a book or chapter, else an ISSN
        "isbn": e.get("issn") if str(e.get("type_of_reference", "")).upper() in ("BOOK", "CHAP", "EDBOOK") else "",
        "publisher": e.get("publisher"), "url": (e.get("urls") or [""])[0],
        "type": e.get("type_of_reference"), "language": e.get("language"), "keywords": e.get("keywords") or [],
    }


# -- Web of Science and PubMed (MEDLINE) tagged text ------------------------------------------------
# Web of Science "plain text" (savedrecs.txt): "TI Title", continuation lines indented three spaces, "ER" ends a
# record. PubMed's "PubMed" format (.nbib / pubmed-*.txt): "TI  - Title", continuation lines indented six spaces,
# a blank line ends a record. One tag per line; a tag may repeat (AU, MH, ...).
_TAGGED = {
    "wos": (re.compile(r"^([A-Z][A-Z0-9])(?: (.*))?$"), "   ", "PT", "ER"),
    "medline": (re.compile(r"^([A-Z][A-Z0-9]{1,3}) *- ?(.*)$"), "      ", "PMID", ""),
}
_WOS_LISTS = frozenset({"AU", "AF", "BA", "BF", "CA", "GP", "BE", "C1", "C3", "CR"})  # one value per line
_WOS_HEADER = frozenset({"FN", "VR", "EF"})
_FORMAT_NAMES = {"wos": "Web of Science", "medline": "PubMed/MEDLINE"}


_Fields = dict[str, list[tuple[int, str]]]  # tag -> [(line, value), ...]


def _tagged_entries(text: str, fmt: str, col: _Collector) -> Iterator[tuple[int, int, _Fields]]:
    """``(first line, last line, {tag: [(line, value), ...]})`` per record of a Web of Science or MEDLINE file."""
    tag_re, indent, first, end = _TAGGED[fmt]
    start, stop, fields, last = 0, 0, {}, None
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith(indent) and line.strip():
            if last is None:
                col.problem(f"{n}", f"continuation line outside a record: {line.strip()[:50]!r}")
            elif fmt == "wos" and last in _WOS_LISTS:
                fields[last].append((n, line.strip()))
            else:
                ln, value = fields[last][-1]
                fields[last][-1] = (ln, f"{value} {line.strip()}".strip())
            stop = n
            continue
        m = tag_re.match(line.rstrip())
        tag = m.group(1) if m else None
        if not line.strip() or tag == end or (fmt == "wos" and tag in _WOS_HEADER):
            if start and (fmt == "medline" or tag == end or tag == "EF"):
                yield start, (n if tag == end else stop), fields
                start, fields = 0, {}
            last = None
            continue
        if tag is None:
            reason = f"not a tagged line: {line.strip()[:50]!r} (expected a {_FORMAT_NAMES[fmt]} tag)"
            if start and col.lenient:  # the record goes on: only this line is lost, and listed
                col.left_out(n, reason)
            else:
                col.problem(f"{n}", reason)
            last = None
            continue
        if not start:
            if tag != first:
                col.problem(f"{n}", f"text outside a record: {line.strip()[:50]!r} (a record starts with {first})")
                last = None
                continue
            start = n
        elif tag == first:
            if fmt == "wos":
                col.problem(f"{start}", f"record has no end tag ER before the next PT at line {n}")
            else:  # no blank line before the next PMID: it starts a record all the same
                yield start, stop, fields
            start, fields = n, {}
        fields.setdefault(tag, []).append((n, (m.group(2) or "").strip()))
        last, stop = tag, n
    if start:
        if fmt == "wos":
            col.problem(f"{start}", "file ends inside this record (no end tag ER); the file may be truncated")
        else:
            yield start, stop, fields


def _medline_pages(value: str) -> tuple[str, str]:
    """First and last page of a MEDLINE ``PG`` ("123-9" is 123-129; "e0815" stays; "1021-35; quiz 1036": 1021-1035)."""
    first, _, last = re.split(r"[,;]", _clean(value))[0].partition("-")
    first, last = first.strip(), last.strip()
    return first, full_last_page(first, last)


def _medline_type(types: list[str]) -> str:
    """The record's type from its publication types: a notice or review type wins over "Journal Article";
    "Retracted Publication" and "Corrected and Republished Article" are the article itself."""
    for t in types:
        if t.lower() in ("published erratum", "retraction of publication", "review", "systematic review",
                         "meta-analysis", "editorial", "comment", "letter", "preprint"):
            return t
    return "Journal Article" if types else ""


def _tagged_values(fmt: str, f: _Fields) -> dict[str, Any]:
    one = lambda *tags: next((v for t in tags for _, v in f.get(t, ()) if v), "")  # noqa: E731
    every = lambda tag: [v for _, v in f.get(tag, ()) if v]  # noqa: E731
    if fmt == "wos":
        authors = [a for a in every("AF") or every("AU") if a.lower() != "[anonymous]"] or every("CA")
        return {
            "title": one("TI"), "abstract": one("AB"), "authors": authors, "year": one("PY", "EA"),
            "venue": one("SO", "SE"), "volume": one("VL"), "issue": one("IS"),
            "first_page": one("BP", "AR"), "last_page": one("EP"), "doi": one("DI"), "pmid": one("PM"),
            "isbn": one("BN"), "publisher": one("PU"),
            "type": one("DT") or {"J": "article", "B": "book", "S": "book", "P": "patent"}.get(one("PT"), ""),
            "language": one("LA"), "keywords": [k for v in every("DE") for k in v.split(";")],
        }
    first, last = _medline_pages(one("PG"))
    ids = every("LID") + every("AID")
    doi = next((v[: -len("[doi]")].strip() for v in ids if v.endswith("[doi]")), "")
    return {
        "title": one("TI", "BTI"), "abstract": one("AB"), "authors": every("FAU") or every("AU") or every("CN"),
        "year": one("DP") or one("DEP")[:4], "venue": one("JT", "TA"), "volume": one("VI"), "issue": one("IP"),
        "first_page": first, "last_page": last, "doi": doi, "pmid": one("PMID"), "isbn": one("ISBN"),
        "publisher": one("PB"), "type": "book" if one("BTI") and not one("TI") else _medline_type(every("PT")),
        "language": one("LA"), "keywords": every("OT") + [m.lstrip("*") for m in every("MH")],
    }


_TAGGED_FIELD = {"wos": {"doi": ("DI",), "year": ("PY", "EA"), "title": ("TI",)},
                 "medline": {"doi": ("LID", "AID"), "year": ("DP", "DEP"), "title": ("TI", "BTI")}}


def _tagged_line(fields: _Fields, tags: tuple[str, ...], doi: bool = False) -> str | None:
    """The line of the value a field was taken from (a MEDLINE DOI: the first LID/AID marked ``[doi]``)."""
    for tag in tags:
        for ln, value in fields.get(tag, ()):
            if value and (not doi or value.endswith("[doi]")):
                return str(ln)
    return None


def read_tagged(path: str | Path, fmt: str, lenient: bool = False, encoding: str = "utf-8",
                strict: bool = False) -> ImportResult:
    """Read a Web of Science plain-text export (``fmt="wos"``) or a PubMed/MEDLINE file (``"medline"``).

    Raises
    ------
    InputError
        For a malformed file or record (strict mode: a malformed field too), naming file and line.
    """
    path = Path(path)
    col = _Collector(path, fmt, lenient, strict)
    text = _read_text(path, encoding)
    lines, tags = text.split("\n"), _TAGGED_FIELD[fmt]
    position = 0
    for start, end, fields in _tagged_entries(text, fmt, col):
        position += 1
        key = (fields.get("UT") or fields.get("PMID") or [(0, "")])[0][1] or str(position)
        raw = "\n".join(lines[start - 1:end])
        line_of = lambda fld, fs=fields: _tagged_line(fs, tags.get(fld, ()), fmt == "medline" and fld == "doi")  # noqa: E731
        rec = col.build(_tagged_values(fmt, fields), Source(fmt, str(path), f"{start} {key}"), key, f"{start}",
                        "record", line_of)
        col.add(rec, raw, key, f"{start}")
    return _finish(col)


# -- BibTeX -----------------------------------------------------------------------------------
def read_bibtex(path: str | Path, lenient: bool = False, encoding: str = "utf-8",
                strict: bool = False) -> ImportResult:
    """Read a BibTeX file (bibtexparser 2); LaTeX accents are decoded."""
    import bibtexparser
    from bibtexparser import middlewares as mw
    from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, ParsingFailedBlock

    path = Path(path)
    col = _Collector(path, "bibtex", lenient, strict)
    text = _read_text(path, encoding)
    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)  # we report failed blocks ourselves
    lib = bibtexparser.parse_string(text, append_middleware=[mw.LatexDecodingMiddleware()])
    problems = []
    for b in lib.failed_blocks:
        line = (b.start_line or 0) + 1
        if isinstance(b, DuplicateBlockKeyBlock):
            problems.append((line, f"duplicate entry key {b.key!r}; keys must be unique"))
        elif isinstance(b, DuplicateFieldKeyBlock):
            names = str(b.error).split("'")[1] if "'" in str(b.error) else "?"
            problems.append((line, f"entry has the field {names!r} twice"))
        elif isinstance(b, ParsingFailedBlock):
            reason = getattr(b.error, "abort_reason", "") or str(b.error) or "syntax error"
            problems.append((line, f"BibTeX syntax error: {reason.strip()} (entry {' '.join(b.raw.split())[:40]!r})"))
        else:
            problems.append((line, f"could not be read ({b.error})"))
    entries = sorted(((e.start_line or 0) + 1, e) for e in lib.entries)
    events = sorted([(ln, "problem", p) for ln, p in problems] + [(ln, "entry", e) for ln, e in entries],
                    key=lambda t: t[0])
    for line, kind, item in events:
        if kind == "problem":
            col.problem(f"{line}", item)
            continue
        e = item
        f = {k.lower(): v.value for k, v in e.fields_dict.items()}
        values = {
            "title": _strip_braces(f.get("title")), "abstract": _strip_braces(f.get("abstract")),
            "authors": split_authors(_strip_braces(f.get("author") or f.get("editor"))),
            "year": f.get("year") or f.get("date"),
            "venue": _strip_braces(f.get("journal") or f.get("journaltitle") or f.get("booktitle")
                                   or f.get("series")),
            "volume": f.get("volume"), "issue": f.get("number") or f.get("issue"), "pages": f.get("pages"),
            "doi": f.get("doi"), "pmid": f.get("pmid"), "isbn": f.get("isbn"), "publisher": f.get("publisher"),
            "url": f.get("url"), "type": e.entry_type, "language": f.get("language") or f.get("langid"),
            "keywords": f.get("keywords"), "openalex_id": f.get("openalex") or f.get("openalex_id"),
        }
        for k in ("year", "volume", "issue", "pages", "doi", "pmid", "keywords", "isbn", "publisher", "url",
                  "language", "openalex_id"):
            values[k] = _strip_braces(values[k])
        rec = col.build(values, Source("bibtex", str(path), f"{line} {e.key}"), e.key, f"{line}", "entry",
                        lambda fld, s=line, raw=e.raw: _bib_field_line(raw, s, fld))
        col.add(rec, e.raw, e.key, f"{line}")
    return _finish(col)


def _bib_field_line(raw: str, start: int, fld: str) -> str | None:
    """The line number of field ``fld`` (``year`` also as ``date``) in a BibTeX entry starting at ``start``."""
    names = ("year", "date") if fld == "year" else (fld,)
    for i, line in enumerate(raw.split("\n")):
        if re.match(r"\s*(?:@\w+\s*[{(][^,]*,\s*)?(" + "|".join(names) + r")\s*=", line, re.I):
            return str(start + i)
    return None


def _strip_braces(value: Any) -> str:
    if value is None:
        return ""
    s = str(value)
    return re.sub(r"\s+", " ", s.replace("{", "").replace("}", "")).strip()


# -- CSV --------------------------------------------------------------------------------------
#: Our field -> header names recognised (compared case- and space-insensitively), in order of preference.
#: Covers Scopus, Web of Science (tab-delimited tags), ASReview, bib-dedupe/CoLRev, Zotero and PubMed exports.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "record_id", "key", "ut", "ut (unique wos id)", "eid", "unique-id", "accession number"),
    "title": ("title", "ti", "article title", "document title", "primary_title", "display_name",
              "titel", "tittel", "titel des beitrags", "sachtitel"),
    "abstract": ("abstract", "ab", "abstract note", "abstractnote", "sentence", "text", "resume", "resumé", "résumé",
                 "sammendrag", "sammanfattning", "sammandrag", "abstrakt", "zusammenfassung", "kurzfassung"),
    "authors": ("author", "authors", "au", "author full names", "af", "author(s)", "first_authors", "forfatter",
                "forfattere", "forfatter(e)", "författare", "autor", "autoren", "autor(en)", "verfasser"),
    "year": ("year", "py", "publication year", "publication_year", "pubyear", "date", "publication date", "år",
             "udgivelsesår", "utgivelsesår", "utgivningsår", "publiceringsår", "jahr", "erscheinungsjahr", "dato",
             "datum"),
    "venue": ("journal", "source title", "so", "secondary_title", "journal_name", "publication title", "venue",
              "source", "booktitle", "container-title", "journal/book", "jt", "ta", "tidsskrift", "tidskrift",
              "zeitschrift", "kilde", "källa", "quelle"),
    "volume": ("volume", "vl", "vol", "bind", "volym", "band", "årgang", "jahrgang"),
    "issue": ("issue", "number", "is", "no", "nummer", "hæfte", "hefte", "häfte", "heft"),
    "pages": ("pages", "page", "pp", "pg", "sider", "sidor", "seiten", "seite", "sidetal"),
    "first_page": ("page start", "bp", "start_page", "first_page", "startpage"),
    "last_page": ("page end", "ep", "end_page", "last_page", "endpage"),
    "article_number": ("art. no.", "ar", "article number"),
    "doi": ("doi", "di"),
    "pmid": ("pmid", "pubmed id", "pm", "pubmed_id"),
    "openalex_id": ("openalex_id", "openalex id", "openalex"),
    "isbn": ("isbn", "bn"),
    "publisher": ("publisher", "pu", "forlag", "förlag", "verlag", "utgiver", "udgiver"),
    "url": ("url", "link", "lenke", "länk"),
    "type": ("entrytype", "type", "document type", "pt", "item type", "type_of_reference", "dt", "dokumenttype",
             "dokumenttyp", "publikationstype", "publikationstyp", "typ"),
    "language": ("language", "la", "lang", "language of original document", "sprog", "språk", "sprache"),
    "keywords": ("keywords", "author keywords", "de", "manual tags", "emneord", "nøgleord", "nøkkelord",
                 "nyckelord", "ämnesord", "schlagwörter", "schlagworte", "stichwörter", "schlüsselwörter"),
}


def _norm_header(h: str) -> str:
    return re.sub(r"\s+", " ", (h or "").strip().lstrip("\ufeff").strip('"').lower())


def csv_column_map(header: list[str], columns: dict[str, str] | None = None, where: str = "") -> dict[str, list[int]]:
    """Map our field names to column positions in ``header``, best first.

    A field may have several columns (``journal`` then ``booktitle``): the first
    non-empty one in a row wins. ``columns`` (field -> header name) overrides the
    built-in names of :data:`CSV_COLUMNS`.
    """
    norm = [_norm_header(h) for h in header]
    seen: dict[str, int] = {}
    for i, h in enumerate(norm):
        if h and h in seen:
            raise InputError(f"{where}:1: the header has the column {header[i]!r} twice; rename one")
        seen[h] = i
    out: dict[str, list[int]] = {}
    for fld, name in (columns or {}).items():
        if fld not in CSV_COLUMNS:
            raise InputError(f"unknown field {fld!r} in the column mapping; fields: {', '.join(CSV_COLUMNS)}")
        if _norm_header(name) not in seen:
            raise InputError(f"{where}:1: no column {name!r} (mapped to {fld}); columns are: "
                             f"{', '.join(h for h in header if h)[:300]}")
        out[fld] = [seen[_norm_header(name)]]
    used = {i for cols in out.values() for i in cols}
    for fld, names in CSV_COLUMNS.items():
        if fld not in out:
            cols = [seen[n] for n in names if n in seen and seen[n] not in used]
            if cols:
                out[fld] = cols[:1] if fld == "id" else cols
                used.update(out[fld])
    if "title" not in out and "doi" not in out and "abstract" not in out:
        raise InputError(f"{where}:1: no title or DOI column, nor an abstract or sentence column (looked for "
                         f"{', '.join(CSV_COLUMNS['title'][:4])}, doi, abstract, sentence); name yours with "
                         "--column title=NAME")
    return out


def _quoting(text: str, delimiter: str) -> int:
    """``csv.QUOTE_NONE`` for a tab-separated file whose quotes are text (``"Co-production" is ...``), which
    CSV quoting would swallow or break on; else the usual quoting. Tab-separated exports (WoS, our labelled
    sentence sets) do not quote; a file that does parses to rows of equal length with quoting on."""
    if delimiter != "\t" or '"' not in text:
        return csv.QUOTE_MINIMAL
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return csv.QUOTE_NONE
    plain = [ln.count("\t") for ln in text.splitlines() if ln.strip()]
    if len({len(r) for r in rows if any(c.strip() for c in r)}) > 1 or len(rows) != len(plain):
        return csv.QUOTE_NONE
    return csv.QUOTE_MINIMAL


def read_csv(path: str | Path, lenient: bool = False, columns: dict[str, str] | None = None,
             encoding: str = "utf-8", delimiter: str | None = None, strict: bool = False) -> ImportResult:
    """Read a CSV or tab-separated export; columns are found by name (see :data:`CSV_COLUMNS`).

    Parameters
    ----------
    columns : dict, optional
        Our field name -> the file's header name, for columns with unusual names.
    delimiter : str, optional
        Default: guessed from the header line (comma, semicolon or tab).
    """
    path = Path(path)
    col = _Collector(path, "csv", lenient, strict)
    text = _read_text(path, encoding)
    first_line = text.split("\n", 1)[0]
    if delimiter is None:
        counts = {d: first_line.count(d) for d in ("\t", ",", ";")}
        delimiter = max(counts, key=counts.get) if max(counts.values()) else ","
    csv.field_size_limit(MAX_FIELD * 10)
    quoting = _quoting(text, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=quoting != csv.QUOTE_NONE,
                        quoting=quoting)
    try:
        header = next(reader)
    except csv.Error as e:
        raise InputError(f"{path}:1: header line is not valid CSV ({e})") from None
    cmap = csv_column_map(header, columns, str(path))
    id_col = cmap["id"][0] if "id" in cmap else None
    single = [(f, c) for f, c in cmap.items() if len(c) == 1]
    multi = [(f, c) for f, c in cmap.items() if len(c) > 1]
    position = 0
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            msg = str(e)
            if "field larger" in msg:
                msg = f"a field is longer than {MAX_FIELD * 10:,} characters (an unclosed quote?)"
            elif "unexpected end of data" in msg or "EOF" in msg:
                msg = "file ends inside a quoted field (an unclosed quote?); the file may be truncated"
            col.problem(f"{start}", f"not valid CSV: {msg}")
            if not lenient:
                break
            # csv cannot resynchronise inside a broken quote: the rest of the file is not trustworthy
            col.problem(f"{start}", "rows after this line were not read (broken quoting)")
            break
        line = start
        if not "".join(row).strip():
            continue
        position += 1
        if len(row) != len(header):
            hint = "quote or delimiter" if len(row) > len(header) else "line break or missing field"
            col.problem(f"{line}", f"row has {len(row)} fields, the header has {len(header)} (a stray {hint}?)")
            continue
        values = {fld: row[cols[0]] for fld, cols in single}
        for fld, cols in multi:
            values[fld] = next((row[i] for i in cols if not is_missing(row[i])), "")
        if is_missing(values.get("pages")) and not is_missing(values.get("article_number")) \
                and is_missing(values.get("first_page")):
            values["pages"] = values["article_number"]
        has_id = id_col is not None and not is_missing(row[id_col])
        key = row[id_col].strip() if has_id else str(position)
        locator = f"{line}" + (f" ID={key}" if has_id else f" #{position}")
        rec = col.build(values, Source("csv", str(path), locator), key, f"{line}", "row")
        col.add(rec, dict(zip(header, row)), key, f"{line}")
    return _finish(col, header)


# -- EndNote XML ------------------------------------------------------------------------------
_EN_MAX_DEPTH = 12  # elements below <record>; EndNote's deepest field (urls/related-urls/url/style) is 4
_EN_LISTS = frozenset({"keywords/keyword", "urls/related-urls/url", "urls/web-urls/url", "electronic-resource-num"})


class _EndNoteParser:
    """Fields of each ``<record>`` of an EndNote XML export, as ``(line, fields)``: the text of each element below
    the record by its path (``titles/title``, ``contributors/authors/author``), formatting runs (``<style>``) joined
    and whitespace collapsed, list fields split at EndNote's line breaks (``&#xD;``); attributes as ``path@name``.

    A document type with declarations (entities, default attributes), an entity the parser cannot expand, or
    elements nested deeper than any export are refused: they are how a small hostile file expands in memory or
    reads other files, and no export has them.
    """

    def __init__(self, col: _Collector):
        self.col, self.done, self.root = col, [], ""
        self.fields: dict[str, list[str]] | None = None
        self.path: list[str] = []
        self.texts: list[list[str]] = []
        self.line = 0
        p = self.parser = xml.parsers.expat.ParserCreate()
        p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = self.start, self.end, self.chars
        p.StartDoctypeDeclHandler, p.SkippedEntityHandler = self.doctype, self.skipped

    def refuse(self, why: str) -> None:
        raise InputError(f"{self.col.path}:{self.parser.CurrentLineNumber}: {why}; refused (no EndNote export "
                         "has it, and hostile files use it to expand in memory or read other files)")

    def doctype(self, name: str, system_id: str | None, public_id: str | None, has_internal_subset: int) -> None:
        if has_internal_subset:
            self.refuse("the XML declares entities or attributes in its document type")

    def skipped(self, name: str, is_parameter_entity: int) -> None:
        self.refuse(f"the XML uses the entity &{name}; from an external document type")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if not self.root:
            self.root = name
        if self.fields is None:
            if name == "record":
                self.fields, self.path, self.texts, self.line = {}, [], [], self.parser.CurrentLineNumber
            return
        if name == "style":
            return
        if len(self.path) >= _EN_MAX_DEPTH:
            self.refuse(f"elements nested deeper than {_EN_MAX_DEPTH} levels inside a record")
        self.path.append(name)
        self.texts.append([])
        for k, v in attrs.items():
            self.fields.setdefault("/".join(self.path) + "@" + k, []).append(" ".join(v.split()))

    def end(self, name: str) -> None:
        if self.fields is None or name == "style":
            return
        if not self.path:  # </record>
            self.done.append((self.line, self.fields))
            self.fields = None
            return
        where = "/".join(self.path)
        text = "".join(self.texts.pop())
        self.path.pop()
        for part in text.split("\r") if where in _EN_LISTS else (text,):
            if part.split():
                self.fields.setdefault(where, []).append(" ".join(part.split()))

    def chars(self, text: str) -> None:
        if self.fields is not None and self.texts:
            self.texts[-1].append(text)

    def records(self, fh: Any) -> Iterator[tuple[int, dict[str, list[str]]]]:
        try:
            while chunk := fh.read(1 << 20):
                self.parser.Parse(chunk, False)
                yield from self.done
                self.done.clear()
            self.parser.Parse(b"", True)
        except xml.parsers.expat.ExpatError as e:  # the records completed before the break follow below
            self.col.problem(f"{e.lineno}", f"not well-formed XML ({xml.parsers.expat.ErrorString(e.code)}, column "
                                            f"{e.offset}); the file may be truncated, not UTF-8 as it declares, or "
                                            "not an EndNote XML export")
        except ValueError as e:  # an encoding expat cannot read ("multi-byte encodings are not supported")
            raise InputError(f"{self.col.path}: {e}; save the file as UTF-8") from None
        yield from self.done


_EN_BOOKS = frozenset({"book", "book section", "edited book", "electronic book", "electronic book section"})


def _endnote_values(f: dict[str, list[str]]) -> dict[str, Any]:
    first = lambda *paths: next((f[p][0] for p in paths if f.get(p)), "")  # noqa: E731
    ref = first("ref-type@name")
    book = ref.lower() in _EN_BOOKS
    urls = f.get("urls/related-urls/url", []) + f.get("urls/web-urls/url", [])
    an = re.sub(r"^pmid:?\s*", "", first("accession-num"), flags=re.I)
    db = f"{first('remote-database-name')} {first('remote-database-provider')}".lower()
    pubmed = an.isdigit() and "embase" not in db and (
        any(w in db for w in ("pubmed", "medline", "nlm"))
        or any(re.search(rf"pubmed(?:\.ncbi\.nlm\.nih\.gov)?/{an}\b", u) for u in urls))
    date = first("dates/pub-dates/date")
    return {
        "title": first("titles/title", "titles/translated-title", "titles/short-title"),
        "abstract": first("abstract"),
        "authors": f.get("contributors/authors/author", []),
        "year": first("dates/year") or (date if _YEAR.search(date) else ""),  # a month alone ("Jan") says nothing
        # a journal article's journal, a section's book, a conference paper's conference, a book's series (a
        # book's alt-title is another title of the book, an article's the journal abbreviated)
        "venue": first("titles/secondary-title", "periodical/full-title", "periodical/abbr-1",
                       *(() if book else ("titles/alt-title",))),
        "volume": first("volume"), "issue": first("number"), "pages": first("pages"),
        "doi": first("electronic-resource-num"), "pmid": an if pubmed else "",
        "isbn": first("isbn") if book else "",  # an ISSN otherwise
        "publisher": first("publisher"), "url": urls[0] if urls else "", "type": ref,
        "language": first("language"), "keywords": f.get("keywords/keyword", []),
    }


def read_endnote(path: str | Path, lenient: bool = False, encoding: str = "utf-8",
                 strict: bool = False) -> ImportResult:
    """Read an EndNote XML export (EndNote's File > Export > XML; Bookends and Zotero write it too).

    The file's own encoding declaration is followed (``encoding`` is not used). See :class:`_EndNoteParser` for
    what is refused.

    Raises
    ------
    InputError
        For a file that is not well-formed XML (``lenient`` keeps the records before the break) or holds no
        ``<record>`` (naming its root element), and for a hostile file.
    """
    path = Path(path)
    _require_file(path)
    col = _Collector(path, "endnote", lenient, strict)
    parser = _EndNoteParser(col)
    with open(path, "rb") as fh:
        if not fh.read(1 << 16).strip() and path.stat().st_size <= 1 << 16:
            raise InputError(f"{path}: file is empty")
        fh.seek(0)
        for position, (line, fields) in enumerate(parser.records(fh), 1):
            number = (fields.get("rec-number") or [""])[0]
            key = number or str(position)
            locator = f"{line} " + (f"rec-number={number}" if number else f"#{position}")
            rec = col.build(_endnote_values(fields), Source("endnote", str(path), locator), key, f"{line}", "record")
            col.add(rec, fields, key, f"{line}")
    if not col.result.records and not col.result.skipped and parser.root:
        raise InputError(f"{path}: no <record> elements: not an EndNote XML export (its root element is "
                         f"<{parser.root}>)")
    return _finish(col)


# -- OpenAlex ---------------------------------------------------------------------------------
def read_openalex(path: str | Path, lenient: bool = False) -> ImportResult:
    """Read OpenAlex works (JSON array, JSONL, API page, ``.gz``, ``.zip``) via :mod:`review.sources.snapshot`."""
    from review.core.errors import SnapshotError
    from review.sources.snapshot import iter_works

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    col = _Collector(path, "openalex", lenient)
    try:
        for loc, work in iter_works(path):
            try:
                if not isinstance(work, dict):
                    raise ValueError(f"expected a work object, got {type(work).__name__}")
                rec = from_openalex(work, Source("openalex", str(path), loc))
            except (ValueError, TypeError, AttributeError) as err:
                col.problem(loc.lstrip(":"), f"not a usable OpenAlex work ({err})")
                continue
            col.add(rec, work, rec.id, loc.lstrip(":"))
    except SnapshotError as e:
        raise InputError(str(e)) from None
    return _finish(col)


def _finish(col: _Collector, header: list[str] | None = None) -> ImportResult:
    res = col.result
    if not res.records and not res.skipped:
        raise InputError(f"{col.path}: no records found in this {res.format} file")
    untitled = [k for k, r in zip(res.keys, res.records) if not r.title]
    texts_only = bool(header) and any(h.strip().lower() in ("sentence", "text") for h in header if h)
    if untitled and not texts_only:  # a table of sentences or texts has no titles by design
        cols = f" (columns: {', '.join(h for h in header if h)[:200]})" if header else ""
        res.problems.append({"file": str(col.path), "line": "1" if header else "", "record": untitled[0],
                             "field": "title", "reason": f"{len(untitled)} of {len(res.records)} records have no "
                             f"title{cols}" + ("; name the title column with --column title=NAME" if header else "")})
    return res


READERS = {"ris": read_ris, "bibtex": read_bibtex, "csv": read_csv, "openalex": read_openalex,
           "endnote": read_endnote, "wos": lambda path, **kw: read_tagged(path, "wos", **kw),
           "medline": lambda path, **kw: read_tagged(path, "medline", **kw)}


def read_file(path: str | Path, format: str | None = None, lenient: bool = False,
              columns: dict[str, str] | None = None, encoding: str = "utf-8", strict: bool = False) -> ImportResult:
    """Read one file of any supported format (``format`` guessed from the name or content if None).

    Parameters
    ----------
    lenient : bool
        Skip (and list) a malformed entry instead of refusing the file.
    strict : bool
        Refuse the file for a malformed field too (default: drop the field, keep the record, list it in
        :attr:`ImportResult.problems`).
    """
    fmt = (format or detect_format(path)).lower()
    if fmt in ("bib", "bibtex"):
        fmt = "bibtex"
    if fmt not in READERS:
        raise InputError(f"{path}: unknown format {format!r}; formats: {', '.join(FORMATS)}")
    if fmt == "csv":
        return read_csv(path, lenient=lenient, columns=columns, encoding=encoding, strict=strict)
    if fmt == "openalex":
        return read_openalex(path, lenient=lenient)
    return READERS[fmt](path, lenient=lenient, encoding=encoding, strict=strict)


PROBLEM_COLUMNS = ("file", "line", "record", "field", "problem", "action")


def write_problems(path: str | Path, results: list[ImportResult]) -> int:
    """Write every problem of ``results`` (dropped fields, skipped entries) to a CSV file; returns their number.

    Columns: :data:`PROBLEM_COLUMNS`; ``action`` is ``field dropped``, ``record kept`` (an empty record),
    ``entry skipped`` or ``line left out`` (text between RIS references).
    """
    rows = []
    for res in results:
        rows += [(p["file"], p["line"], p["record"], p["field"], p["reason"],
                  p.get("action") or ("field dropped" if p["field"] else "record kept")) for p in res.problems]
        rows += [(s["file"], s["locator"].split()[0] if s["locator"] else "", "", "", s["reason"], "entry skipped")
                 for s in res.skipped]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PROBLEM_COLUMNS)
        w.writerows(rows)
    return len(rows)
