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
from review.core.queries import counts, status_counts
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
    with store.writing("review run"):  # one run at a time per store: a second one waits, then refuses
        store.bind_protocol(protocol.id, protocol.hash, protocol.text,
                            str(protocol.path.resolve()) if protocol.path else None)
        return _run_stages(store, protocol, snapshot, stages, progress,
                           Path(out_dir) if out_dir else Path("out") / protocol.id)


def _run_stages(store: Store, protocol: Protocol, snapshot: str | Path | None, stages: list[str] | None,
                progress: bool, out: Path) -> dict[str, Any]:
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


def format_summary(store: Store, summary: dict[str, Any], numbers: dict[str, Any] | None = None) -> str:
    """A short human-readable summary: stage results and the review's counts.

    The counts are :func:`~review.core.queries.status_counts`: PRISMA's numbers (the same as
    ``prisma.csv`` and the report) and a few facts about the store.
    """
    c = numbers if numbers is not None else counts(store)
    lines = [f"store: {store.path}"]
    for stage, result in summary.items():
        if isinstance(result, dict) and "skipped" in result and len(result) == 1:
            lines.append(f"  {stage:<12} skipped ({result['skipped']})")
        else:
            secs = result.get("seconds", "") if isinstance(result, dict) else ""
            lines.append(f"  {stage:<12} done in {secs}s")
            if stage == "screening" and isinstance(result, dict):
                lines += [f"  {'':<12} {line}" for line in screening_lines(result)]
    lines.append("counts:")
    for k, v in status_counts(store, c).items():
        extra = ""
        if k == "duplicates removed" and v:
            extra = (f"  ({c['duplicates_repeat_hits']} found again by another search or source, "
                     f"{c['duplicates_merged']} merged by deduplication)")
        lines.append(f"  {k:<26} {v}{extra}")
    return "\n".join(lines)


def screening_lines(result: dict[str, Any]) -> list[str]:
    """What the screening stage did, in words: the pool and, with ``[screening] labels``, the simulation."""
    pre = result.get("prescreen") or {}
    lines = [f"{result.get('pool', 0)} record(s) to screen, most likely relevant first"
             + (f"; {pre.get('excluded', 0)} excluded by the protocol's rules" if pre else "")]
    sim = result.get("simulation") or {}
    if "recall_at_10" in sim:
        lines.append(f"simulated with the labels in {sim.get('labels', '[screening] labels')} (no decision written): "
                     f"recall@10% {sim['recall_at_10']:.3f}, WSS@95 {sim['wss_95']:.3f}, ATD {sim['atd']:.3f}")
        stop = sim.get("stop") or {}
        if stop:
            lines.append(f"the stop rule ({stop['rule']}) would stop after {stop['screened']} of {sim['n']} records, "
                         f"with estimated recall >= {stop['estimated_recall']:.2f} (true recall {stop['recall']:.2f})")
    elif sim.get("skipped"):
        lines.append(f"simulation skipped: {sim['skipped']}")
    return lines


def report_path(summary: dict[str, Any], out_dir: str | Path | None = None) -> Path | None:
    """The report a run wrote (from the export stage's files), else ``out_dir/report.html`` if it exists."""
    for f in (summary.get("export") or {}).get("files") or []:
        if Path(f).name == "report.html":
            return Path(f)
    if out_dir is not None and (Path(out_dir) / "report.html").is_file():
        return Path(out_dir) / "report.html"
    return None


def next_steps(store: Store, protocol_file: str | Path | None, numbers: dict[str, Any] | None = None) -> list[str]:
    """What to do after a run, from the review's counts: screen, settle duplicates, assess full texts, run again."""
    c = numbers if numbers is not None else counts(store)
    s = f"--store {store.path}"
    steps = []
    pairs = len(store.dedup_pairs(("maybe",)))
    if pairs:
        steps.append(f"decide the {pairs} uncertain duplicate pair(s): `review dedup --review {s} --reviewer NAME`")
    if c["not_screened"]:
        steps.append(f"screen the {c['not_screened']} record(s) not yet screened: in JupyterLab with "
                     f"notebooks/02_screening.ipynb, or in the terminal with `review screen {s} --reviewer NAME`")
    if c["screening_conflicts"]:
        steps.append(f"settle the {c['screening_conflicts']} disagreement(s) between reviewers: `review conflicts {s}`")
    if c["not_yet_assessed"]:
        steps.append(f"assess the {c['not_yet_assessed']} full text(s) sought: add each with `review fulltext add "
                     f"ID FILE {s}` (or `review fulltext missing ID --reason TEXT {s}` if it cannot be had), then "
                     f"`review screen --stage full_text {s} --reviewer NAME` (or the notebook)")
    again = f"`review run {protocol_file}`" if protocol_file else "`review run PROTOCOL.toml`"
    steps.append(f"then run {again} again: finished work is kept, and the counts, PRISMA diagram, "
                 "exports and report are brought up to date")
    return steps


def format_outcome(store: Store, summary: dict[str, Any], protocol_file: str | Path | None,
                   out_dir: str | Path | None = None) -> str:
    """The end of ``review run``: the summary, where the outputs are, and the next steps."""
    c = counts(store)
    lines = [format_summary(store, summary, c)]
    report = report_path(summary, out_dir)
    if out_dir is not None:
        lines.append(f"outputs: {Path(out_dir)}/" + (f" (open the report: {report})" if report else ""))
    elif report:
        lines.append(f"report: {report}")
    lines.append("next:")
    lines += [f"  {i}. {step}" for i, step in enumerate(next_steps(store, protocol_file, c), start=1)]
    return "\n".join(lines)
