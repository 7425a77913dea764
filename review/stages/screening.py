"""Screening stage: rule pre-screen, then the prioritised title/abstract pool.

With ``[screening] labels`` the stage also simulates screening the pool (no decision is written)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from review.core.protocol import Protocol
from review.core.queries import PRESCREEN, RULES_REVIEWER
from review.core.store import Store
from review.screening.classifiers import Ranker
from review.screening.features import TextFeatures
from review.screening.rules import excluding_criteria
from review.screening.session import ScreeningSession, model_from, stop_rule_from
from review.screening.simulate import draw_priors, metrics, simulate, stop_point, write_order
from review.screening.stoppers import StopRule
from review.sources.datasets import load_dataset
from review.sources.labels import read_labels


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


def check(protocol: Protocol) -> Path | None:
    """Settings errors before any work: the screening model's keys and values, and the labels file.

    Returns the labels file, if ``[screening] labels`` names one.
    """
    stop_rule_from(protocol), model_from(protocol)
    if not protocol.config.screening.labels:
        return None
    base = protocol.path.resolve().parent if protocol.path else Path.cwd()
    labels_file = base / protocol.config.screening.labels
    if not labels_file.is_file():
        protocol.fail(("screening", "labels"), f"labels file {labels_file} not found; give a CSV with "
                      "openalex_id,label_included, relative to the protocol file")
    return labels_file


def run(store: Store, protocol: Protocol, progress: bool = True) -> dict[str, Any]:
    """Pipeline stage: rule pre-screen, then the prioritised order of the title-abstract pool.

    The order is saved as artifact ``screening_priority``. If ``[screening] labels`` names a
    labels CSV, screening of the pool is simulated with those labels (artifact
    ``screening_simulation``: order and metrics); simulated decisions are never written as decisions.
    """
    labels_file = check(protocol)
    summary: dict[str, Any] = {"prescreen": prescreen(store, protocol, progress=progress)}
    session = ScreeningSession(store, protocol, reviewer="pipeline")
    order = session.queue(len(session))
    model = model_config(session.features, session.model.ranker) if session.model else None
    store.put_artifact("screening_priority", {"stage": "title_abstract", "order": order, "model": model},
                       kind="screening", protocol_hash=protocol.hash)
    summary["pool"] = len(session)
    if labels_file:
        from review.stages.screening import simulate_store

        labels = read_labels(labels_file)
        summary["simulation"] = simulate_store(store, protocol, labels, ids=session.ids,
                                               features=session.model.X if session.model else None,
                                               ranker=model_from(protocol)[1], progress=progress,
                                               feature_params=session.features)
        summary["simulation"]["labels"] = str(labels_file.resolve())
    return summary


def simulate_store(store, protocol, labels: dict[str, int], ids: Sequence[str], features=None,
                   ranker: Ranker | None = None, seed: int = 0, progress: bool = False,
                   feature_params: TextFeatures | None = None) -> dict[str, Any]:
    """Simulate screening of a store's pool with known labels (the demo); writes an artifact only.

    Records without a label count as excluded. Nothing is written as a decision. ``features``: the
    pool's feature matrix (else built with ``feature_params`` or :class:`TextFeatures`' defaults);
    the artifact keeps the model configuration (``model``).
    """
    feature_params = feature_params if feature_params is not None else TextFeatures()
    ranker = ranker if ranker is not None else Ranker()
    y = np.array([labels.get(i, 0) for i in ids], dtype=int)
    if y.sum() == 0 or y.sum() == len(y):
        return {"skipped": "the labels give no included (or no excluded) record in the pool"}
    X = features if features is not None else clone(feature_params).fit_transform(list(store.records(ids)))
    priors = draw_priors(y, 1, 1, seed)
    order = simulate(X, y, priors, ranker=ranker, progress=progress)
    found = y[order[len(priors):]]
    result = {"seed": seed, "labelled": int(sum(i in labels for i in ids)), **metrics(found),
              "stop": stop_point(found, stop_rule_from(protocol))}
    store.put_artifact("screening_simulation", {**result, "priors": [ids[i] for i in priors],
                                                "order": [ids[i] for i in order],
                                                "model": model_config(feature_params, ranker)},
                       kind="screening", protocol_hash=protocol.hash if protocol else None)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}


def model_config(features: TextFeatures, ranker: Ranker, schedule: dict | None = None) -> dict[str, Any]:
    """The resolved model configuration stored with each screening artifact: ``get_params`` of both."""
    out = {"features": {"class": type(features).__name__, **features.get_params()},
           "ranker": {"class": type(ranker).__name__, **ranker.get_params()}}
    if schedule is not None:
        out["schedule"] = schedule
    return out


def run_dataset(path: str | Path, prior_included: int = 1, prior_excluded: int = 1, seed: int = 0,
                out: str | Path | None = None, ranker: Ranker | None = None, progress: bool = False,
                seeds: Sequence[int] | None = None, features: TextFeatures | None = None,
                plot: str | Path | None = None, stop_rule: StopRule | None = None) -> dict[str, Any]:
    """Load, simulate (once per seed), write ``out`` and ``plot`` (if given) and return the metrics.

    Each run also says where ``stop_rule`` (default: the hypergeometric rule, 95 % recall at 95 %
    confidence) would have stopped a reviewer: records screened, the rule's recall estimate and the
    true recall there (``stop``).

    What ``review simulate`` does. ``seeds`` (default ``[seed]``) each draw their own priors and
    seed the model. ``out``: the screening order ``rank,record_id,prior`` (one file per seed when
    several: ``ORDER_seed<S>.csv``) and ``ORDER.json`` with the metrics and the model configuration.
    ``plot``: the recall curves as a PNG. Returns the first seed's metrics at the top level and,
    with several seeds, ``runs`` and ``summary`` (mean, sd, min, max per metric).
    """
    ds = load_dataset(path)
    features = clone(features) if features is not None else TextFeatures()
    X = features.fit_transform(ds.records, ds.raws)
    seeds = list(seeds) if seeds else [seed]
    runs, found, models = [], [], []
    for s in seeds:
        priors = draw_priors(ds.labels, prior_included, prior_excluded, s)
        model = clone(ranker).set_params(random_state=s) if ranker is not None else Ranker(random_state=s)
        order = simulate(X, ds.labels, priors, ranker=model, progress=progress)
        models.append(model)
        if out:
            target = Path(out) if len(seeds) == 1 else \
                Path(out).with_name(f"{Path(out).stem}_seed{s}{Path(out).suffix}")
            write_order(target, ds.ids, order, len(priors))
        found.append(ds.labels[order[len(priors):]])
        runs.append({"seed": s, "priors": [ds.ids[i] for i in priors], **metrics(found[-1]),
                     "stop": stop_point(found[-1], stop_rule)})
    result: dict[str, Any] = {"dataset": ds.name, **runs[0], "model": model_config(features, models[0]),
                              "unlabelled": ds.unlabelled}
    if len(seeds) > 1:
        result["runs"] = runs
        result["summary"] = {k: {"mean": float(np.mean([r[k] for r in runs])),
                                 "sd": float(np.std([r[k] for r in runs])),
                                 "min": float(min(r[k] for r in runs)), "max": float(max(r[k] for r in runs))}
                             for k in ("recall_at_10", "wss_95", "atd")}
    if plot:
        from review.writers.recall_curve import png

        result["plot"] = str(png(found, plot, title=f"{ds.name}: N={runs[0]['n']}, R={runs[0]['r']}",
                                 labels=[f"seed {s}" for s in seeds] if len(seeds) > 1 else [f"seed {seeds[0]}"]))
    if out:
        import json

        Path(out).with_suffix(".json").write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return result
