"""Rebuild the shipped definition model (review/assets/definition_model.json) from the labelled sentences.

    python benchmarks/train_definitions.py            # shared dev set + benchmarks/data/definitions/*.tsv
    python benchmarks/train_definitions.py --labelled A.tsv --labelled B.csv --out model.json

Deterministic: the same data give the same file. The lexicon (which concept a sentence names) is that of
``--protocol`` (default protocols/coproduction.toml); the model itself never sees the concept terms (masked).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from review.core.protocol import load  # noqa: E402
from review.definitions.extract import Lexicon  # noqa: E402
from review.definitions.model import MODEL_PATH  # noqa: E402
from review.definitions.training import train_on  # noqa: E402
from review.sources.labels import iter_labelled  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "definitions" / "coproduction_dev.tsv"
DATA = ROOT / "benchmarks" / "data" / "definitions"
COLLECTED = sorted(DATA.glob("collected*.tsv"))  # collected_*, collected2_*, collected3_*
NEIGHBOURS = sorted(DATA.glob("neighbours_*.tsv"))  # definitions of neighbouring concepts: training only


def default_sets() -> list[Path]:
    """The labelled sets about the three concepts: the shared development set (when present beside the
    repository) and the collected sets."""
    return ([SHARED] if SHARED.exists() else []) + COLLECTED


def training_sets() -> list[Path]:
    """What the shipped model is trained on: :func:`default_sets` and the neighbouring concepts' sentences."""
    return default_sets() + NEIGHBOURS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labelled", action="append", help="labelled set (.tsv or .csv); repeatable")
    ap.add_argument("--protocol", default=str(ROOT / "protocols" / "coproduction.toml"))
    ap.add_argument("--out", default=str(MODEL_PATH))
    args = ap.parse_args()
    paths = [Path(p) for p in args.labelled] if args.labelled else training_sets()
    rows = [r for p in paths for r in iter_labelled(p)]
    lexicon = Lexicon.from_protocol(load(args.protocol))
    model = train_on(rows, lexicon, info={"data": [p.name for p in paths], "protocol": Path(args.protocol).name})
    model.save(args.out)
    print(f"{args.out}: {model.info['candidates']} candidates ({model.info['positives']} definitions) from "
          f"{len(rows)} sentences of {len(paths)} files; {model.info['features']} features; id {model.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
