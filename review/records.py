"""The one record model of the review, and its conversion from OpenAlex JSON.

Every importer (OpenAlex, RIS, BibTeX, CSV) turns its input into :class:`Record`
at the edge; every stage after that works on records only.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any, Iterable

OPENALEX_PREFIX = "https://openalex.org/"
_DOI_RE = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_OA_ID_RE = re.compile(r"^(?:https?://(?:api\.)?openalex\.org/(?:works/)?)?([WwAaSsIiCcTtPpFfKk]\d+)$")


@dataclass
class Author:
    """One author of a work, as far as the source tells."""

    name: str
    openalex_id: str | None = None
    orcid: str | None = None
    institutions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


@dataclass
class Source:
    """Where a record came from: a search run, a file and the place in it."""

    kind: str  # "openalex", "snapshot", "ris", "bibtex", "csv", "snowball"
    name: str  # run label or file path
    locator: str = ""  # line, entry key, position or OpenAlex id within the source


@dataclass
class Record:
    """A bibliographic record, normalised.

    ``id`` is the key in the store: the short OpenAlex id (``W123``) when known,
    else a stable hash of the source and locator (``R…``).
    """

    id: str
    title: str = ""
    abstract: str = ""
    authors: list[Author] = field(default_factory=list)
    year: int | None = None
    venue: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    type: str = ""
    language: str = ""
    doi: str | None = None
    openalex_id: str | None = None
    pmid: str | None = None
    isbn: str = ""
    publisher: str = ""
    url: str = ""
    referenced_works: list[str] = field(default_factory=list)
    cited_by_count: int | None = None
    concepts: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the store's ``data`` column)."""
        # Same result as dataclasses.asdict, without its deep copies (20x faster; this runs per stored record).
        d = {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}
        d["authors"] = [{**a.__dict__, "institutions": list(a.institutions), "countries": list(a.countries)}
                        for a in self.authors]
        d["sources"] = [dict(s.__dict__) for s in self.sources]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Record":
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["authors"] = [Author(**a) for a in d.get("authors", [])]
        kw["sources"] = [Source(**s) for s in d.get("sources", [])]
        return cls(**kw)

    @property
    def text(self) -> str:
        """Title and abstract, the text screened and searched."""
        return f"{self.title}\n{self.abstract}".strip()

    @property
    def first_author(self) -> str:
        return self.authors[0].name if self.authors else ""


def normalize_doi(value: str | None) -> str | None:
    """Lower-case bare DOI (``10.x/y``) from any DOI form, or None."""
    if not value:
        return None
    m = _DOI_RE.search(str(value).strip())
    doi = m.group(0).rstrip(".,;").lower() if m else ""
    return doi if doi.partition("/")[2] else None  # "10.1234/." has no suffix left


def short_openalex_id(value: str | None) -> str | None:
    """``W123`` from ``https://openalex.org/W123`` (or any case of ``w123``)."""
    if not value:
        return None
    m = _OA_ID_RE.match(str(value).strip())
    return m.group(1).upper() if m else None


def normalize_pmid(value: str | None) -> str | None:
    if not value:
        return None
    digits = re.findall(r"\d+", str(value))
    return digits[-1] if digits else None


def rebuild_abstract(inverted: dict[str, list[int]] | None) -> str:
    """Abstract text from OpenAlex's ``abstract_inverted_index``."""
    if not inverted:
        return ""
    positions: list[tuple[int, str]] = [(p, word) for word, ps in inverted.items() for p in ps]
    if not all(type(p) is int for p, _ in positions):
        raise TypeError("abstract_inverted_index positions must be integers")
    positions.sort()
    return " ".join(w for _, w in positions)


def stable_id(*parts: str) -> str:
    """Deterministic record id for records without an OpenAlex id."""
    h = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]
    return f"R{h}"


