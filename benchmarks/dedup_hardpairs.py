"""Hard pairs: the pairs bib-dedupe gets wrong, and what our deduplicator makes of them.

bib-dedupe's repository (CoLRev-Environment/bib-dedupe, MIT licence) keeps, per evaluation set,
``data/<set>/matches_FN_list.csv`` (pairs that ARE duplicates in the ground truth but bib-dedupe
missed) and ``matches_FP_list.csv`` (pairs it merged that are NOT duplicates). Two consecutive
rows with the same ``case`` are one pair. Copies, byte for byte (``*.head.csv``: the exact start
of the file, cut after the last complete pair), live in ``benchmarks/data/dedup_hardpairs/<set>/`` (third-party
data, MIT licence, provenance in its README).

Each row goes through the same code path as a CSV export: it is written as a CSV row with our
column names and read with ``review.sources.importers.read_file``; then, for every pair,
``review.dedup.group.find_duplicates`` runs on its two records, and the pair counts as merged when
they end up in one group. Printed per set: FN-list pairs we merge (our recall on the pairs
bib-dedupe missed) and FP-list pairs we merge (false merges).

The rows were pre-processed by bib-dedupe: titles lower-case with stop words dropped, ``author``
surnames only, ``author_full`` "Surname I.Surname I." run together (FN lists) or "surname, i and
..." (FP lists), ``container_title`` abbreviated, DOIs with their dots removed (the "10." put back). Both records of a
pair have had the same treatment. Used: ``author_full`` (split back into names at ".<Capital>")
as authors, title, year, volume, number, pages, doi, container_title as journal, abstract, isbn.

Held-out discipline: develop on ``cardiac`` and ``neuroimaging`` only; ``depression`` and ``srsr``
are an out-of-sample check (``--sets depression,srsr``, no per-pair listing).

Measured (branch dedup-hardpairs; the copies are file heads: cardiac FN 13 pairs, FP 1; neuroimaging FN 15,
FP 6; depression FN 12; srsr FN 8, FP 0): FN-list pairs merged before -> after the rules found here: cardiac
9 -> 12 of 13, neuroimaging 10 -> 14 of 15 (development sets: in-sample), depression 4 -> 4 of 12, srsr 2 -> 2
of 8 (out of sample, misses not looked at); FP-list pairs merged: 0 before and after.

    python benchmarks/dedup_hardpairs.py                      # all sets present, counts only
    python benchmarks/dedup_hardpairs.py --sets cardiac --show  # list the pairs we get wrong
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data" / "dedup_hardpairs"
DEV = ("cardiac", "neuroimaging")
OUT_OF_SAMPLE = ("depression", "srsr")
COLUMNS = ["id", "title", "author", "year", "volume", "number", "pages", "doi", "journal", "abstract", "isbn"]

csv.field_size_limit(10_000_000)


def authors(row: dict) -> str:
    """``author_full`` back into one name per author, "; "-separated.

    bib-dedupe's lists join the names with nothing between them: "Diaz R. J.Zobel C." and
    "JukicM.Carrilo-RoaT." (a name ends at its last initial), or, with full given names,
    "Plancarte-Sanchez RicardoManilla-Olivares Armando"; the FP lists write "surname, i and ...".
    """
    full = (row.get("author_full") or "").strip()
    if not full:
        return row.get("author") or ""
    if " and " in full or ";" in full:
        return full
    if "." in full:
        names = re.split(r"(?<=\.)(?=[^\W\d_][^.\s])", full)  # ".Zobel", ".Carrilo", not ".J." (an initial)
        names = [re.sub(r"(?<=[^\W\d_])(?=[A-Z]\.)", " ", n) for n in names]  # "JukicM." -> "Jukic M."
    else:
        names = re.split(r"(?<=[a-z])(?=[A-Z][a-z])", full)  # "RicardoManilla" -> "Ricardo", "Manilla"
    return "; ".join(n.strip() for n in names if n.strip())


def read_list(path: Path) -> list[tuple[str, dict, dict]]:
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    out = []
    for a, b in zip(rows[::2], rows[1::2]):
        if a["case"] != b["case"]:
            raise ValueError(f"{path}: rows of case {a['case']} and {b['case']} are not a pair")
        out.append((a["case"], a, b))
    return out


def doi(row: dict) -> str:
    """bib-dedupe dropped the DOI's dots ("101161/01res..."): put back the one of the "10." prefix (the
    rest stays as bib-dedupe left it, the same for both records of a pair)."""
    d = (row.get("doi") or "").strip()
    return re.sub(r"^10(?=\d{4,9}/)", "10.", d)


def to_csv_row(row: dict, key: str) -> list[str]:
    return [key, row.get("title", ""), authors(row), row.get("year", ""), row.get("volume", ""),
            row.get("number", ""), row.get("pages", ""), doi(row), row.get("container_title", ""),
            row.get("abstract", ""), row.get("isbn", "")]


def records_of(pairs) -> dict:
    """All rows of a list as our Records (by key), read from one CSV file like an export."""
    from review.sources.importers import read_file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for n, (_case, a, b) in enumerate(pairs):
                w.writerow(to_csv_row(a, f"{n}a"))
                w.writerow(to_csv_row(b, f"{n}b"))
        res = read_file(path, lenient=True)
    if res.skipped:
        print(f"  ({len(res.skipped)} rows not read)", file=sys.stderr)
    return dict(zip(res.keys, res.records))


def merged(pairs) -> list[bool]:
    from review.dedup.group import find_duplicates
    if not pairs:
        return []
    by_key = records_of(pairs)
    out = []
    for n in range(len(pairs)):
        a, b = by_key.get(f"{n}a"), by_key.get(f"{n}b")
        groups = find_duplicates([a, b]).groups if a and b else []
        out.append(any(len(g) == 2 for g in groups))
    return out


def files(name: str, kind: str) -> Path | None:
    for suffix in (".csv", ".head.csv"):
        p = DATA / name / f"matches_{kind}_list{suffix}"
        if p.exists():
            return p
    return None


def show(a: dict, b: dict) -> None:
    for r in (a, b):
        print(f"      {r['ID']}: {r.get('year', '')} | {r.get('title', '')[:110]}")
        print(f"        au={authors(r)[:90]!r} v={r.get('volume', '')} n={r.get('number', '')} "
              f"p={r.get('pages', '')} doi={r.get('doi', '')} j={r.get('container_title', '')!r} "
              f"abs={len(r.get('abstract') or '')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default=",".join(DEV + OUT_OF_SAMPLE))
    ap.add_argument("--show", action="store_true", help="list the pairs we get wrong (development sets only)")
    args = ap.parse_args()
    print(f"{'set':28} {'FN-list pairs we merge':>24} {'FP-list pairs we merge':>24}  files")
    for name in args.sets.split(","):
        cells, wrong, used = [], [], []
        for kind in ("FN", "FP"):
            path = files(name, kind)
            if path is None:
                cells.append("-")
                continue
            used.append(path.name)
            pairs = read_list(path)
            got = merged(pairs)
            cells.append(f"{sum(got)}/{len(pairs)}")
            wrong += [(kind, p) for p, g in zip(pairs, got) if g != (kind == "FN")]
        tag = " (out of sample)" if name in OUT_OF_SAMPLE else ""
        print(f"{name + tag:28} {cells[0]:>24} {cells[1]:>24}  {', '.join(used)}")
        if args.show and name not in OUT_OF_SAMPLE:
            for kind, (case, a, b) in wrong:
                print(f"   {'missed' if kind == 'FN' else 'MERGED'} {case}")
                show(a, b)


if __name__ == "__main__":
    main()
