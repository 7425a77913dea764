"""Labelled screening datasets for simulation: SYNERGY folders, ASReview-style CSV/TSV/Excel tables and RIS files."""
from __future__ import annotations

import csv
import io
import re
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
    keys: list[str] | None = None  # the input's own record ids (default: the records' ids)
    unlabelled: list[str] = field(default_factory=list)  # where rows without a label were left out ("file:line")

    @property
    def ids(self) -> list[str]:
        """The input's own id of each record (OpenAlex id, ``record_id`` column, RIS ``ID`` or row number)."""
        return list(self.keys) if self.keys is not None else [r.id for r in self.records]


LABEL_COLUMNS = ("label_included", "included", "label")
TABULAR = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm")
RIS = (".ris", ".nbib")


def load_dataset(path: str | Path) -> Dataset:
    """A labelled screening dataset, for ``review simulate``.

    Accepts a SYNERGY folder (``works_*.zip`` or ``.json`` + ``labels.csv``); an ASReview-style
    table (CSV, TSV or Excel ``.xlsx``) with a title (and abstract) column and a label column
    ``label_included``, ``included`` or ``label`` (0/1); or a RIS file whose references carry the
    label in a ``label_included``/``included``/``label`` note (``N1  - label_included: 1``) or as
    ASReview's ``ASReview_relevant`` / ``ASReview_irrelevant`` note. Any record id is kept
    (``openalex_id``, ``record_id``/``id`` column or RIS ``ID``; else the row number). A label may
    also be TRUE/FALSE (R); a record without one (empty, ``NA``, ``NULL``…) is left out of
    the simulation and its place kept in :attr:`Dataset.unlabelled`.

    Raises
    ------
    DatasetError
        For a missing file, a file without labels, a bad label, or a set with no included
        or no excluded record.
    """
    path = Path(path)
    if path.is_dir():
        ds = _load_synergy(path)
    elif not path.exists():
        raise DatasetError(f"{path}: not found; give a SYNERGY folder (works_1.zip + labels.csv), "
                           "a CSV/TSV/Excel table or a RIS file with labels")
    elif path.suffix.lower() in RIS or (path.suffix.lower() == ".txt" and _looks_like_ris(path)):
        ds = _load_ris(path)
    elif path.suffix.lower() in TABULAR:
        ds = _load_table(path)
    else:
        raise DatasetError(f"{path}: unknown kind of dataset; give a SYNERGY folder, a .csv/.tsv/.xlsx table "
                           "or a .ris file with a label_included column (or note)")
    n1 = int(ds.labels.sum())
    if n1 == 0 or n1 == len(ds.labels):
        raise DatasetError(f"{path}: {len(ds.labels)} records, {n1} included and {len(ds.labels) - n1} excluded; "
                           "a simulation needs at least one of each")
    return ds


def _looks_like_ris(path: Path) -> bool:
    with path.open(encoding="utf-8-sig", errors="replace") as f:
        return f.read(200).lstrip().startswith("TY  -")


_YES = frozenset({"1", "1.0", "true"})  # R writes logicals as TRUE / FALSE
_NO = frozenset({"0", "0.0", "false"})
# A missing label, compared lower-cased; narrower than importers.MISSING on purpose: in a hand-made sheet "-" or
# "none" may mean "excluded", so they stay an error naming the line.
_NO_LABEL = frozenset({"", "na", "n/a", "#n/a", "nan", "null", "<na>"})


def _label(value: Any, where: str) -> int | None:
    """1 or 0; None for a missing label (empty, ``NA``, ``NULL``…: the record is left out of the simulation)."""
    v = str(value if value is not None else "").strip().lower()
    if v in _NO_LABEL:
        return None
    if v in _YES:
        return 1
    if v in _NO:
        return 0
    raise DatasetError(f"{where} must be 0 or 1 (or TRUE/FALSE; empty or NA: no label), got {value!r}")


