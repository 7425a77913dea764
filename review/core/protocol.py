"""Review protocols as TOML files (data, never code).

A protocol names the review, its questions, its concepts (with synonyms per
language), its OpenAlex searches, its inclusion and exclusion criteria in a rule
form the screening stage applies, and settings for later stages. It is validated
on load; an error names the file, the line and the key, and says what is expected.

See ``protocols/coproduction.toml`` for a complete example.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from review.core.errors import ProtocolError, QueryError
from review.core.search_query import parse
from review.core.settings import TABLES, Config, check

RECORD_TYPES = {
    "article", "book", "book-chapter", "dataset", "dissertation", "editorial", "erratum", "grant",
    "letter", "other", "paratext", "peer-review", "preprint", "reference-entry", "report", "review",
    "standard", "libguides", "retraction", "supplementary-materials",
    # the 2023 schema's Crossref types
    "journal-article", "proceedings-article", "posted-content", "book-part", "book-section",
    "monograph", "reference-book", "edited-book", "proceedings", "journal", "component",
    "report-series", "book-series", "book-set", "journal-issue", "journal-volume",
}




@dataclass
class Concept:
    """A concept with its spelling variants and translations (``terms[lang]``) and related terms."""

    key: str
    label: str
    terms: dict[str, list[str]]
    related: list[str] = field(default_factory=list)

    @property
    def all_terms(self) -> list[str]:
        return [t for ts in self.terms.values() for t in ts]


@dataclass
class Search:
    """One OpenAlex query: search text and filters."""

    name: str
    query: str
    from_year: int | None = None
    to_year: int | None = None
    types: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    max_records: int | None = None


@dataclass
class Criterion:
    """A named inclusion or exclusion criterion with its machine-applicable rule.

    For ``kind="include"``, a record that fails the rule is excluded (reason: this
    criterion). For ``kind="exclude"``, a record that matches it is excluded.
    Terms match whole words in title and abstract, case- and accent-insensitive;
    a trailing ``*`` matches any ending.
    """

    name: str
    kind: str  # include | exclude
    description: str
    any_terms: list[str] = field(default_factory=list)
    all_terms: list[str] = field(default_factory=list)
    none_terms: list[str] = field(default_factory=list)
    from_year: int | None = None
    to_year: int | None = None
    languages: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    automatic: bool = True  # False: a reason for humans only

    @property
    def has_rule(self) -> bool:
        return bool(self.any_terms or self.all_terms or self.none_terms or self.from_year or self.to_year
                    or self.languages or self.types)


@dataclass
class Protocol:
    """A loaded, validated protocol."""

    id: str
    title: str
    questions: list[str]
    concepts: list[Concept]
    searches: list[Search]
    criteria: list[Criterion]
    config: Config  # every stage table, checked
    snapshot: Path | None
    store: Path
    path: Path | None
    text: str
    hash: str

    def fail(self, keypath: tuple, message: str) -> NoReturn:
        """Raise :class:`ProtocolError` naming this protocol's file, the line of ``keypath`` and the key."""
        _Checker(self.text, str(self.path) if self.path else "<protocol>").fail(keypath, message)
        raise AssertionError("unreachable")

    def concept(self, key: str) -> Concept:
        for c in self.concepts:
            if c.key == key:
                return c
        raise KeyError(key)


ID_PATTERN = r"[a-z0-9_-]+"  # a protocol id names files and folders: no dots, slashes or spaces
_KNOWN_TOP = {"id", "title", "questions", "description", "authors", "concepts", "searches", "criteria", *TABLES}


