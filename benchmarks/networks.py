"""Network benchmark: co-citation + bibliographic coupling + communities at 1k, 10k and 50k works,
ours (scipy sparse products, :mod:`review.networks.build`) vs a plain networkx pairwise implementation.

Data. The reference lists of the five shared SYNERGY sets (3,182 real OpenAlex works,
``../shared/data/synergy/*/works_1.zip``; the shipped ``bib/`` corpus if shared/ is absent).
1k: 1,000 real works drawn at random. 10k and 50k: synthetic works drawn from the real reference
distributions: the corpus is ``K = ceil(n / 3182)`` "fields", each a resampled copy of the real
one. A synthetic work of field ``f`` takes the reference list of a random real work (so list
lengths and co-citation patterns are the real ones); each reference is kept with probability
0.8, else replaced by a draw from the real reference popularity (citation counts in the corpus);
then 10 % of its references are moved to a random other field (cross-field citations). Each
reference of field ``f`` is a distinct id. So per field the popularity of references is the
real one, and a larger corpus is a broader one, not a denser one.

What is timed, in a fresh subprocess per size and implementation (peak memory = its max RSS):

- ``cocitation``: network of references cited by >= 2 works (all of them, no top-N cut),
  association-strength normalised;
- ``coupling``: network of all works sharing >= 1 reference, association-strength normalised;
- ``communities``: Louvain (networkx, seed 42) on each network cut to the 1,000 nodes with the
  largest total link strength (the default map size, as VOSviewer's "items to select").

The pairwise baseline builds both networks as ``networkx.Graph``: for each work, every pair of
its references (co-citation); for each reference, every pair of its citing works (coupling);
then normalises edge by edge and runs the same Louvain on the same top-1,000 cut. It runs only
up to 10k works (``--pairwise-max``); at 1k the two implementations' links and strengths are
checked to be equal.

    python benchmarks/networks.py                      # 1k, 10k, 50k; pairwise up to 10k
    python benchmarks/networks.py --sizes 1000 --pairwise-max 1000
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "synergy"
SEED = 42
TOP = 1000


def real_reference_lists() -> tuple[list[list[str]], list[int | None], str]:
    from review.sources.snapshot import read_records

    sources = sorted(SHARED.glob("*/works_1.zip")) or [ROOT / "bib" / "synergy_openalex.jsonl.gz"]
    seen, lists, years = set(), [], []
    for src in sources:
        for rec, _ in read_records(src):
            if rec.id not in seen:
                seen.add(rec.id)
                lists.append(list(dict.fromkeys(rec.referenced_works)))
                years.append(rec.year)
    where = "shared/data/synergy (5 sets)" if sources[0].suffix == ".zip" else "bib/synergy_openalex.jsonl.gz"
    return lists, years, where


def synthetic_lists(real: list[list[str]], n: int, seed: int = SEED, keep: float = 0.8,
                    cross: float = 0.1) -> list[list[str]]:
    """``n`` reference lists: real ones if ``n`` <= the real corpus, else drawn as the module docstring says."""
    rng = np.random.default_rng(seed)
    if n <= len(real):
        return [real[i] for i in sorted(rng.choice(len(real), n, replace=False))]
    index: dict[str, int] = {}
    coded = [np.array([index.setdefault(x, len(index)) for x in lst], dtype=np.int64) for lst in real]
    names = list(index)
    popularity = np.bincount(np.concatenate([c for c in coded if len(c)]), minlength=len(names)).astype(float)
    cdf = np.cumsum(popularity / popularity.sum())
    fields = math.ceil(n / len(real))
    out = []
    templates = rng.integers(0, len(real), n)
    for j in range(n):
        base = coded[templates[j]]
        if len(base) == 0:
            out.append([])
            continue
        refs = base.copy()
        swap = rng.random(len(refs)) >= keep
        refs[swap] = np.minimum(np.searchsorted(cdf, rng.random(int(swap.sum()))), len(names) - 1)
        field = np.full(len(refs), j % fields)
        moved = rng.random(len(refs)) < cross
        field[moved] = rng.integers(0, fields, int(moved.sum()))
        out.append(list(dict.fromkeys(f"{names[r]}.{f}" for r, f in zip(refs, field))))
    return out


# -- the two implementations ---------------------------------------------------------------------------
def ours(lists: list[list[str]]) -> dict:
    from review.core.records import Record
    from review.networks import build as networks
    from review.networks import maps as mapping

    records = [Record(id=f"S{j}", referenced_works=lst) for j, lst in enumerate(lists)]
    out: dict = {}
    t, c = time.perf_counter(), time.process_time()
    cocit = networks.build(records, "cocitation", min_count=2, max_nodes=None, norm="association")
    coupling_start = time.perf_counter(), time.process_time()
    coupling = networks.build(records, "coupling", min_count=1, max_nodes=None, norm="association")
    out["cocitation_s"], out["coupling_s"] = coupling_start[0] - t, time.perf_counter() - coupling_start[0]
    out["networks_cpu_s"] = time.process_time() - c
    out["rss_after_networks_mb"] = _rss_mb()
    t = time.perf_counter()
    clusters = []
    for net in (cocit, coupling):
        top = networks.subnetwork(net, np.argsort(-net.total_link_strength(), kind="stable")[:TOP])
        networks.renormalize(top, "association")
        clusters.append(int(mapping.communities(top, seed=SEED).max(initial=0)))
    out["communities_s"] = time.perf_counter() - t
    out.update(cocitation_nodes=len(cocit), cocitation_links=cocit.n_links, coupling_nodes=len(coupling),
               coupling_links=coupling.n_links, clusters=clusters)
    out["_edges"] = {"cocitation": _edge_dict(cocit), "coupling": _edge_dict(coupling)} if len(lists) <= 1000 else None
    return out


def _edge_dict(net) -> dict:
    i, j, c, s = net.edges()
    return {tuple(sorted((net.ids[a], net.ids[b]))): (int(cc), float(ss)) for a, b, cc, ss in zip(i, j, c, s)}


def _association(g) -> None:
    """VOSviewer association strength, edge by edge: a_ij * 2m / (k_i k_j)."""
    k = dict(g.degree(weight="count"))
    two_m = sum(k.values())
    for u, v, d in g.edges(data=True):
        d["weight"] = d["count"] * two_m / (k[u] * k[v])


def pairwise(lists: list[list[str]]) -> dict:
    import networkx as nx

    out: dict = {}
    t, c = time.perf_counter(), time.process_time()
    cited = Counter(x for lst in lists for x in set(lst))
    cocit = nx.Graph()
    for lst in lists:
        refs = sorted({x for x in lst if cited[x] >= 2})
        for u, v in combinations(refs, 2):
            if cocit.has_edge(u, v):
                cocit[u][v]["count"] += 1
            else:
                cocit.add_edge(u, v, count=1)
    _association(cocit)
    out["cocitation_s"] = time.perf_counter() - t
    t = time.perf_counter()
    citing = defaultdict(list)
    for j, lst in enumerate(lists):
        for x in set(lst):
            citing[x].append(f"S{j}")
    coupling = nx.Graph()
    for works in citing.values():
        for u, v in combinations(works, 2):
            if coupling.has_edge(u, v):
                coupling[u][v]["count"] += 1
            else:
                coupling.add_edge(u, v, count=1)
    _association(coupling)
    out["coupling_s"] = time.perf_counter() - t
    out["networks_cpu_s"] = time.process_time() - c
    out["rss_after_networks_mb"] = _rss_mb()
    t = time.perf_counter()
    clusters = []
    for g in (cocit, coupling):
        strength = dict(g.degree(weight="count"))
        order = sorted(g.nodes, key=lambda x: -strength[x])[:TOP]
        sub = nx.Graph(g.subgraph(order))
        _association(sub)
        clusters.append(len(nx.community.louvain_communities(sub, weight="weight", seed=SEED)))
    out["communities_s"] = time.perf_counter() - t
    out.update(cocitation_nodes=cocit.number_of_nodes(), cocitation_links=cocit.number_of_edges(),
               coupling_nodes=coupling.number_of_nodes(), coupling_links=coupling.number_of_edges(),
               clusters=clusters)
    if len(lists) <= 1000:
        out["_edges"] = {name: {tuple(sorted((u, v))): (d["count"], d["weight"]) for u, v, d in g.edges(data=True)}
                         for name, g in (("cocitation", cocit), ("coupling", coupling))}
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- driver ---------------------------------------------------------------------------------------------
def child(impl: str, n: int, data: Path) -> None:
    real = json.loads(data.read_text())
    lists = synthetic_lists(real, n)
    result = {"impl": impl, "n": n, "rss_input_mb": _rss_mb(), "citations": sum(map(len, lists)),
              "distinct_references": len({x for lst in lists for x in lst})}
    cpu = time.process_time()
    result.update((ours if impl == "ours" else pairwise)(lists))
    result["cpu_s"] = time.process_time() - cpu
    result["peak_rss_mb"] = _rss_mb()
    edges = result.pop("_edges", None)
    if edges is not None:
        Path(data.with_name(f"edges_{impl}_{n}.json")).write_text(json.dumps(
            {k: [[a, b, c, w] for (a, b), (c, w) in v.items()] for k, v in edges.items()}))
    print(json.dumps(result))


def run_child(impl: str, n: int, data: Path, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "--child", impl, str(n), str(data)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"impl": impl, "n": n, "timeout": timeout}
    except subprocess.CalledProcessError as e:
        sys.exit(f"{impl} at {n} failed:\n{e.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def same_edges(data: Path, n: int) -> str:
    a = json.loads(data.with_name(f"edges_ours_{n}.json").read_text())
    b = json.loads(data.with_name(f"edges_pairwise_{n}.json").read_text())
    for kind in ("cocitation", "coupling"):
        ea = {(u, v): (c, w) for u, v, c, w in a[kind]}
        eb = {(u, v): (c, w) for u, v, c, w in b[kind]}
        if ea.keys() != eb.keys():
            return f"{kind}: different links ({len(ea)} vs {len(eb)})"
        bad = [k for k in ea if ea[k][0] != eb[k][0] or not math.isclose(ea[k][1], eb[k][1], rel_tol=1e-9)]
        if bad:
            return f"{kind}: {len(bad)} links differ, e.g. {bad[0]}: {ea[bad[0]]} vs {eb[bad[0]]}"
    return "identical links, counts and association strengths"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--pairwise-max", type=int, default=10000, help="largest size the pairwise baseline runs at")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run before giving up")
    ap.add_argument("--child", nargs=3, metavar=("IMPL", "N", "DATA"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), Path(args.child[2]))
        return
    lists, _years, where = real_reference_lists()
    lengths = np.array([len(x) for x in lists])
    print(f"real reference lists: {len(lists)} works from {where}; references per work: median "
          f"{int(np.median(lengths))}, 90th pct {int(np.percentile(lengths, 90))}, max {lengths.max()}, "
          f"{(lengths == 0).mean():.0%} without any")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "real.json"
        data.write_text(json.dumps(lists))
        for n in args.sizes:
            for impl in ("ours", "pairwise"):
                if impl == "pairwise" and n > args.pairwise_max:
                    rows.append({"impl": impl, "n": n, "skipped": f"> {args.pairwise_max} works"})
                    continue
                r = run_child(impl, n, data, args.timeout)
                r["load"] = round(os.getloadavg()[0], 1)
                rows.append(r)
                print(json.dumps(r), flush=True)
            if n <= 1000 and n <= args.pairwise_max:
                print(f"check at {n}: {same_edges(data, n)}")
    print()
    print("| works | impl | cocitation s | coupling s | cocit.+coupling s (CPU s) | communities s | peak RSS MB "
          "| cocit. nodes / links | coupling nodes / links | load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "skipped" in r or "timeout" in r:
            why = r.get("skipped") or f"not finished in {r['timeout']:.0f} s"
            print(f"| {r['n']:,} | {r['impl']} | – | – | – | – | – | {why} | | |")
            continue
        print(f"| {r['n']:,} | {r['impl']} | {r['cocitation_s']:.2f} | {r['coupling_s']:.2f} | "
              f"{r['cocitation_s'] + r['coupling_s']:.2f} ({r['networks_cpu_s']:.2f}) | {r['communities_s']:.2f} | "
              f"{r['peak_rss_mb']:.0f} | {r['cocitation_nodes']:,} / {r['cocitation_links']:,} | "
              f"{r['coupling_nodes']:,} / {r['coupling_links']:,} | {r['load']} |")


if __name__ == "__main__":
    main()
