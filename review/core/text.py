"""Text normalisation shared by every stage: identifiers (DOI, OpenAlex id, PMID), folding, abstracts."""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from urllib.parse import unquote

OPENALEX_PREFIX = "https://openalex.org/"
_DOI_RE = re.compile(r"10\.\d{4,9}/[^\s\"]+", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>|&[lg]t;")
_OA_ID_RE = re.compile(r"^(?:https?://(?:api\.)?openalex\.org/(?:works/)?)?([WwAaSsIiCcTtPpFfKk]\d+)$")


def normalize_doi(value: str | None) -> str | None:
    """Lower-case bare DOI (``10.x/y``) from any DOI form, or None.

    Takes URLs (percent-encoded too: ``10.1000%2Fabc``), ``doi:`` prefixes, and DOIs glued to the text around
    them in exports: a closing ``)``/``]`` without its opening one, an HTML tag (``10.1000/abc</a>``), quotes
    and trailing punctuation are not part of the DOI. Parentheses inside a DOI (``S0140-6736(20)30183-5``) and
    SICI angle brackets (``<693::AID-ASI4>``) are kept.
    """
    if not value:
        return None
    text = str(value).strip()
    if "%" in text:
        text = unquote(text)
    m = _DOI_RE.search(text)
    if not m:
        return None
    doi = _HTML_TAG.split(m.group(0), 1)[0].rstrip(".,;:'\"")
    for open_, close in ("()", "[]"):
        while doi.endswith(close) and doi.count(close) > doi.count(open_):
            doi = doi[:-1].rstrip(".,;:")
    doi = doi.lower()
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
        # lower-case again after NFKD: compatibility forms such as '𝖠' (U+1D5A0) decompose to capitals
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower().translate(_FOLD)
    return _NON_ALNUM.sub(" ", text).strip()


_TAG = re.compile(r"</?([a-zA-Z][\w:.-]*)(?:\s[^<>]{0,200})?/?>")
_INLINE_TAGS = frozenset("i b em strong sub sup span a u sc small tt italic bold underline".split())


def strip_markup(text: str | None) -> str:
    """Text without HTML/JATS tags and entities (``&lt;p&gt;Co-production&lt;/p&gt;``, ``<i>in vivo</i>``).

    Entities are decoded before tags are removed, so escaped markup goes too; whitespace is collapsed.
    """
    if not text:
        return ""
    s = str(text)
    for _ in range(2):  # "&amp;lt;p&amp;gt;" is escaped twice
        if "&" not in s:
            break
        s = html.unescape(s)
    if "<" in s:  # inline tags (<i>, <sub>, <jats:italic>) join their text; others separate it
        s = _TAG.sub(lambda m: "" if m.group(1).lower().rpartition(":")[2] in _INLINE_TAGS else " ", s)
    return " ".join(s.split())


def full_last_page(first: str, last: str) -> str:
    """The last page written in full: ``("1325", "9")`` gives ``"1329"`` (the ``1325-9`` of MEDLINE and many
    journals); anything else is returned as is."""
    if first.isdigit() and last.isdigit() and len(last) < len(first):
        return first[: len(first) - len(last)] + last
    return last