def _excel_rows(path: Path) -> list[list[str]]:
    """The first sheet of an Excel workbook as rows of text (whole numbers without ``.0``)."""
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise DatasetError(f"{path}: reading Excel needs openpyxl (pip install openpyxl); or save it as CSV") from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, KeyError, InvalidFileException
        raise DatasetError(f"{path}: not a readable Excel workbook ({e})") from None
    rows = [["" if v is None else str(int(v) if isinstance(v, float) and v.is_integer() else v) for v in row]
            for row in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    return rows


def _text_rows(path: Path) -> list[tuple[int, list[str]]]:
    """``(line, fields)`` of a CSV or tab-separated file, the header first (delimiter from the header line)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 ({e.reason} at byte {e.start}); save the file as UTF-8") from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else max(("\t", ",", ";"), key=first.count)
    csv.field_size_limit(10_000_000)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    try:
        for row in reader:
            out.append((reader.line_num, row))
    except csv.Error as e:
        raise DatasetError(f"{path}:{reader.line_num}: not valid CSV ({e})") from None
    return out


def _load_table(path: Path) -> Dataset:
    """An ASReview-style table: every row is a record, kept in file order (rows without a title too)."""
    from review.core.errors import InputError
    from review.sources.importers import csv_column_map

    rows = list(enumerate(_excel_rows(path), start=1)) if path.suffix.lower() in (".xlsx", ".xlsm") \
        else _text_rows(path)
    if not rows:
        raise DatasetError(f"{path}: empty file")
    header = rows[0][1]
    try:
        cmap = csv_column_map(header, where=str(path))
    except InputError as e:
        raise DatasetError(str(e)) from None
    norm = {h.strip().lower(): i for i, h in enumerate(header)}
    label_col = next((c for c in LABEL_COLUMNS if c in norm), None)
    if label_col is None:
        raise DatasetError(f"{path}: no label column; name it one of {', '.join(LABEL_COLUMNS)} (values 0/1)")

    def cell(row: list[str], field: str) -> str:
        return next((row[i].strip() for i in cmap.get(field, []) if i < len(row) and row[i].strip()), "")

    records, labels, keys, seen, unlabelled = [], [], [], set(), []
    n = 0  # data rows so far: the record id when the table has none
    for line, row in rows[1:]:
        if not "".join(row).strip():
            continue
        n += 1
        if len(row) != len(header):
            raise DatasetError(f"{path}:{line}: row has {len(row)} fields, the header has {len(header)}")
        label = _label(row[norm[label_col]], f"{path}:{line}: {label_col}")
        if label is None:
            unlabelled.append(f"{path}:{line}")
            continue
        labels.append(label)
        raw_oa = cell(row, "openalex_id")
        oa = short_openalex_id(raw_oa) if raw_oa else None
        if raw_oa and not oa:
            raise DatasetError(f"{path}:{line}: openalex_id {raw_oa!r} is not an OpenAlex work id (W…)")
        key = oa or cell(row, "id") or str(n)
        if key in seen:
            raise DatasetError(f"{path}:{line}: record {key} appears twice; keep one row per record")
        seen.add(key)
        keys.append(key)
        records.append(Record(id=key, openalex_id=oa, title=cell(row, "title"), abstract=cell(row, "abstract"),
                              doi=cell(row, "doi") or None))
    return Dataset(path.stem, records, np.array(labels, dtype=int), [None] * len(records), keys=keys,
                   unlabelled=unlabelled)


_RIS_LABEL = re.compile(r"\b(label_included|included|label)[ \t]*[:=][ \t]*(\S*)", re.I)


def _load_ris(path: Path) -> Dataset:
    from review.core.errors import InputError
    from review.sources.importers import read_ris

    try:
        res = read_ris(path)
    except InputError as e:
        raise DatasetError(str(e)) from None
    labels, keep, unlabelled = [], [], []
    for i, (raw, key) in enumerate(zip(res.raws, res.keys)):
        m = _RIS_LABEL.search(raw)
        if m:
            label = _label(m.group(2), f"{path}: reference {key}: {m.group(1)}")
        elif "asreview_relevant" in raw.lower():
            label = 1
        elif "asreview_irrelevant" in raw.lower():
            label = 0
        else:
            raise DatasetError(f"{path}: reference {key} has no label; add a note 'N1  - label_included: 1' (or 0)")
        if label is None:
            unlabelled.append(f"{path}: reference {key}")
            continue
        labels.append(label)
        keep.append(i)
    return Dataset(path.stem, [res.records[i] for i in keep], np.array(labels, dtype=int), [None] * len(keep),
                   keys=[res.keys[i] for i in keep], unlabelled=unlabelled)


def _load_synergy(folder: Path) -> Dataset:
    from review.sources.labels import read_labels
    from review.sources.snapshot import read_records

    labels_file = folder / "labels.csv"
    if not labels_file.exists():
        raise DatasetError(f"{folder}: no labels.csv; a SYNERGY folder has works_1.zip and labels.csv")
    labels = read_labels(labels_file)
    works = sorted(p for p in folder.iterdir()
                   if p.name.startswith("works") and p.suffix in (".zip", ".json", ".gz", ".jsonl"))
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
