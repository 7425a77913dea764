"""Requests and wall time of OpenAlex retrieval: ours vs naive clients, against the local test server.

The server (``review.ui.testserver``) serves the five SYNERGY sets from ``../shared/data/synergy``
(fallback: the shipped ``bib/synergy_openalex.jsonl.gz``), about 3,200 real works.

- **search**: the four searches of ``protocols/demo.toml``. Ours: cursor paging at 200 per page,
  stopping at ``meta.count``. Compared with pyalex's own paginator (unmodified, redirected to the
  server) at its default page size and at 200 (both read OpenAlex's closing empty page).
- **snowball** from the records the original reviews included (``labels.csv``, ``label_included=1``):
  backward (cited works not yet stored) and forward (works citing a seed). Ours: 100 ids per request
  (``ids.openalex:W1|…``) and 100 seeds per ``cites:`` query. Naive: one request per id
  (``/works/W…``) and one ``cites:W…`` query per seed (cursor-paged at 200).

Both methods must find the same works (checked). Wall times are on 127.0.0.1; the last column adds
an assumed round trip per request (default 100 ms, typical for api.openalex.org from Europe) as an
estimate of the remote time. Run::

    nice python benchmarks/openalex_requests.py [--rtt 0.1] [--latency 0]
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyalex  # noqa: E402

from review.core.errors import OpenAlexError
from review.core.protocol import load
from review.core.records import Source
from review.core.store import Store
from review.core.text import short_openalex_id
from review.sources.openalex import Client, build_query, pyalex_base_url
from review.sources.openalex_json import from_openalex
from review.sources.snapshot import iter_works
from review.stages.search import label_cited_works, search, snowball
from review.ui.testserver import OpenAlexTestServer

SYNERGY = ROOT.parent / "shared" / "data" / "synergy"


def load_works() -> tuple[list[dict], list[str], str]:
    """All works, the included ids (seeds) and where they came from."""
    sets = sorted(p for p in SYNERGY.glob("*/works_1.zip")) if SYNERGY.exists() else []
    if sets:
        works = [w for p in sets for _, w in iter_works(p)]
        included = []
        for p in sets:
            with open(p.parent / "labels.csv", newline="") as fh:
                included += [short_openalex_id(r["openalex_id"]) for r in csv.DictReader(fh)
                             if r["label_included"] == "1"]
        return works, included, f"{len(sets)} SYNERGY sets in {SYNERGY}"
    works = [w for _, w in iter_works(ROOT / "bib" / "synergy_openalex.jsonl.gz")]
    with open(ROOT / "bib" / "synergy_labels.csv", newline="") as fh:
        included = [short_openalex_id(r["openalex_id"]) for r in csv.DictReader(fh) if r["label_included"] == "1"]
    return works, included, "bib/synergy_openalex.jsonl.gz (../shared not found)"


class Row:
    def __init__(self, task: str, method: str, requests: int, seconds: float, works: int):
        self.task, self.method, self.requests, self.seconds, self.works = task, method, requests, seconds, works


def pyalex_query(s):
    q = pyalex.Works().search(s.query)
    return q.filter(publication_year=f">{s.from_year - 1}") if s.from_year else q


def bench_search(server: OpenAlexTestServer, tmp: Path) -> list[Row]:
    protocol = load(ROOT / "protocols" / "demo.toml")
    rows = []
    for s in protocol.searches:
        with pyalex_base_url(server.url):  # warm the server's query cache, so no method pays for it
            pyalex_query(s).get(per_page=1)
        server.reset()
        t = time.perf_counter()
        n = sum(len(p.results) for p in Client(server.url).pages(build_query(s)))
        rows.append(Row(f"search {s.name}", "ours: cursor, 200/page, stop at count (fetch only)",
                        len(server.requests), time.perf_counter() - t, n))
        server.reset()
        t = time.perf_counter()
        r = search(Store(tmp / f"search-{s.name}.sqlite"), s, protocol.hash, client=Client(server.url), progress=False)
        rows.append(Row(f"search {s.name}", "ours, storing records + raw JSON + checkpoints", len(server.requests),
                        time.perf_counter() - t, r["n_records"]))
        for per_page, label in ((None, "pyalex paginate, default page size"), (200, "pyalex paginate, 200/page")):
            server.reset()
            t = time.perf_counter()
            with pyalex_base_url(server.url):
                n = sum(len(p) for p in pyalex_query(s).paginate(per_page=per_page))
            rows.append(Row(f"search {s.name}", label, len(server.requests), time.perf_counter() - t, n))
    return rows


def seeded_store(path: Path, works: list[dict], seeds: set[str]) -> Store:
    store = Store(path)
    recs = [(from_openalex(w, Source("import", "seeds", "")), w) for w in works if short_openalex_id(w["id"]) in seeds]
    store.add_records([r for r, _ in recs], None, [w for _, w in recs], "openalex")
    return store


def bench_snowball(server: OpenAlexTestServer, works: list[dict], seeds: list[str], tmp: Path) -> list[Row]:
    by_id = {short_openalex_id(w["id"]): w for w in works}
    seeds = [s for s in dict.fromkeys(seeds) if s in by_id]
    seed_set = set(seeds)
    rows = []
    for direction in ("backward", "forward"):
        store = seeded_store(tmp / f"snow-{direction}.sqlite", works, seed_set)
        server.reset()
        t = time.perf_counter()
        r = snowball(store, seeds=seeds, backward=direction == "backward", forward=direction == "forward",
                     max_records=10**6, client=Client(server.url), progress=False, label_cited=False)
        ours = set(store.record_ids()) - seed_set
        rows.append(Row(f"snowball {direction} ({len(seeds)} seeds)", "ours: 100 ids per request",
                        len(server.requests), time.perf_counter() - t, r["new_records"]))
        # then the labels of the works the set cites (for maps): ceil(M/100) look-ups, counted on their own
        server.reset()
        t = time.perf_counter()
        labels = label_cited_works(store, Client(server.url), progress=False)
        rows.append(Row(f"  cited-work labels after {direction}", "ours: 100 ids per request", len(server.requests),
                        time.perf_counter() - t, labels["labelled"]))

        server.reset()
        c = Client(server.url)
        t = time.perf_counter()
        found: set[str] = set()
        if direction == "backward":
            wanted = list(dict.fromkeys(short_openalex_id(x) for s in seeds for x in by_id[s]["referenced_works"]))
            for i in (x for x in wanted if x not in seed_set):
                try:
                    found.add(short_openalex_id(c.get_json(c.url(f"/works/{i}", select="id,referenced_works"))["id"]))
                except OpenAlexError as e:
                    if e.status != 404:
                        raise
        else:
            for s in seeds:
                for page in c.pages(pyalex.Works().filter(cites=s)):
                    found |= {short_openalex_id(w["id"]) for w in page.results} - seed_set
        rows.append(Row(f"snowball {direction} ({len(seeds)} seeds)", "one request per id / per seed",
                        len(server.requests), time.perf_counter() - t, len(found)))
        assert found == ours, f"{direction}: naive found {len(found)} works, ours {len(ours)}"
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtt", type=float, default=0.1, help="assumed seconds per request to api.openalex.org")
    ap.add_argument("--latency", type=float, default=0.0, help="delay the test server adds to each reply")
    args = ap.parse_args()
    works, included, source = load_works()
    print(f"corpus: {len(works)} works from {source}; seeds: {len(set(included))} included records")
    with OpenAlexTestServer(works, latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        rows = bench_search(server, Path(tmp)) + bench_snowball(server, works, included, Path(tmp))
    print()
    print(f"| task | method | requests | works | wall s (local) | est. s at {args.rtt * 1000:.0f} ms/request |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r.task} | {r.method} | {r.requests} | {r.works} | {r.seconds:.2f} | "
              f"{r.seconds + r.requests * args.rtt:.1f} |")


if __name__ == "__main__":
    main()
