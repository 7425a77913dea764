"""``review run``: every stage in order, each reading from and writing to the store.

Each stage is idempotent (finished work is found in the store and not redone), so
a run that was stopped can simply be started again.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

from review.core.errors import ReviewError
from review.core.protocol import Protocol
from review.core.queries import status_counts
from review.core.store import Store

# (stage name, module, function): each function is ``f(store, protocol, progress=…, **options) -> dict``.
STAGES: list[tuple[str, str, str]] = [
    ("search", "review.stages.search", "run"),
    ("dedup", "review.stages.dedup", "run"),
    ("screening", "review.stages.screening", "run"),
    ("definitions", "review.stages.definitions", "run"),
    ("networks", "review.stages.networks", "run"),
    ("export", "review.stages.export", "run"),
]


def check(protocol: Protocol) -> None:
    """Every stage's own checks of its settings (e.g. the screening model's keys), before any stage runs.

    The protocol's tables are checked when it loads; this adds what only a stage can know.
    Raises :class:`~review.core.errors.ProtocolError` naming the file, line and key.
    """
    for _, module, _ in STAGES:
        stage_check = getattr(importlib.import_module(module), "check", None)
        if stage_check is not None:
            stage_check(protocol)


def run(store: Store, protocol: Protocol, snapshot: str | Path | None = None, stages: list[str] | None = None,
        progress: bool = True, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Run the review's stages and return ``{stage: summary}``.

    Parameters
    ----------
    snapshot : path, optional
        Search this OpenAlex snapshot offline instead of the protocol's source.
    stages : list of str, optional
        Only these stages (names as in :data:`STAGES`).
    out_dir : path, optional
        Where stages write files; default ``out/<protocol id>``.
    """
    known = [s for s, _, _ in STAGES]
    for s in stages or []:
        if s not in known:
            raise ReviewError(f"unknown stage {s!r}; stages are {', '.join(known)}")
    check(protocol)
    store.add_protocol(protocol.hash, protocol.text, str(protocol.path.resolve()) if protocol.path else None)
    out = Path(out_dir) if out_dir else Path("out") / protocol.id
    summary: dict[str, Any] = {}
    for name, module, func in STAGES:
        if stages and name not in stages:
            continue
        try:
            stage = getattr(importlib.import_module(module), func)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            summary[name] = {"skipped": "not available in this version"}
            continue
        kwargs: dict[str, Any] = {"progress": progress}
        if name == "search":
            kwargs["snapshot"] = snapshot
        elif name in ("definitions", "networks", "export"):
            kwargs["out_dir"] = out / name if name != "export" else out
        t0 = time.perf_counter()
        result = stage(store, protocol, **kwargs)
        summary[name] = {"seconds": round(time.perf_counter() - t0, 2), **(result or {})}
        store.log("pipeline", "stage_done", protocol_hash=protocol.hash,
                  data={"stage": name, "seconds": summary[name]["seconds"]})
    return summary


def format_summary(store: Store, summary: dict[str, Any]) -> str:
    """A short human-readable summary: stage results and store counts."""
    lines = [f"store: {store.path}"]
    for stage, result in summary.items():
        if isinstance(result, dict) and "skipped" in result and len(result) == 1:
            lines.append(f"  {stage:<12} skipped ({result['skipped']})")
        else:
            secs = result.get("seconds", "") if isinstance(result, dict) else ""
            lines.append(f"  {stage:<12} done in {secs}s")
    lines.append("counts:")
    lines += [f"  {k:<24} {v}" for k, v in status_counts(store).items()]
    return "\n".join(lines)
