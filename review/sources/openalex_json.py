"""OpenAlex Work JSON to :class:`review.core.records.Record` (old and current schema): the OpenAlex edge."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from review.core.records import _WORK_FIELDS, Author, Record, Source
from review.core.text import normalize_doi, normalize_pmid, rebuild_abstract, short_openalex_id, strip_markup


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
        title=strip_markup(work.get("title") or work.get("display_name")),
        abstract=strip_markup(rebuild_abstract(work.get("abstract_inverted_index"))),
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
