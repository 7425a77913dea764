"""Screening: rule pre-screen, prioritised human screening, dual review, conflicts, agreement.

Stages and reviewers in the ``decisions`` table:

- ``stage="prescreen"``, ``reviewer="rules"``: exclusions by the protocol's automatic criteria
  (PRISMA "excluded by automation tools"; each also logged as a ``screening /
  excluded_by_automation`` event with the criterion).
- ``stage="title_abstract"`` and ``stage="full_text"``: human decisions (include / exclude /
  maybe, with the criterion as reason and a note), one row per decision, append-only.
- Dual screening: each reviewer screens blind — a :class:`ScreeningSession` reads and trains
  on its own reviewer's decisions only. Disagreements are listed by :func:`conflicts` and
  settled by :func:`resolve`, which writes the decision in the same stage under reviewer
  ``"reconciled"``. :func:`final_decisions` gives a stage's outcome per record: the
  reconciled decision if any, else the reviewers' common decision.
- The full-text pool is the records whose final title-abstract decision is include or maybe.
"""
from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterable, Sequence

from .protocol import Criterion, Protocol
from .query import term_pattern
from .ranking import Prioritiser, Ranker, TextFeatures
from .records import Record, fold, short_openalex_id
from .stopping import StopRule
from .stopping import evaluate as evaluate_stopping
from .store import Store

DECISIONS = ("include", "exclude", "maybe")
STAGES = ("title_abstract", "full_text")
RULES_REVIEWER = "rules"
RECONCILED = "reconciled"
PRESCREEN = "prescreen"


class ScreeningError(ValueError):
    """A screening request that cannot be done; the message says why and what to do."""


# -- rule pre-screen ---------------------------------------------------------------------------
def _term_hit(terms: list[str], text: str) -> bool:
    p = term_pattern(terms)
    return bool(p and p.search(text))


def rule_matches(criterion: Criterion, rec: Record, text: str | None = None) -> bool | None:
    """Whether ``rec`` satisfies every condition of the criterion's rule.

    ``text`` is the record's folded title and abstract (computed if not given). Returns
    None when a condition cannot be judged because the record lacks the field (no year,
    language, type or text): missing data never excludes a record.
    """
    text = fold(rec.text) if text is None else text
    checks: list[bool] = []
    if criterion.any_terms or criterion.all_terms or criterion.none_terms:
        if not text:
            return None
        if criterion.any_terms:
            checks.append(_term_hit(criterion.any_terms, text))
        if criterion.all_terms:
            checks.append(all(_term_hit([t], text) for t in criterion.all_terms))
        if criterion.none_terms:
            checks.append(not _term_hit(criterion.none_terms, text))
    if criterion.from_year or criterion.to_year:
        if rec.year is None:
            return None
        checks.append((criterion.from_year or -10**6) <= rec.year <= (criterion.to_year or 10**6))
    if criterion.languages:
        if not rec.language:
            return None
        checks.append(rec.language.lower() in {x.lower() for x in criterion.languages})
    if criterion.types:
        if not rec.type:
            return None
        checks.append(rec.type.lower() in {x.lower() for x in criterion.types})
    return all(checks)


def excluding_criteria(protocol: Protocol, rec: Record) -> list[str]:
    """Names of the automatic criteria that exclude ``rec`` (protocol order)."""
    text = fold(rec.text)
    out = []
    for c in protocol.criteria:
        if not (c.automatic and c.has_rule):
            continue
        m = rule_matches(c, rec, text)
        if m is None:
            continue
        if (c.kind == "include" and not m) or (c.kind == "exclude" and m):
            out.append(c.name)
    return out