_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_ALNUM = re.compile(r"[\W_]+")
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ł": "l", "œ": "oe", "þ": "th", "ð": "d"})


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-free text for matching."""
    text = (text or "").lower()
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).translate(_FOLD)
    return _NON_ALNUM.sub(" ", text).strip()


def _pages(biblio: dict | None) -> str:
    if not biblio:
        return ""
    first, last = biblio.get("first_page"), biblio.get("last_page")
    if first and last and first != last:
        return f"{first}-{last}"
    return str(first or last or "")


def _venue(work: dict) -> tuple[str, str]:
    """(venue name, publisher) from the current ``primary_location`` or the old ``host_venue``."""
    loc = work.get("primary_location") or {}
    src = loc.get("source") or {}
    hv = work.get("host_venue") or {}
    name = src.get("display_name") or hv.get("display_name") or ""
    publisher = src.get("host_organization_name") or hv.get("publisher") or ""
    return name or "", publisher or ""


def _names(items: Iterable[Any] | None) -> list[str]:
    out = []
    for it in items or []:
        name = it.get("display_name") if isinstance(it, dict) else it
        if name and name not in out:
            out.append(str(name))
    return out


# Top-level fields of an OpenAlex work that the conversion reads, with their JSON type (or null).
_WORK_FIELDS: dict[str, type] = {
    "title": str, "display_name": str, "publication_year": int, "type": str, "language": str, "doi": str,
    "ids": dict, "authorships": list, "biblio": dict, "primary_location": dict, "host_venue": dict,
    "primary_topic": dict, "abstract_inverted_index": dict, "referenced_works": list, "cited_by_count": int,
    "concepts": list, "topics": list, "keywords": list,
}
_TYPE_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}


def _wrong(oid: str, key: str, kind: type, value: Any) -> ValueError:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "…"
    return ValueError(f"OpenAlex work {oid}: field '{key}' should be {_TYPE_NAMES[kind]} or null, got {shown}")


def from_openalex(work: dict[str, Any], source: Source | None = None) -> Record:
    """Convert one OpenAlex Work object (old 2023 or current schema) to a :class:`Record`.

    Raises
    ------
    ValueError
        If the object is not a work with an OpenAlex id, or a field has the wrong JSON type
        (the message names the work and the field).
    """
    if not isinstance(work, dict):
        raise ValueError(f"expected an OpenAlex work object, got {type(work).__name__}")
    oid = short_openalex_id(work.get("id")) if isinstance(work.get("id"), str) else None
    if not oid:
        raise ValueError(f"OpenAlex work without a valid 'id': {str(work.get('id'))[:80]!r}")
    for key, kind in _WORK_FIELDS.items():
        value = work.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise _wrong(oid, key, kind, value)
    for key, kind in (("authorships", dict), ("referenced_works", str)):
        for i, item in enumerate(work.get(key) or []):
            if not isinstance(item, kind):
                raise _wrong(oid, f"{key}[{i}]", kind, item)
    for word, ps in (work.get("abstract_inverted_index") or {}).items():
        if not isinstance(ps, list):  # positions that are not integers fail in _convert
            raise ValueError(f"OpenAlex work {oid}: field 'abstract_inverted_index' should map words to lists "
                             f"of positions, got {word!r}: {ps!r:.40}")
    try:
        return _convert(work, oid, source)
    except (AttributeError, TypeError) as e:  # a nested object of the wrong type
        raise ValueError(f"OpenAlex work {oid}: unexpected data in a nested field ({e})") from None


def _convert(work: dict[str, Any], oid: str, source: Source | None) -> Record:
    ids = work.get("ids") or {}
    authors = []
    for a in work.get("authorships") or []:
        person = a.get("author") or {}
        insts = a.get("institutions") or []
        countries = list(a.get("countries") or [])
        for i in insts:
            cc = i.get("country_code")
            if cc and cc not in countries:
                countries.append(cc)
        authors.append(
            Author(
                name=person.get("display_name") or a.get("raw_author_name") or "",
                openalex_id=short_openalex_id(person.get("id")),
                orcid=person.get("orcid"),
                institutions=_names(insts),
                countries=countries,
            )
        )
    venue, publisher = _venue(work)
    biblio = work.get("biblio") or {}
    topics = _names(work.get("topics"))
    if not topics and work.get("primary_topic"):
        topics = _names([work["primary_topic"]])
    loc = work.get("primary_location") or {}
    return Record(
        id=oid,
        openalex_id=oid,
        title=(work.get("title") or work.get("display_name") or "").strip(),
        abstract=rebuild_abstract(work.get("abstract_inverted_index")),
        authors=authors,
        year=work.get("publication_year"),
        venue=venue,
        publisher=publisher,
        volume=str(biblio.get("volume") or ""),
        issue=str(biblio.get("issue") or ""),
        pages=_pages(biblio),
        type=work.get("type") or "",
        language=work.get("language") or "",
        doi=normalize_doi(work.get("doi") or ids.get("doi")),
        pmid=normalize_pmid(ids.get("pmid")),
        url=loc.get("landing_page_url") or "",
        referenced_works=[r for r in (short_openalex_id(x) for x in work.get("referenced_works") or []) if r],
        cited_by_count=work.get("cited_by_count"),
        concepts=_names(work.get("concepts")),
        topics=topics,
        keywords=_names(work.get("keywords")),
        sources=[source] if source else [],
    )
