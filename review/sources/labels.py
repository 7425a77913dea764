"""Label files: screening labels (openalex_id,label_included) and labelled definition sentences."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from review.core.errors import DefinitionsError, ScreeningError
from review.core.text import short_openalex_id


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


def iter_labelled(path: str | Path) -> Iterator[dict[str, str]]:
    """Rows of a labelled definition set: a CSV (``sentence, is_definition, concept, …``) or a tab-separated file
    without quoting (``.tsv``, as in ``shared/data/definitions``: ``n, lang, label, concept, url, sentence, note``
    with ``label`` C/N). Each row gets ``is_definition`` ("1"/"0") from ``label`` when it has none."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        first = fh.readline()
        fh.seek(0)
        tsv = path.suffix.lower() == ".tsv" or ("\t" in first and "," not in first)
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if tsv else csv.DictReader(fh)
        for line, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise DefinitionsError(f"{path}:{line}: the row has {'more' if None in row else 'fewer'} fields than "
                                     "the header")
            if "is_definition" not in row and "label" in row:
                label = row["label"].strip().upper()
                if label not in ("C", "N"):
                    raise DefinitionsError(f"{path}:{line}: label must be C or N, got {row['label']!r}")
                row["is_definition"] = "1" if label == "C" else "0"
            yield row
