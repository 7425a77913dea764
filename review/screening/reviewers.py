"""Two or more reviewers: conflicts, their resolution and Cohen's kappa."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from review.core.errors import ScreeningError
from review.core.protocol import Protocol
from review.core.queries import DECISIONS, RECONCILED
from review.core.store import Store


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
