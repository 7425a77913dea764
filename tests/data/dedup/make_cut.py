"""Cuts the small labelled sets in this folder from ../shared/data/dedup (run from the repo root).

Per set: every record of a seeded sample of true duplicate groups, every record of a
"hard negative" pair (titles at least 90 % alike but labelled distinct), and a seeded
sample of the other records. The labels are the source's, unchanged.
"""
import csv
import random
import sys
from pathlib import Path

from rapidfuzz import fuzz, process

SRC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dedup"
OUT = Path(__file__).resolve().parent
PLAN = {"cytology_screening": (60, 40), "haematology": (60, 60), "digital_work": (60, 80), "special_cases": (None, None)}


def main() -> None:
    csv.field_size_limit(sys.maxsize)
    for name, (n_groups, n_other) in PLAN.items():
        with open(SRC / name / "records.csv", encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header, rows = reader.fieldnames, list(reader)
        with open(SRC / name / "duplicate_groups.csv", encoding="utf-8", newline="") as fh:
            groups = [r["merged_ids"].split(";") for r in csv.DictReader(fh)]
        if n_groups is None:
            keep = {r["ID"] for r in rows}
        else:
            rng = random.Random(7)
            group_of = {x: i for i, g in enumerate(groups) for x in g}
            keep = {x for g in rng.sample(groups, min(n_groups, len(groups))) for x in g}
            titles = [(r.get("title") or "").lower() for r in rows]
            sim = process.cdist(titles, titles, scorer=fuzz.ratio, score_cutoff=90, workers=-1)
            for i, j in zip(*sim.nonzero()):
                a, b = rows[i]["ID"], rows[j]["ID"]
                if i < j and titles[i] and (a not in group_of or group_of.get(a) != group_of.get(b)):
                    for x in (a, b):
                        keep.update(groups[group_of[x]] if x in group_of else [x])
            others = [r["ID"] for r in rows if r["ID"] not in group_of and r["ID"] not in keep]
            keep.update(rng.sample(others, min(n_other, len(others))))
        (OUT / name).mkdir(exist_ok=True)
        with open(OUT / name / "records.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, header, quoting=csv.QUOTE_NONNUMERIC)
            w.writeheader()
            w.writerows(r for r in rows if r["ID"] in keep)
        with open(OUT / name / "duplicate_groups.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
            w.writerow(["merged_ids"])
            for g in groups:
                if set(g) & keep:
                    assert set(g) <= keep, name
                    w.writerow([";".join(g)])
        print(name, len(keep), "records")


if __name__ == "__main__":
    main()
