"""The one record model of the review, and its conversion from OpenAlex JSON.

Every importer (OpenAlex, RIS, BibTeX, CSV) turns its input into :class:`Record`
at the edge; every stage after that works on records only.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


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

    kind: str  # "openalex", "snapshot", "snowball", or the file format ("ris", "bibtex", "csv", "endnote", …)
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
    def from_dict(cls, d: dict[str, Any]) -> Record:
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


# Top-level fields of an OpenAlex work that the conversion reads, with their JSON type (or null).
_WORK_FIELDS: dict[str, type] = {
    "title": str, "display_name": str, "publication_year": int, "type": str, "language": str, "doi": str,
    "ids": dict, "authorships": list, "biblio": dict, "primary_location": dict, "host_venue": dict,
    "primary_topic": dict, "abstract_inverted_index": dict, "referenced_works": list, "cited_by_count": int,
    "concepts": list, "topics": list, "keywords": list,
}


# OpenAlex's 2023 work types and their current names: a criterion on "article" matches a "journal-article".
_TYPE_ALIASES = {"journal-article": "article", "proceedings-article": "article", "posted-content": "preprint",
                 "book-part": "book-chapter", "book-section": "book-chapter", "monograph": "book",
                 "edited-book": "book", "reference-book": "book", "proceedings": "book", "component": "other",
                 "journal": "other", "journal-issue": "other", "journal-volume": "other", "report-series": "report",
                 "book-series": "book", "book-set": "book"}


def base_type(work_type: str) -> str:
    """The current OpenAlex name of a work type (``journal-article`` -> ``article``); lower-cased."""
    t = (work_type or "").strip().lower()
    return _TYPE_ALIASES.get(t, t)
