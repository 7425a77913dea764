"""Export figures on the shipped corpus (bib/synergy_openalex.jsonl.gz, 3,182 works).

Prints, per format: wall time to write, size, and for BibTeX the time bibtexparser 2 takes to read it
back with the number of entries, unique keys and matching DOIs/titles. Run: python benchmarks/export.py
"""
import json
import time
from pathlib import Path

import bibtexparser
import rispy

from review.sources.snapshot import read_records
from review.writers.bibliography import citation_keys, clean, latex_to_text, to_bibtex, to_csljson, to_ris

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    recs = [r for r, _ in read_records(ROOT / "bib" / "synergy_openalex.jsonl.gz")]
    t = time.perf_counter()
    keys = citation_keys(recs)
    print(f"{len(recs)} records; citation keys in {time.perf_counter() - t:.2f} s")
    writers = (("bibtex", lambda: to_bibtex(recs, keys)),
               ("bibtex ascii", lambda: to_bibtex(recs, keys, unicode=False)),
               ("ris", lambda: to_ris(recs, keys)), ("csljson", lambda: to_csljson(recs, keys)))
    for name, fn in writers:
        t = time.perf_counter()
        text = fn()
        print(f"{name:<13} write {time.perf_counter() - t:5.2f} s  {len(text.encode()) / 1e6:5.1f} MB")
        t = time.perf_counter()
        if name == "bibtex":
            lib = bibtexparser.parse_string(text)
            by = {e.key: e.fields_dict for e in lib.entries}
            same_doi = sum((by[keys[r.id]]["doi"].value if "doi" in by[keys[r.id]] else None) == r.doi for r in recs)
            same_title = sum(latex_to_text(by[keys[r.id]]["title"].value if "title" in by[keys[r.id]] else "")
                             == clean(r.title) for r in recs)
            verbatim = sum(clean(r.title) == " ".join(r.title.split()) for r in recs)
            print(f"{'':<13} read  {time.perf_counter() - t:5.2f} s  entries {len(lib.entries)}, unique keys "
                  f"{len({e.key for e in lib.entries})}, failed blocks {len(lib.failed_blocks)}, same DOI {same_doi}, "
                  f"same title {same_title} (of which {verbatim} need no control character removed)")
        elif name in ("ris", "csljson"):
            n = len(rispy.loads(text) if name == "ris" else json.loads(text))
            print(f"{'':<13} read  {time.perf_counter() - t:5.2f} s  entries {n}")


if __name__ == "__main__":
    main()
