"""Simulated screening on labelled data, and its metrics.

A simulation screens a labelled dataset with the prioritisation model the way a reviewer
would: a few prior records (drawn at random with a seed from the included and the excluded
ones) are labelled first, then the model proposes the next record, its label is revealed,
and so on. The model is retrained after every record at first and in growing batches later
(every ~2 % more labels), so even 50k-record sets finish. Once every included record is
found, the rest follow the last ranking (the metrics do not depend on their order).

Metrics (``N``, ``R`` exclude the priors; positions are 1-based after the priors):

- recall@10%: share of the R included records among the first ``floor(0.1 N)`` screened;
- WSS@95 (Cohen 2006): ``(N - n95) / N - 0.05``, ``n95`` = records screened to reach
  ``ceil(0.95 R)`` included;
- ATD: mean over the included records of ``position / N``.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .ranking import Prioritiser, Ranker, TextFeatures
from .records import Record, short_openalex_id


class DatasetError(ValueError):
    """A dataset that cannot be read; the message names the file and what is wrong."""


@dataclass
class Dataset:
    """Labelled records: ``labels[i]`` (1 included, 0 excluded) belongs to ``records[i]``."""

    name: str
    records: list[Record]
    labels: np.ndarray
    raws: list[Any] = field(default_factory=list)  # per record: the parts of the payload features read (MeSH)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records]


def load_dataset(path: str | Path) -> Dataset:
    """A SYNERGY folder (``works_*.zip`` or ``.json`` + ``labels.csv``) or a CSV
    ``openalex_id,title,abstract,label_included``."""
    path = Path(path)
    if path.is_dir():
        return _load_synergy(path)
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    if not path.exists():
        raise DatasetError(f"{path}: not found; give a SYNERGY folder (works_1.zip + labels.csv) or a CSV")
    raise DatasetError(f"{path}: expected a SYNERGY folder or a .csv file with openalex_id,title,abstract,label_included")


def _load_synergy(folder: Path) -> Dataset:
    from .screen import read_labels
    from .snapshot import read_records

    labels_file = folder / "labels.csv"
    if not labels_file.exists():
        raise DatasetError(f"{folder}: no labels.csv; a SYNERGY folder has works_1.zip and labels.csv")
    labels = read_labels(labels_file)
    works = sorted(p for p in folder.iterdir() if p.name.startswith("works") and p.suffix in (".zip", ".json", ".gz", ".jsonl"))
    if not works:
        raise DatasetError(f"{folder}: no works_*.zip; a SYNERGY folder has works_1.zip and labels.csv")
    records, raws, seen = [], [], set()
    for w in works:
        for rec, raw in read_records(w):
            if rec.id in seen:
                continue
            seen.add(rec.id)
            records.append(rec)
            raws.append({"mesh": raw.get("mesh") or []})  # all the features need from the payload
    missing = [r.id for r in records if r.id not in labels]
    if missing:
        raise DatasetError(f"{labels_file}: no label for {len(missing)} work(s), e.g. {missing[0]}; add them")
    return Dataset(folder.name, records, np.array([labels[r.id] for r in records], dtype=int), raws)


def _load_csv(path: Path) -> Dataset:
    records, labels = [], []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        need = {"openalex_id", "title", "abstract", "label_included"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                               "expected openalex_id,title,abstract,label_included")
        seen = set()
        for line, row in enumerate(reader, start=2):
            oid = short_openalex_id(row["openalex_id"])
            lab = (row["label_included"] or "").strip()
            if not oid:
                raise DatasetError(f"{path}:{line}: openalex_id {row['openalex_id']!r} is not an OpenAlex work id (W…)")
            if lab not in ("0", "1"):
                raise DatasetError(f"{path}:{line}: label_included must be 0 or 1, got {lab!r}")
            if oid in seen:
                raise DatasetError(f"{path}:{line}: {oid} appears twice; keep one row per work")
            seen.add(oid)
            records.append(Record(id=oid, openalex_id=oid, title=row["title"] or "", abstract=row["abstract"] or ""))
            labels.append(int(lab))
    return Dataset(path.stem, records, np.array(labels, dtype=int), [None] * len(records))


def draw_priors(labels: Sequence[int], n_included: int = 1, n_excluded: int = 1, seed: int = 0) -> list[int]:
    """Positions of the prior records: ``n_included`` included then ``n_excluded`` excluded, at random."""
    y = np.asarray(labels, dtype=int)
    inc, exc = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if n_included > len(inc) or n_excluded > len(exc):
        raise DatasetError(f"asked for {n_included} included and {n_excluded} excluded priors; the dataset has "
                           f"{len(inc)} included and {len(exc)} excluded records")
    rng = np.random.default_rng(seed)
    return [int(i) for i in rng.choice(inc, n_included, replace=False)] + \
           [int(i) for i in rng.choice(exc, n_excluded, replace=False)]


def simulate(X, labels: Sequence[int], priors: Sequence[int], ranker: Ranker | None = None,
             progress: bool = False, **schedule) -> np.ndarray:
    """Screening order of every row of ``X``: the priors, then the model's picks.

    The model is retrained on :class:`~review.ranking.Prioritiser`'s schedule (``schedule``:
    ``retrain_until``, ``retrain_growth``); between trainings the next records come from
    the last ranking, as a reviewer would see them.
    """
    from tqdm import tqdm

    y = np.asarray(labels, dtype=int)
    n = X.shape[0]
    model = Prioritiser(X, ranker or Ranker(), **schedule)
    order = [int(p) for p in priors]
    for p in order:
        model.label(p, y[p])
    remaining_relevant = int(y.sum() - y[order].sum())
    bar = tqdm(total=n, initial=len(order), desc="simulate", disable=not progress)
    while len(order) < n:
        ranking = model.ranking()
        k = len(ranking) if remaining_relevant == 0 else model.until_retrain()
        for r in ranking[:k]:
            order.append(int(r))
            model.label(int(r), y[r])
            remaining_relevant -= int(y[r])
        bar.update(min(k, len(ranking)))
    bar.close()
    return np.asarray(order, dtype=int)


def metrics(found: Sequence[int]) -> dict[str, float]:
    """recall@10%, WSS@95 and ATD of a screening order (labels in order, priors left out)."""
    y = np.asarray(found, dtype=int)
    n, r = len(y), int(y.sum())
    if n == 0 or r == 0:
        raise ValueError("metrics need at least one included record after the priors")
    positions = np.flatnonzero(y) + 1
    n10 = int(math.floor(0.1 * n))
    n95 = int(positions[math.ceil(0.95 * r) - 1])
    return {"recall_at_10": float((positions <= n10).sum() / r), "wss_95": float((n - n95) / n - 0.05),
            "atd": float(positions.mean() / n), "n": n, "r": r}


def write_order(path: str | Path, ids: Sequence[str], order: Sequence[int], n_priors: int) -> None:
    """``rank,record_id,prior`` for every record, in screening order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "record_id", "prior"])
        for rank, i in enumerate(order, start=1):
            w.writerow([rank, ids[i], int(rank <= n_priors)])