def prescreen(store: Store, protocol: Protocol, progress: bool = True) -> dict[str, Any]:
    """Apply the protocol's automatic criteria to every unique record.

    Each exclusion is a decision (``stage="prescreen"``, ``reviewer="rules"``, ``criterion`` =
    the first excluding criterion) and an ``excluded_by_automation`` event. Re-running with
    the same protocol hash changes nothing; with a new protocol, records the new rules no
    longer exclude get an ``undo`` decision (and a ``prescreen_retracted`` event).
    """
    from tqdm import tqdm

    current = store.current_decisions(PRESCREEN, reviewer=RULES_REVIEWER)
    excluded, new, retracted = Counter(), 0, 0
    with store.transaction():
        recs = store.records(unique=True)
        for rec in tqdm(recs, total=store.count_records(unique=True), desc="pre-screen", disable=not progress):
            reasons = excluding_criteria(protocol, rec)
            row = current.get(rec.id)
            if reasons:
                excluded[reasons[0]] += 1
                if row is not None and row["protocol_hash"] == protocol.hash and row["criterion"] == reasons[0]:
                    continue
                store.add_decision(rec.id, "exclude", RULES_REVIEWER, stage=PRESCREEN, criterion=reasons[0],
                                   note="; ".join(reasons), protocol_hash=protocol.hash)
                store.log("screening", "excluded_by_automation", rec.id, protocol_hash=protocol.hash,
                          actor=RULES_REVIEWER, data={"criterion": reasons[0], "criteria": reasons})
                new += 1
            elif row is not None:
                store.add_decision(rec.id, "undo", RULES_REVIEWER, stage=PRESCREEN, protocol_hash=protocol.hash,
                                   note="no automatic criterion excludes it under this protocol")
                store.log("screening", "prescreen_retracted", rec.id, protocol_hash=protocol.hash,
                          actor=RULES_REVIEWER, data={"criterion": row["criterion"]})
                retracted += 1
    return {"excluded": sum(excluded.values()), "by_criterion": dict(excluded), "new_decisions": new,
            "retracted": retracted}


# -- pools and decisions -------------------------------------------------------------------------
def final_decisions(store: Store, stage: str = "title_abstract") -> dict[str, str]:
    """Outcome per record of a stage: the reconciled decision, else the reviewers' common one.

    Records whose reviewers disagree and are not reconciled are left out (see :func:`conflicts`).
    """
    by_rec: dict[str, dict[str, str]] = defaultdict(dict)
    for (rid, reviewer), row in store.current_decisions(stage).items():
        by_rec[rid][reviewer] = row["decision"]
    out = {}
    for rid, ds in by_rec.items():
        if RECONCILED in ds:
            out[rid] = ds[RECONCILED]
        elif len(set(ds.values())) == 1:
            out[rid] = next(iter(ds.values()))
    return out


def pool_ids(store: Store, stage: str = "title_abstract") -> list[str]:
    """Records to screen at a stage, in store order.

    Title-abstract: unique records not excluded by the pre-screen. Full text: records whose
    final title-abstract decision is include or maybe.
    """
    if stage not in STAGES:
        raise ScreeningError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    ids = store.record_ids(unique=True)
    if stage == "title_abstract":
        out = set(store.current_decisions(PRESCREEN, reviewer=RULES_REVIEWER))
        return [i for i in ids if i not in out]
    passed = {rid for rid, d in final_decisions(store, "title_abstract").items() if d in ("include", "maybe")}
    return [i for i in ids if i in passed]


def _check_decision(protocol: Protocol | None, decision: str, criterion: str | None) -> None:
    if decision not in DECISIONS:
        raise ScreeningError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if criterion is not None and protocol is not None and protocol.criteria:
        names = [c.name for c in protocol.criteria]
        if criterion not in names:
            raise ScreeningError(f"criterion {criterion!r} is not in the protocol; use one of {', '.join(names)}")


def conflicts(store: Store, stage: str = "title_abstract") -> list[dict[str, Any]]:
    """Records two or more reviewers decided differently and nobody has reconciled yet.

    Each item: ``{"record_id", "title", "decisions": {reviewer: {"decision", "criterion", "note"}}}``.
    """
    by_rec: dict[str, dict[str, Any]] = defaultdict(dict)
    for (rid, reviewer), row in store.current_decisions(stage).items():
        by_rec[rid][reviewer] = row
    out = []
    for rid, rows in by_rec.items():
        if RECONCILED in rows or len(rows) < 2 or len({r["decision"] for r in rows.values()}) < 2:
            continue
        rec = store.record(rid)
        out.append({"record_id": rid, "title": rec.title if rec else "",
                    "decisions": {rv: {"decision": r["decision"], "criterion": r["criterion"], "note": r["note"]}
                                  for rv, r in sorted(rows.items())}})
    return out