class _Checker:
    """Type checks that raise :class:`ProtocolError` with file, line and key."""

    def __init__(self, text: str, path: str):
        self.lines = text.splitlines()
        self.path = path

    def line_of(self, keypath: tuple) -> int | None:
        """Best-effort line of a key path such as ``("criteria", 2, "any_terms")``."""
        names = [k for k in keypath if isinstance(k, str)]
        if not names:
            return None
        last = names[-1]
        # 1) a table header naming the path, e.g. [concepts.coproduction] or [[criteria]]
        start = 0
        idx = [k for k in keypath if isinstance(k, int)]
        if len(names) >= 1:
            header_hits = [i for i, ln in enumerate(self.lines)
                           if re.match(r"\s*\[\[?\s*" + re.escape(names[0]) + r"\b", ln)]
            if header_hits:
                n = idx[0] if idx else 0
                start = header_hits[min(n, len(header_hits) - 1)]
        # `key = …` at the start of a line, or inside an inline table: `{ key = …` / `, key = …`
        pat = re.compile(r"(?:^\s*(?:[\w\"'.-]+\.)?|[{,]\s*)[\"']?" + re.escape(last) + r"[\"']?(?:\.[\w\"'-]+)*\s*=")
        for i in range(start, len(self.lines)):
            if pat.search(self.lines[i]):
                return i + 1
        for i, ln in enumerate(self.lines):
            if re.search(r"\[\[?[^\]]*\b" + re.escape(last) + r"\b", ln) or pat.search(ln):
                return i + 1
        return start + 1 if start else None

    def fail(self, keypath: tuple, msg: str) -> None:
        line = self.line_of(keypath)
        key = ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in keypath).replace(".[", "[")
        where = f"{self.path}:{line}" if line else self.path
        raise ProtocolError(f"{where}: key '{key}': {msg}")

    def get(self, table: dict, key: str, kind, keypath: tuple, required=False, default=None):
        if key not in table:
            if required:
                self.fail(keypath + (key,), f"is required ({_kind_name(kind)})")
            return default
        value = table[key]
        if kind is list_of_str:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.fail(keypath + (key,), f"expected a list of strings, got {_show(value)}")
            return value
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            self.fail(keypath + (key,), f"expected {_kind_name(kind)}, got {_show(value)}")
        return value


class list_of_str:  # marker type for _Checker.get
    pass


def _kind_name(kind) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", dict: "a table", list: "a list",
            list_of_str: "a list of strings", float: "a number"}.get(kind, str(kind))


def _show(value: Any) -> str:
    s = repr(value)
    return (s[:60] + "…") if len(s) > 60 else s


