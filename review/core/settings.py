"""Every stage's protocol table as a dataclass with types and allowed values, checked when the protocol loads.

A table's keys are the fields of its dataclass; each field's metadata says what a value must be
(``kind``, ``choices``, ``min``, ``max``). :func:`check` turns a TOML table into the dataclass or fails
with one line that names the file, the line and the key, and suggests the closest key for a typo, so a
bad protocol stops before any stage writes anything.

The vocabularies of protocol values (network kinds, export formats, stop rules, ...) live here too:
the stages that use them import them from this module, so the checker and the code cannot disagree.
"""
from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

# -- vocabularies of protocol values --------------------------------------------------------------
SCREENING_STAGES = ("title_abstract", "full_text")
STOP_RULES = ("hypergeometric", "consecutive")
DEFINITION_FIELDS = ("title", "abstract", "fulltext")
CLUSTER_METHODS = ("tfidf", "embeddings")
NETWORK_KINDS = ("citation", "cocitation", "coupling", "coauthorship", "institutions", "countries",
                 "concepts", "topics", "keywords", "terms")
NETWORK_NORMS = ("association", "cosine", "jaccard", "none")
NETWORK_FORMATS = ("graphml", "gexf", "vosviewer", "cytoscape", "html", "png", "svg", "csv")
NETWORK_RECORDS = ("auto", "all", "included")
SUBJECT_FIELDS = ("auto", "topics", "keywords", "concepts")
EXPORT_FORMATS = ("bibtex", "ris", "csljson")
IMPORT_FORMATS = ("ris", "bibtex", "csv", "openalex", "wos", "medline", "endnote")  # wos: Web of Science plain text


def setting(default: Any, kind: Any, *, choices: tuple | None = None, min: float | None = None,
            max: float | None = None, doc: str = "") -> Any:
    """A dataclass field with what its value must be.

    ``kind``: ``str``, ``int``, ``float``, ``bool``, ``"list[str]"``, ``"list[int]"``, ``"table"`` (any
    table, its keys checked by the stage), ``"terms"`` (a table of tables of term lists), or a settings
    dataclass for a nested table. ``None`` as default means "not set".
    """
    meta = {"kind": kind, "choices": choices, "min": min, "max": max, "doc": doc}
    if isinstance(default, (list, dict)) or (isinstance(kind, type) and hasattr(kind, "__dataclass_fields__")):
        factory = (lambda d=default: type(d)(d)) if isinstance(default, (list, dict)) else kind
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SourceSettings:
    """``[source]``: where records come from when no search reaches OpenAlex."""

    snapshot: str | None = setting(None, str, doc="an OpenAlex snapshot file searched offline")
    store: str | None = setting(None, str, doc="the review store (default reviews/<id>.sqlite)")


@dataclass(frozen=True)
class SnowballSettings:
    """``[snowball]``: citation chasing after the searches."""

    backward: bool = setting(True, bool)
    forward: bool = setting(True, bool)
    depth: int = setting(1, int, min=1, max=5)
    max_records: int = setting(5000, int, min=1)


@dataclass(frozen=True)
class DedupSettings:
    """``[dedup]``."""

    link_related: bool = setting(True, bool, doc="link records that are related (erratum, reply) but not the same")


@dataclass(frozen=True)
class StopRuleSettings:
    """``[screening] stop_rule``: when to recommend stopping screening."""

    kind: str = setting("hypergeometric", str, choices=STOP_RULES)
    target_recall: float = setting(0.95, float, min=0.0, max=1.0)
    confidence: float = setting(0.95, float, min=0.0, max=1.0)
    min_screened: int = setting(100, int, min=0)
    consecutive: int = setting(100, int, min=0)


@dataclass(frozen=True)
class ScreeningSettings:
    """``[screening]``. ``features`` and ``model`` are the parameters of the screening model's
    feature extractor and ranker; their keys are checked by the screening stage before any stage runs."""

    reviewers: list[str] = setting([], "list[str]")
    stages: list[str] = setting(list(SCREENING_STAGES), "list[str]", choices=SCREENING_STAGES)
    labels: str | None = setting(None, str, doc="a labels CSV (openalex_id,label_included) to simulate screening")
    stop_rule: StopRuleSettings = setting(None, StopRuleSettings)
    features: dict = setting({}, "table")
    model: dict = setting({}, "table")