def resolve(store: Store, record_id: str, decision: str, stage: str = "title_abstract",
            criterion: str | None = None, note: str | None = None, protocol: Protocol | None = None,
            reviewer: str = RECONCILED) -> int:
    """Settle a record's stage outcome (a decision by reviewer ``"reconciled"``); returns the decision id."""
    _check_decision(protocol, decision, criterion)
    return store.add_decision(record_id, decision, reviewer, stage=stage, criterion=criterion, note=note,
                              protocol_hash=protocol.hash if protocol else None)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's κ of two raters' labels for the same items (NaN when chance agreement is 1)."""
    if len(a) != len(b):
        raise ValueError("both raters need a label for every item")
    n = len(a)
    if n == 0:
        return math.nan
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / n**2
    return math.nan if pe == 1 else (po - pe) / (1 - pe)


def kappa(store: Store, stage: str = "title_abstract", reviewers: Sequence[str] | None = None) -> dict[str, Any]:
    """Cohen's κ between two reviewers at a stage, on the records both decided.

    With more than two reviewers the pairwise κs are listed and averaged (Light's κ).
    Returns ``{"stage", "kappa", "n", "agreement", "pairs": [{"reviewers", "kappa", "n", "agreement"}]}``;
    ``kappa`` is None when undefined (no shared records, or one label used by both throughout).
    """
    by_rev: dict[str, dict[str, str]] = defaultdict(dict)
    for (rid, reviewer), row in store.current_decisions(stage).items():
        if reviewer != RECONCILED:
            by_rev[reviewer][rid] = row["decision"]
    names = list(reviewers) if reviewers else sorted(by_rev)
    pairs = []
    for i, r1 in enumerate(names):
        for r2 in names[i + 1:]:
            shared = sorted(set(by_rev[r1]) & set(by_rev[r2]))
            a, b = [by_rev[r1][x] for x in shared], [by_rev[r2][x] for x in shared]
            k = cohen_kappa(a, b)
            pairs.append({"reviewers": [r1, r2], "kappa": None if math.isnan(k) else round(k, 4), "n": len(shared),
                          "agreement": round(sum(x == y for x, y in zip(a, b)) / len(shared), 4) if shared else None})
    ks = [p["kappa"] for p in pairs if p["kappa"] is not None]
    return {"stage": stage, "kappa": round(sum(ks) / len(ks), 4) if ks else None,
            "n": pairs[0]["n"] if len(pairs) == 1 else sum(p["n"] for p in pairs),
            "agreement": pairs[0]["agreement"] if len(pairs) == 1 else None, "pairs": pairs}


# -- the prioritised screening session -------------------------------------------------------------
def concept_queries(protocol: Protocol | None) -> list[str]:
    """One text per protocol concept (its terms in every language), to rank before any label exists."""
    if protocol is None:
        return []
    return [" ".join(t.rstrip("*") for t in c.all_terms) for c in protocol.concepts]


def _where(protocol: Protocol | None, key: str) -> str:
    return f"{protocol.path}: key 'screening.{key}'" if protocol and protocol.path else f"[screening] {key}"


def stop_rule_from(protocol: Protocol | None) -> StopRule:
    """The validated ``[screening] stop_rule`` (defaults if absent)."""
    return StopRule.from_settings(protocol.screening.get("stop_rule") if protocol else None,
                                  where=_where(protocol, "stop_rule"))


def model_from(protocol: Protocol | None) -> tuple[TextFeatures, Ranker]:
    """Features and ranker from ``[screening] features`` / ``[screening] model`` (defaults if absent).

    E.g. ``model = { classifier = "logistic", query = "mixed" }``, ``features = { char_ngrams = [3, 5] }``.
    """
    cfg = protocol.screening if protocol else {}
    out = []
    for key, cls in (("features", TextFeatures), ("model", Ranker)):
        table = cfg.get(key) or {}
        if not isinstance(table, dict):
            raise ScreeningError(f"{_where(protocol, key)}: expected a table, got {table!r}")
        table = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
        try:
            out.append(cls(**table))
        except (TypeError, ValueError) as e:
            names = ", ".join(f.name for f in fields(cls) if not f.name.startswith("_") and not f.name.endswith("_"))
            raise ScreeningError(f"{_where(protocol, key)}: {e}; valid keys: {names}") from None
    return out[0], out[1]


def _mesh_payloads(store: Store, ids: Sequence[str]) -> list[dict]:
    """``{"mesh": [...]}`` per record from its raw OpenAlex payload (SQLite extracts it; no full JSON parse)."""
    out = []
    for rid in ids:
        row = store.conn.execute("SELECT CASE WHEN raw_format='openalex' AND json_valid(raw) "
                                 "THEN json_extract(raw, '$.mesh') END FROM records WHERE id=?", (rid,)).fetchone()
        out.append({"mesh": json.loads(row[0]) if row and row[0] else []})
    return out


class ScreeningSession:
    """One reviewer screening one stage, most likely relevant record first.

    Parameters
    ----------
    store, protocol : the review.
    reviewer : who screens; the session sees and learns from this reviewer's decisions only.
    stage : "title_abstract" or "full_text".
    ranker : the model (default from ``[screening] model``, else :class:`~review.ranking.Ranker`'s default).

    ``next()`` gives the record to show, ``decide()`` writes a decision (committed before it
    returns) and re-ranks, ``undo()`` retracts this reviewer's latest decision, and
    ``progress()`` reports counts and the stopping rule.
    """

    def __init__(self, store: Store, protocol: Protocol | None, reviewer: str, stage: str = "title_abstract",
                 ranker: Ranker | None = None):
        if not reviewer or reviewer in (RULES_REVIEWER, RECONCILED):
            raise ScreeningError(f"reviewer name {reviewer!r} is reserved or empty; use your own name")
        self.store, self.protocol, self.reviewer, self.stage = store, protocol, reviewer, stage
        self.stop_rule = stop_rule_from(protocol)
        self.ids = pool_ids(store, stage)
        self.row_of = {rid: i for i, rid in enumerate(self.ids)}
        records = list(store.records(self.ids))
        self.features, default_ranker = model_from(protocol)
        raws = _mesh_payloads(store, self.ids) if self.features.needs_raw else None
        X = self.features.fit_transform(records, raws) if records else None
        q = concept_queries(protocol)
        query = self.features.transform_text(q) if (q and records) else None
        self.model = Prioritiser(X, ranker or default_ranker, query=query) if records else None
        self._history: list[str] = []  # this reviewer's decided records, in decision order
        self._decisions: dict[str, str] = {}
        for rid, row in store.current_decisions(stage, reviewer=reviewer).items():
            if rid in self.row_of:
                self._remember(rid, row["decision"])
        self._front: list[str] = []  # undone records come back first
        self._stopping: tuple | None = None

    def _remember(self, record_id: str, decision: str) -> None:
        if record_id in self._history:
            self._history.remove(record_id)
        self._history.append(record_id)
        self._decisions[record_id] = decision
        if self.model is not None:
            self.model.label(self.row_of[record_id], decision in ("include", "maybe"))

    def __len__(self) -> int:
        return len(self.ids)

    def queue(self, n: int = 10) -> list[str]:
        """Ids of the next ``n`` records to screen, in order."""
        out = [r for r in self._front if r not in self._decisions][:n]
        if self.model is not None:
            for row in self.model.ranking():
                if len(out) >= n:
                    break
                rid = self.ids[row]
                if rid not in out:
                    out.append(rid)
        return out

    def next(self) -> Record | None:
        """The highest-priority record this reviewer has not screened, or None when all are."""
        q = self.queue(1)
        return self.store.record(q[0]) if q else None

    def decide(self, record_id: str, decision: str, criterion: str | None = None, note: str | None = None) -> int:
        """Record this reviewer's decision (written to the store before returning); returns its id."""
        if record_id not in self.row_of:
            raise ScreeningError(f"record {record_id!r} is not in the {self.stage} pool of this review")
        _check_decision(self.protocol, decision, criterion)
        did = self.store.add_decision(record_id, decision, self.reviewer, stage=self.stage, criterion=criterion,
                                      note=note, protocol_hash=self.protocol.hash if self.protocol else None)
        self._remember(record_id, decision)
        if record_id in self._front:
            self._front.remove(record_id)
        return did

    def undo(self) -> str | None:
        """Retract this reviewer's latest decision at this stage; returns the record id (shown next) or None."""
        if not self._history:
            return None
        rid = self._history.pop()
        self.store.add_decision(rid, "undo", self.reviewer, stage=self.stage,
                                protocol_hash=self.protocol.hash if self.protocol else None)
        self._decisions.pop(rid, None)
        if self.model is not None:
            self.model.unlabel(self.row_of[rid])
        self._front.insert(0, rid)
        return rid

    def decisions(self) -> dict[str, str]:
        """This reviewer's current decisions at this stage: ``{record_id: decision}``."""
        return {rid: self._decisions[rid] for rid in self._history}

    def progress(self) -> dict[str, Any]:
        """Counts and the stopping rule's verdict for this reviewer.

        ``{"reviewer", "stage", "screened", "included", "maybe", "excluded", "total", "remaining", "stopping": {...}}``
        where ``stopping`` is :func:`review.stopping.evaluate` (``stop``, ``reason``, ``recall_lower_bound``, …).
        """
        labels = [int(self._decisions[r] in ("include", "maybe")) for r in self._history]
        c = Counter(self._decisions.values())
        key = tuple(labels)
        if self._stopping is None or self._stopping[0] != key:  # the test costs ~0.1 s per 1,000 screened
            self._stopping = (key, evaluate_stopping(labels, len(self.ids), self.stop_rule))
        return {"reviewer": self.reviewer, "stage": self.stage, "screened": len(self._history),
                "included": c["include"], "maybe": c["maybe"], "excluded": c["exclude"], "total": len(self.ids),
                "remaining": len(self.ids) - len(self._history), "stopping": self._stopping[1]}


# -- the pipeline stage -----------------------------------------------------------------------------
def read_labels(path: str | Path) -> dict[str, int]:
    """``{OpenAlex id: 0/1}`` from a labels CSV with ``openalex_id`` and ``label_included`` columns.

    Rows without an OpenAlex id are skipped (a record OpenAlex did not know cannot be matched);
    a work listed twice counts as included if either row says so.
    """
    path = Path(path)
    out: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"openalex_id", "label_included"} - set(reader.fieldnames or [])
        if missing:
            raise ScreeningError(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                                 "expected openalex_id,label_included")
        for line, row in enumerate(reader, start=2):
            raw_id = (row["openalex_id"] or "").strip()
            lab = (row["label_included"] or "").strip()
            oid = short_openalex_id(raw_id)
            if lab not in ("0", "1") or (raw_id and not oid):
                raise ScreeningError(f"{path}:{line}: need an OpenAlex id (W…) and label_included 0 or 1, got "
                                     f"{raw_id!r}, {lab!r}")
            if oid:
                out[oid] = max(out.get(oid, 0), int(lab))
    return out


def run(store: Store, protocol: Protocol, progress: bool = True) -> dict[str, Any]:
    """Pipeline stage: rule pre-screen, then the prioritised order of the title-abstract pool.

    The order is saved as artifact ``screening_priority``. If ``[screening] labels`` names a
    labels CSV, screening of the pool is simulated with those labels (artifact
    ``screening_simulation``: order and metrics); simulated decisions are never written as decisions.
    """
    stop_rule_from(protocol), model_from(protocol)  # settings errors before any work
    labels_path = protocol.screening.get("labels")
    if labels_path:
        base = protocol.path.resolve().parent if protocol.path else Path.cwd()
        labels_file = base / labels_path
        if not labels_file.is_file():
            raise ScreeningError(f"{_where(protocol, 'labels')}: labels file {labels_file} not found")
    summary: dict[str, Any] = {"prescreen": prescreen(store, protocol, progress=progress)}
    session = ScreeningSession(store, protocol, reviewer="pipeline")
    order = session.queue(len(session))
    store.put_artifact("screening_priority", {"stage": "title_abstract", "order": order}, kind="screening",
                       protocol_hash=protocol.hash)
    summary["pool"] = len(session)
    if labels_path:
        from .simulate import simulate_store

        labels = read_labels(labels_file)
        summary["simulation"] = simulate_store(store, protocol, labels, ids=session.ids,
                                               features=session.model.X if session.model else None,
                                               ranker=model_from(protocol)[1], progress=progress)
    return summary


# -- terminal screening ---------------------------------------------------------------------------
TERMINAL_HELP = ("i = include, e = exclude, m = maybe (optionally followed by a criterion name or number "
                 "and a note after '--', e.g. 'e 3 -- animal study'), u = undo, q = quit")


def _parse_answer(line: str, criteria: list[str]) -> tuple[str, str | None, str | None]:
    text, _, note = line.partition("--")
    parts = text.split()
    key, rest = (parts[0].lower(), parts[1:]) if parts else ("", [])
    criterion = None
    if rest:
        c = rest[0]
        if c.isdigit() and 1 <= int(c) <= len(criteria):
            criterion = criteria[int(c) - 1]
        elif c in criteria:
            criterion = c
        else:
            raise ScreeningError(f"unknown criterion {c!r}; use a number 1-{len(criteria)} or a name: "
                                 f"{', '.join(criteria)}")
    return key, criterion, note.strip() or None


def screen_terminal(session: ScreeningSession, lines: Iterable[str], write=print, abstract_chars: int = 1200) -> dict:
    """A screening loop for the terminal (and tests): show the next record, read one answer line.

    Answers: see :data:`TERMINAL_HELP`. Ends at ``q``, at the end of input or when every
    record is screened; returns :meth:`ScreeningSession.progress`.
    """
    criteria = [c.name for c in session.protocol.criteria] if session.protocol else []
    if criteria:
        write("criteria: " + ", ".join(f"{i}={c}" for i, c in enumerate(criteria, start=1)))
    write(TERMINAL_HELP)
    lines = iter(lines)
    rec = session.next()
    while rec is not None:
        p = session.progress()
        st = p["stopping"]
        write(f"\n[{p['screened'] + 1}/{p['total']}] included so far {p['included']}; recall ≥ "
              f"{st['recall_lower_bound']:.0%} (95% conf.); {st['reason']}")
        write(f"{rec.id}  {rec.year or ''}  {rec.title}")
        if rec.abstract:
            write(rec.abstract[:abstract_chars] + ("…" if len(rec.abstract) > abstract_chars else ""))
        line = next(lines, None)
        if line is None:
            break
        try:
            key, criterion, note = _parse_answer(line, criteria)
        except ScreeningError as e:
            write(f"! {e}")
            continue
        if key == "q":
            break
        if key == "u":
            rid = session.undo()
            write(f"undone: {rid}" if rid else "nothing to undo")
        elif key in ("i", "e", "m"):
            decision = {"i": "include", "e": "exclude", "m": "maybe"}[key]
            try:
                session.decide(rec.id, decision, criterion=criterion, note=note)
            except ScreeningError as e:
                write(f"! {e}")
                continue
            write(f"saved: {decision}" + (f" ({criterion})" if criterion else ""))
        else:
            write(f"! unknown answer {line.strip()!r}; {TERMINAL_HELP}")
            continue
        rec = session.next()
    p = session.progress()
    write(f"\nscreened {p['screened']} of {p['total']}: {p['included']} included, {p['maybe']} maybe, "
          f"{p['excluded']} excluded. {p['stopping']['reason']}")
    return p
