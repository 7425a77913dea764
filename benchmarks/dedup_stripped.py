"""False merges when an export leaves out the fields that tell two works apart.

For every pair of records of the labelled sets (``../shared/data/dedup/``) that are NOT the same work and whose
folded titles are alike (``fuzz.ratio`` >= 90), one side at a time loses its year, volume, issue and pages, as an
article in press or a careless export has it, and the pair is compared again. A meeting abstract beside its
paper, part 1 beside part 2, a column in every issue: each such merge is a study lost. (The look-alike pairs of
``dedup_perturb.py`` leave out records that have duplicates, and a meeting abstract's paper often has some.)

    python benchmarks/dedup_stripped.py        # prints the count and each merged pair
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup as bench  # noqa: E402  (benchmarks/dedup.py: the labelled sets and their truth)

from review.dedup.compare import compare  # noqa: E402
from review.dedup.prepare import DUPLICATE, prepare  # noqa: E402
from review.sources.importers import read_file  # noqa: E402


def main() -> None:
    compared = merged = 0
    for folder in bench.labelled_sets():
        _, groups = bench.load_truth(folder)
        group_of = {i: k for k, g in enumerate(groups) for i in g}
        result = read_file(folder / "records.csv")
        records, keys = result.records, result.keys
        prepared = [prepare(r) for r in records]
        titles = [p.title for p in prepared]
        sim = process.cdist(titles, titles, scorer=fuzz.ratio, score_cutoff=90, dtype=np.uint8, workers=-1)
        for i, j in zip(*np.nonzero(np.triu(sim, 1))):
            if group_of.get(keys[i], keys[i]) == group_of.get(keys[j], keys[j]):
                continue
            for x, y in ((i, j), (j, i)):
                bare = prepare(replace(records[x], year=None, volume="", issue="", pages=""))
                compared += 1
                if compare(bare, prepared[y]).outcome == DUPLICATE:
                    merged += 1
                    o = records[y]
                    print(f"  merged: {folder.name} {keys[x]} (stripped) ~ {keys[y]} ({o.year}, {o.venue[:40]}, "
                          f"{o.volume}({o.issue}) {o.pages}): {records[x].title[:70]}")
    print(f"labelled non-duplicate pairs with alike titles, one side stripped: {compared:,} compared, {merged} merged")


if __name__ == "__main__":
    main()