def load(path: str | Path) -> Protocol:
    """Load and validate a protocol file.

    Raises
    ------
    ProtocolError
        On a missing or unreadable file, a TOML syntax error or an invalid field.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProtocolError(f"{path}: protocol file not found; check the path") from None
    except (IsADirectoryError, PermissionError) as e:
        raise ProtocolError(f"{path}: cannot read the protocol file ({e.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ProtocolError(f"{path}:{line}: not UTF-8 text (byte {e.start}); save the protocol as UTF-8") from None
    return loads(text, path)


def loads(text: str, path: str | Path | None = None) -> Protocol:
    """Parse and validate protocol text (``path`` is used in messages and to resolve relative paths)."""
    where = str(path) if path else "<protocol>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        loc = f":{m.group(1)}" if m else f":{max(1, len(text.splitlines()))}" if "end of document" in msg else ""
        msg = re.sub(r" ?\(at .*\)", "", msg)
        raise ProtocolError(f"{where}{loc}: TOML syntax error: {msg}") from None
    c = _Checker(text, where)
    base = Path(path).resolve().parent if path else Path.cwd()

    for key in raw:
        if key not in _KNOWN_TOP:
            c.fail((key,), f"unknown key; expected one of {', '.join(sorted(_KNOWN_TOP))}")
    pid = c.get(raw, "id", str, (), required=True)
    if not re.fullmatch(ID_PATTERN, pid):
        like = re.sub(r"[^a-z0-9_-]+", "-", pid.lower()).strip("-") or "my-review"
        c.fail(("id",), f"{pid!r} is not a review id: use lower-case letters, digits, '-' and '_' only, "
                        f"e.g. id = {like!r} (it names the store reviews/<id>.sqlite and the folder out/<id>)")
    title = c.get(raw, "title", str, (), required=True)
    questions = c.get(raw, "questions", list_of_str, (), default=[])

    concepts = []
    ctab = c.get(raw, "concepts", dict, (), default={})
    for key, ct in ctab.items():
        kp = ("concepts", key)
        if not isinstance(ct, dict):
            c.fail(kp, "expected a table with 'label' and 'terms'")
        terms = c.get(ct, "terms", dict, kp, required=True)
        clean = {}
        for lang, _ in terms.items():
            clean[lang] = c.get(terms, lang, list_of_str, kp + ("terms",))
        if not any(clean.values()):
            c.fail(kp + ("terms",), "needs at least one term")
        concepts.append(Concept(key=key, label=c.get(ct, "label", str, kp, default=key), terms=clean,
                                related=c.get(ct, "related", list_of_str, kp, default=[])))

    searches = []
    for i, st in enumerate(c.get(raw, "searches", list, (), default=[])):
        kp = ("searches", i)
        if not isinstance(st, dict):
            c.fail(kp, "each [[searches]] entry must be a table")
        s = Search(
            name=c.get(st, "name", str, kp, default=f"search{i + 1}"),
            query=c.get(st, "query", str, kp, required=True),
            from_year=c.get(st, "from_year", int, kp),
            to_year=c.get(st, "to_year", int, kp),
            types=c.get(st, "types", list_of_str, kp, default=[]),
            languages=c.get(st, "languages", list_of_str, kp, default=[]),
            max_records=c.get(st, "max_records", int, kp),
        )
        _check_years(c, kp, s.from_year, s.to_year)
        unknown = set(st) - {"name", "query", "from_year", "to_year", "types", "languages", "max_records"}
        if unknown:
            c.fail(kp + (sorted(unknown)[0],), "unknown key in [[searches]]")
        if not s.query.strip():
            c.fail(kp + ("query",), "must not be empty")
        try:
            parse(s.query)
        except QueryError as e:
            c.fail(kp + ("query",), str(e))
        searches.append(s)
    if len({s.name for s in searches}) != len(searches):
        c.fail(("searches", "name"), "search names must be unique")

    criteria = []
    allowed = {"name", "kind", "description", "any_terms", "all_terms", "none_terms", "from_year",
               "to_year", "languages", "types", "automatic"}
    for i, ct in enumerate(c.get(raw, "criteria", list, (), default=[])):
        kp = ("criteria", i)
        if not isinstance(ct, dict):
            c.fail(kp, "each [[criteria]] entry must be a table")
        unknown = set(ct) - allowed
        if unknown:
            c.fail(kp + (sorted(unknown)[0],), f"unknown key; expected one of {', '.join(sorted(allowed))}")
        kind = c.get(ct, "kind", str, kp, required=True)
        if kind not in ("include", "exclude"):
            c.fail(kp + ("kind",), f"expected \"include\" or \"exclude\", got {kind!r}")
        cr = Criterion(
            name=c.get(ct, "name", str, kp, required=True),
            kind=kind,
            description=c.get(ct, "description", str, kp, default=""),
            any_terms=c.get(ct, "any_terms", list_of_str, kp, default=[]),
            all_terms=c.get(ct, "all_terms", list_of_str, kp, default=[]),
            none_terms=c.get(ct, "none_terms", list_of_str, kp, default=[]),
            from_year=c.get(ct, "from_year", int, kp),
            to_year=c.get(ct, "to_year", int, kp),
            languages=c.get(ct, "languages", list_of_str, kp, default=[]),
            types=c.get(ct, "types", list_of_str, kp, default=[]),
            automatic=c.get(ct, "automatic", bool, kp, default=True),
        )
        _check_years(c, kp, cr.from_year, cr.to_year)
        criteria.append(cr)
    if len({cr.name for cr in criteria}) != len(criteria):
        c.fail(("criteria", "name"), "criterion names must be unique")

    config = _config(raw, c, {k.key for k in concepts})
    snapshot, store = config.source.snapshot, config.source.store or f"reviews/{pid}.sqlite"

    return Protocol(
        id=pid, title=title, questions=questions, concepts=concepts, searches=searches, criteria=criteria,
        config=config,
        snapshot=(base / snapshot) if snapshot else None,
        store=Path(store),  # relative to the working directory, like every output path
        path=Path(path) if path else None, text=text,
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


def _config(raw: dict[str, Any], c: _Checker, concept_keys: set[str]) -> Config:
    """Every stage table of the protocol, checked (file, line and key on the first bad one)."""
    tables = {name: check(raw[name], cls, (name,), c.fail) for name, cls in TABLES.items() if name in raw}
    d = tables.get("definitions")
    if d is not None:
        unknown = [k for k in d.concepts or [] if k not in concept_keys]
        if unknown:
            c.fail(("definitions", "concepts"), f"unknown concept {unknown[0]!r}; the protocol's concepts are "
                   f"{', '.join(sorted(concept_keys)) or 'none'}")
        if d.k_max < d.k_min:
            c.fail(("definitions", "k_max"), f"need k_min <= k_max (got k_min={d.k_min}, k_max={d.k_max})")
    return Config(**tables)


def _check_years(c: _Checker, kp: tuple, lo: int | None, hi: int | None) -> None:
    for key, y in (("from_year", lo), ("to_year", hi)):
        if y is not None and not 1000 <= y <= 2100:
            c.fail(kp + (key,), f"expected a year between 1000 and 2100, got {y}")
    if lo and hi and lo > hi:
        c.fail(kp + ("to_year",), f"to_year {hi} is before from_year {lo}")
