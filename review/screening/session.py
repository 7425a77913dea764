"""One reviewer screening one stage, most likely relevant record first.

Every decision is written to the store before it is shown as saved."""
from __future__ import annotations

import difflib
import inspect
from collections import Counter
from dataclasses import asdict
from typing import Any

from review.core.errors import ScreeningError
from review.core.protocol import Protocol
from review.core.queries import RECONCILED, RULES_REVIEWER, _mesh_payloads, pool_ids
from review.core.records import Record
from review.core.store import Store
from review.screening.classifiers import Prioritiser, Ranker
from review.screening.features import EMBEDDINGS_MISSING, TextFeatures, embeddings_available, stored_embeddings
from review.screening.reviewers import _check_decision
from review.screening.stoppers import StopRule
from review.screening.stoppers import evaluate as evaluate_stopping

#: From this many decisions on, the session retrains in a background thread (a fit takes ~0.3 s at 5,000
#: labels on 10k records); the ranking shown meanwhile is the last one, minus the decided records.
BACKGROUND_FROM = 2_000


# -- the prioritised screening session -------------------------------------------------------------
def concept_queries(protocol: Protocol | None) -> list[str]:
    """One text per protocol concept (its terms in every language), to rank before any label exists."""
    if protocol is None:
        return []
    return [" ".join(t.rstrip("*") for t in c.all_terms) for c in protocol.concepts]


def stop_rule_from(protocol: Protocol | None) -> StopRule:
    """The ``[screening] stop_rule`` (checked when the protocol loaded; defaults if absent)."""
    return StopRule(**asdict(protocol.config.screening.stop_rule)) if protocol else StopRule()


def model_from(protocol: Protocol | None) -> tuple[TextFeatures, Ranker]:
    """Features and ranker from ``[screening] features`` / ``[screening] model`` (defaults if absent).

    E.g. ``model = { classifier = "logistic", query = "mixed" }``, ``features = { char_ngrams = [3, 5] }``.
    A key the model does not have, or a value it refuses, raises :class:`~review.core.errors.ProtocolError`
    naming the protocol file, line and key.
    """
    cfg = protocol.config.screening if protocol else None
    out = []
    for key, cls in (("features", TextFeatures), ("model", Ranker)):
        table = getattr(cfg, key) if cfg else {}
        params = [n for n in inspect.signature(cls).parameters if not n.startswith("_")]
        for name in table:
            if name not in params:
                close = difflib.get_close_matches(name, params, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                protocol.fail(("screening", key, name), f"unknown key; {hint}expected {', '.join(params)}")
        try:
            out.append(cls(**table).check_params())
        except (TypeError, ValueError) as e:
            protocol.fail(("screening", key, next(iter(table), key)), str(e))
    if out[0].embedding_weight and not embeddings_available():
        protocol.fail(("screening", "features", "embedding_weight"), EMBEDDINGS_MISSING)
    return out[0], out[1]


class ScreeningSession:
    """One reviewer screening one stage, most likely relevant record first.

    Parameters
    ----------
    store, protocol : the review.
    reviewer : who screens; the session sees and learns from this reviewer's decisions only.
    stage : "title_abstract" or "full_text".
    ranker : the model (default from ``[screening] model``, else
        :class:`~review.screening.classifiers.Ranker`'s default).

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
        emb = stored_embeddings(store, records, progress=True) if (records and self.features.embedding_weight) \
            else None
        X = self.features.fit_transform(records, raws, emb) if records else None
        q = concept_queries(protocol)
        query = self.features.transform_text(q) if (q and records) else None
        self.model = Prioritiser(X, ranker or default_ranker, query=query,
                                 background_from=BACKGROUND_FROM) if records else None
        self._history: list[str] = []  # this reviewer's decided records, in decision order
        self._decisions: dict[str, str] = {}
        for rid, row in store.current_decisions(stage, reviewer=reviewer).items():
            if rid in self.row_of:
                self._remember(rid, row["decision"])
        self._front: list[str] = []  # undone records come back first
        self._unavailable: set[str] = set()  # full texts marked not retrievable during this session
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
        out = [r for r in self._front if r not in self._decisions and r not in self._unavailable][:n]
        if self.model is not None:
            for row in self.model.ranking():
                if len(out) >= n:
                    break
                rid = self.ids[row]
                if rid not in out and rid not in self._unavailable:
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

    def mark_not_retrieved(self, record_id: str, reason: str) -> None:
        """Full-text stage: the record's full text cannot be had (PRISMA "reports not retrieved").

        Written to the store before returning; the record leaves this session's queue. Adding its
        full text later (``review fulltext add``) brings it back to the full-text pool.
        """
        if self.stage != "full_text":
            raise ScreeningError("only a full text can be marked not retrievable (stage full_text)")
        if record_id not in self.row_of:
            raise ScreeningError(f"record {record_id!r} is not in the {self.stage} pool of this review")
        self.store.mark_not_retrieved(record_id, reason, actor=self.reviewer)
        self._unavailable.add(record_id)

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
        where ``stopping`` is :func:`review.screening.stoppers.evaluate` (``stop``, ``reason``,
        ``recall_lower_bound``, …).
        """
        labels = [int(self._decisions[r] in ("include", "maybe")) for r in self._history]
        c = Counter(self._decisions.values())
        key = tuple(labels)
        if self._stopping is None or self._stopping[0] != key:  # the test costs ~0.1 s per 1,000 screened
            self._stopping = (key, evaluate_stopping(labels, len(self.ids), self.stop_rule))
        return {"reviewer": self.reviewer, "stage": self.stage, "screened": len(self._history),
                "included": c["include"], "maybe": c["maybe"], "excluded": c["exclude"], "total": len(self.ids),
                "remaining": len(self.ids) - len(self._history) - len(self._unavailable),
                "not_retrieved": len(self._unavailable), "stopping": self._stopping[1]}
