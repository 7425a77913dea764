"""Labelled screening datasets for simulation: SYNERGY folders and openalex_id,title,abstract,label_included CSVs."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from review.core.errors import DatasetError
from review.core.records import Record
from review.core.text import short_openalex_id


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
    from review.sources.labels import read_labels
    from review.sources.snapshot import read_records

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
