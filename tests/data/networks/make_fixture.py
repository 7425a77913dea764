"""Cut ``works.jsonl.gz`` from the shipped corpus (see PROVENANCE.md). Run from the repository root:

    python tests/data/networks/make_fixture.py
"""
import csv
import io
import gzip
import json
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TAKE = {"Donners_2021": 90, "Oud_2018": 60}  # two unrelated reviews: haemophilia drugs, borderline psychotherapy
KEEP = ("id", "doi", "title", "publication_year", "type", "cited_by_count", "referenced_works", "abstract_inverted_index")


def trim(w: dict) -> dict:
    out = {k: w.get(k) for k in KEEP}
    out["authorships"] = [
        {"author": {"id": a["author"].get("id"), "display_name": a["author"].get("display_name")},
         "institutions": [{"display_name": i.get("display_name"), "country_code": i.get("country_code")}
                          for i in a.get("institutions") or []]}
        for a in w.get("authorships") or []]
    out["concepts"] = [{"display_name": c["display_name"], "level": c.get("level"), "score": c.get("score")}
                       for c in w.get("concepts") or []]
    return out


def main() -> None:
    dataset = {}
    with open(ROOT / "bib" / "synergy_labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            dataset[row["openalex_id"]] = row["dataset"]
    works = defaultdict(list)
    with gzip.open(ROOT / "bib" / "synergy_openalex.jsonl.gz", "rt") as fh:
        for line in fh:
            w = json.loads(line)
            if dataset.get(w["id"]) in TAKE:
                works[dataset[w["id"]]].append(w)
    chosen = []
    for name, n in TAKE.items():
        ws = works[name]
        ids = {w["id"] for w in ws}
        degree = defaultdict(int)  # in-set citation links, citing or cited
        for w in ws:
            for r in w.get("referenced_works") or []:
                if r in ids:
                    degree[w["id"]] += 1
                    degree[r] += 1
        ws.sort(key=lambda w: (-degree[w["id"]], w["id"]))
        chosen += ws[:n]
    with gzip.GzipFile(Path(__file__).with_name("works.jsonl.gz"), "wb", mtime=0) as raw, \
            io.TextIOWrapper(raw, encoding="utf-8") as fh:
        for w in chosen:
            fh.write(json.dumps(trim(w), ensure_ascii=False, sort_keys=True) + "\n")
    with open(Path(__file__).with_name("datasets.csv"), "w", newline="") as fh:
        fh.write("openalex_id,dataset\n")
        for w in chosen:
            fh.write(f"{w['id'].rsplit('/', 1)[-1]},{dataset[w['id']]}\n")


if __name__ == "__main__":
    main()