@dataclass(frozen=True)
class DefinitionsSettings:
    """``[definitions]``."""

    concepts: list[str] | None = setting(None, "list[str]", doc="concept keys (default: every concept)")
    fields: list[str] = setting(list(DEFINITION_FIELDS), "list[str]", choices=DEFINITION_FIELDS)
    related: bool = setting(False, bool)
    only_included: bool = setting(False, bool)
    cluster_method: str = setting("tfidf", str, choices=CLUSTER_METHODS)
    k_min: int = setting(2, int, min=2)
    k_max: int = setting(8, int, min=2)
    min_cluster_size: int = setting(3, int, min=1)
    seed: int = setting(0, int, min=0)
    mask_concepts: bool = setting(True, bool)
    dimensions: dict = setting({}, "terms")
    threshold: float = setting(0.65, float, min=0.0, max=1.0,
                               doc="the definition model's probability from which a sentence is taken as a definition")


@dataclass(frozen=True)
class NetworkKindSettings:
    """``[networks.<kind>]``: one kind's overrides of the ``[networks]`` settings."""

    min_count: int | None = setting(None, int, min=1)
    norm: str | None = setting(None, str, choices=NETWORK_NORMS)
    max_nodes: int | None = setting(None, int, min=1)
    records: str | None = setting(None, str, choices=NETWORK_RECORDS)
    periods: list[int] | None = setting(None, "list[int]")
    seed: int | None = setting(None, int)
    resolution: float | None = setting(None, float, min=0.0)
    formats: list[str] | None = setting(None, "list[str]", choices=NETWORK_FORMATS)
    field: str | None = setting(None, str, choices=SUBJECT_FIELDS)
    top: int | None = setting(None, int, min=1)