def run_dataset(path: str | Path, prior_included: int = 1, prior_excluded: int = 1, seed: int = 0,
                out: str | Path | None = None, ranker: Ranker | None = None, progress: bool = False) -> dict[str, Any]:
    """Load, simulate, write ``out`` (if given) and return the metrics; what ``review simulate`` does."""
    ds = load_dataset(path)
    priors = draw_priors(ds.labels, prior_included, prior_excluded, seed)
    X = TextFeatures().fit_transform(ds.records, ds.raws)
    order = simulate(X, ds.labels, priors, ranker=ranker or Ranker(random_state=seed), progress=progress)
    if out:
        write_order(out, ds.ids, order, len(priors))
    result = metrics(ds.labels[order[len(priors):]])
    return {"dataset": ds.name, "seed": seed, "priors": [ds.ids[i] for i in priors], **result}


def simulate_store(store, protocol, labels: dict[str, int], ids: Sequence[str], features=None,
                   ranker: Ranker | None = None, seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Simulate screening of a store's pool with known labels (the demo); writes an artifact only.

    Records without a label count as excluded. Nothing is written as a decision.
    """
    y = np.array([labels.get(i, 0) for i in ids], dtype=int)
    if y.sum() == 0 or y.sum() == len(y):
        return {"skipped": "the labels give no included (or no excluded) record in the pool"}
    X = features if features is not None else TextFeatures().fit_transform(list(store.records(ids)))
    priors = draw_priors(y, 1, 1, seed)
    order = simulate(X, y, priors, ranker=ranker, progress=progress)
    result = {"seed": seed, "labelled": int(sum(i in labels for i in ids)), **metrics(y[order[len(priors):]])}
    store.put_artifact("screening_simulation", {**result, "priors": [ids[i] for i in priors],
                                                "order": [ids[i] for i in order]},
                       kind="screening", protocol_hash=protocol.hash if protocol else None)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