@dataclass(frozen=True)
class NetworksSettings:
    """``[networks]``, and per kind ``[networks.<kind>]`` tables with the same keys (but ``kinds``)."""

    kinds: list[str] = setting(["cocitation", "coupling", "citation", "coauthorship", "concepts"], "list[str]",
                               choices=NETWORK_KINDS)
    min_count: int | None = setting(None, int, min=1, doc="default: chosen per kind from the data")
    norm: str = setting("association", str, choices=NETWORK_NORMS)
    max_nodes: int = setting(1000, int, min=1)
    records: str = setting("auto", str, choices=NETWORK_RECORDS)
    periods: list[int] | None = setting(None, "list[int]", doc="years that start a new period, e.g. [2010, 2018]")
    seed: int = setting(42, int)
    resolution: float = setting(1.0, float, min=0.0)
    formats: list[str] = setting(list(NETWORK_FORMATS), "list[str]", choices=NETWORK_FORMATS)
    field: str = setting("auto", str, choices=SUBJECT_FIELDS)
    top: int = setting(20, int, min=1)
    per_kind: dict = dataclasses.field(default_factory=dict)  # kind -> NetworkKindSettings, from [networks.<kind>]

    def for_kind(self, kind: str) -> dict[str, Any]:
        """The settings of one kind: ``[networks]`` with the kind's table over it."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("kinds", "per_kind")}
        over = self.per_kind.get(kind)
        if over is not None:
            out.update({f.name: getattr(over, f.name) for f in fields(over) if getattr(over, f.name) is not None})
        return out


@dataclass(frozen=True)
class ExportSettings:
    """``[export]``."""

    abstract: bool = setting(True, bool)
    unicode: bool = setting(True, bool)
    formats: list[str] = setting(list(EXPORT_FORMATS), "list[str]", choices=EXPORT_FORMATS)


@dataclass(frozen=True)
class ReportSettings:
    """``[report]`` (no settings yet: any key is an error)."""


@dataclass(frozen=True)
class Config:
    """The checked stage tables of a protocol."""

    source: SourceSettings = field(default_factory=SourceSettings)
    snowball: SnowballSettings | None = None  # None: no [snowball] table, no snowballing
    dedup: DedupSettings = field(default_factory=DedupSettings)
    screening: ScreeningSettings = field(default_factory=ScreeningSettings)
    definitions: DefinitionsSettings = field(default_factory=DefinitionsSettings)
    networks: NetworksSettings = field(default_factory=NetworksSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    report: ReportSettings = field(default_factory=ReportSettings)


TABLES: dict[str, type] = {"source": SourceSettings, "snowball": SnowballSettings, "dedup": DedupSettings,
                           "screening": ScreeningSettings, "definitions": DefinitionsSettings,
                           "networks": NetworksSettings, "export": ExportSettings, "report": ReportSettings}

Fail = Callable[[tuple, str], None]  # fail(key path, message): raises ProtocolError naming file, line and key


def check(table: Any, cls: type, keypath: tuple, fail: Fail) -> Any:
    """``table`` (a TOML table) as an instance of the settings dataclass ``cls``, or ``fail`` on the first bad key."""
    if not isinstance(table, dict):
        fail(keypath, f"expected a table, got {_show(table)}")
    known = {f.name: f for f in fields(cls) if f.metadata}
    values = {}
    extra = {}
    for key, value in table.items():
        if key not in known:
            if cls is NetworksSettings and key in NETWORK_KINDS and isinstance(value, dict):
                extra[key] = check(value, NetworkKindSettings, keypath + (key,), fail)
                continue
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            kinds = " or a kind table such as [networks.cocitation]" if cls is NetworksSettings else ""
            expected = ", ".join(known) if known else "no keys"
            fail(keypath + (key,), f"unknown key; {hint}expected {expected}{kinds}")
        values[key] = _value(value, known[key], keypath + (key,), fail)
    if cls is NetworksSettings:
        values["per_kind"] = extra
    return cls(**values)


def _value(value: Any, f, keypath: tuple, fail: Fail) -> Any:
    kind, choices = f.metadata["kind"], f.metadata["choices"]
    if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__"):
        return check(value, kind, keypath, fail)
    if kind == "table":
        if not isinstance(value, dict):
            fail(keypath, f"expected a table, e.g. {{ key = value }}, got {_show(value)}")
        return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    if kind == "terms":
        return _terms(value, keypath, fail)
    if kind in ("list[str]", "list[int]"):
        item = str if kind == "list[str]" else int
        if not isinstance(value, list) or not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
            fail(keypath, f"expected a list of {'strings' if item is str else 'whole numbers'}, got {_show(value)}")
        bad = [v for v in value if choices and v not in choices]
        if bad:
            fail(keypath, f"unknown value {bad[0]!r}; use any of {', '.join(choices)}")
        return list(value)
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) if kind is float else \
        (isinstance(value, kind) and not (kind is int and isinstance(value, bool)))
    if not ok:
        fail(keypath, f"expected {_KIND_NAMES[kind]}, got {_show(value)}")
    if choices and value not in choices:
        fail(keypath, f"unknown value {value!r}; expected one of {', '.join(map(repr, choices))}")
    lo, hi = f.metadata["min"], f.metadata["max"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        fail(keypath, f"expected a number {rng}, got {value!r}")
    return float(value) if kind is float else value


def _terms(value: Any, keypath: tuple, fail: Fail) -> dict[str, dict[str, list[str]]]:
    if not isinstance(value, dict):
        fail(keypath, "expected tables of term lists, e.g. [definitions.dimensions.participants] "
                      'volunteers = ["volunteer*"]')
    out = {}
    for dim, levels in value.items():
        if not isinstance(levels, dict):
            fail(keypath + (dim,), "expected a table: level = [\"term*\", ...]")
        for level, terms in levels.items():
            if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
                fail(keypath + (dim, level), f"expected a non-empty list of terms, got {_show(terms)}")
        out[dim] = {lv: list(ts) for lv, ts in levels.items()}
    return out


_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}


def _show(value: Any) -> str:
    s = repr(value)
    return (s[:60] + "…") if len(s) > 60 else s
