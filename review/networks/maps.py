"""Science maps of a :class:`~review.networks.build.Network`: what the network says about a field.

- :func:`communities`: Louvain clusters (networkx, fixed seed) on the normalised links.
- :func:`label_clusters`: each cluster's most distinctive terms, from the titles,
  abstracts and subjects of the works behind its nodes.
- :func:`layout`: a force-directed map (vectorised Fruchterman–Reingold, seeded).
- :func:`centralities`: links, total link strength, PageRank, betweenness.
- :func:`key_references`: the theoretical foundation — the references the set cites
  most, and the works of the set cited most by the set itself — with their clusters.
- :func:`historiograph`: the citation chronology of the set and its main paths
  (search path count, SPC, on the citation DAG).
- :func:`thematic_map`: Callon centrality × density per cluster, in four quadrants.
- :func:`evolution`: the clusters per period and how they flow into each other.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from review.core.queries import Lookup
from review.core.records import Record
from review.networks.build import UNTITLED_WORK, WORK_KINDS, Network, build, incidence, work_label
from review.networks.terms import extract_terms

LAYOUT_MAX_NODES = 2000  # nodes laid out by the dense force model; the rest are placed beside a neighbour


@dataclass
class Map:
    """A network with its clusters, cluster labels, positions and centralities."""

    network: Network
    clusters: np.ndarray  # cluster per node, 1 = largest
    cluster_terms: dict[int, list[str]]
    xy: np.ndarray  # n × 2, within [-1, 1]
    centrality: dict[str, np.ndarray]

    def cluster_label(self, k: int, n: int = 3) -> str:
        return " · ".join(self.cluster_terms.get(k, [])[:n]) or f"cluster {k}"

    def cluster_summary(self, top: int = 5) -> list[dict[str, Any]]:
        """Per cluster: size, label, distinctive terms and its nodes with the most occurrences."""
        net = self.network
        out = []
        for k in range(1, int(self.clusters.max(initial=0)) + 1):
            members = np.flatnonzero(self.clusters == k)
            best = members[np.argsort(-net.counts[members], kind="stable")[:top]]
            out.append({"cluster": k, "size": int(len(members)), "label": self.cluster_label(k),
                        "terms": self.cluster_terms.get(k, []),
                        "top_nodes": [{"id": net.ids[i], "label": net.labels[i], "count": int(net.counts[i])}
                                      for i in best],
                        "members": [net.ids[i] for i in members]})
        return out


def make_map(net: Network, records: Sequence[Record] | None = None, seed: int = 42, resolution: float = 1.0,
             terms: Terms | None = None) -> Map:
    """Cluster, label (from ``terms``, else the terms of ``records``), lay out and measure a network."""
    clusters = communities(net, seed=seed, resolution=resolution)
    if terms is None and records is not None:
        terms = work_terms(records)
    labels = label_clusters(net, clusters, terms) if terms is not None else {}
    return Map(network=net, clusters=clusters, cluster_terms=labels, xy=layout(net, seed=seed),
               centrality=centralities(net, seed=seed))


# -- communities -----------------------------------------------------------------------------------
def _graph(weights: sp.spmatrix, n: int):
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(n))
    c = sp.triu(weights, 1).tocoo()
    g.add_weighted_edges_from(zip(c.row.tolist(), c.col.tolist(), c.data.tolist()))
    return g


def communities(net: Network, seed: int = 42, resolution: float = 1.0) -> np.ndarray:
    """Louvain communities (``networkx.community.louvain_communities``) on the normalised, undirected links.

    Returns the cluster of each node, numbered from 1 by decreasing size (ties: first node).
    """
    import networkx as nx

    n = len(net)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    parts = nx.community.louvain_communities(_graph(net.undirected(), n), weight="weight",
                                             resolution=resolution, seed=seed)
    parts = sorted(parts, key=lambda p: (-len(p), min(p)))
    out = np.empty(n, dtype=np.int64)
    for k, p in enumerate(parts, 1):
        out[list(p)] = k
    return out


@dataclass
class Terms:
    """Works × terms of a set of records: the subjects they carry and phrases of their titles and abstracts."""

    matrix: sp.csr_matrix
    vocab: list[str]
    row: dict[str, int]  # record id → row


def work_terms(records: Sequence[Record]) -> Terms:
    """The :class:`Terms` of ``records`` (subjects lower-cased; 1–2 word phrases in 2 or more records)."""
    phrases = extract_terms(records, min_count=2, max_terms=3000, ngram_range=(1, 2))
    lists = [list(dict.fromkeys([*(s.lower() for s in (*r.topics, *r.keywords, *r.concepts)), *p]))
             for r, p in zip(records, phrases)]
    matrix, vocab = incidence(lists)
    return Terms(matrix, vocab, {r.id: i for i, r in enumerate(records)})


def label_clusters(net: Network, clusters: np.ndarray, terms: Terms, top: int = 8) -> dict[int, list[str]]:
    """The most distinctive terms of each cluster.

    The works behind a cluster's nodes (``net.docs``; each work shared among clusters
    in proportion to its nodes there) give term frequencies per cluster; a term scores
    ``f_k · log(p_k / p)`` (its frequency in the cluster times the log ratio of its share
    there to its share overall), so frequent-everywhere terms do not win.
    """
    k = int(clusters.max(initial=0))
    if k == 0 or terms.matrix.shape[1] == 0:
        return {}
    rows = np.array([terms.row.get(w, -1) for w in net.works], dtype=np.int64)
    member = sp.csr_matrix((np.ones(len(clusters)), (np.arange(len(clusters)), clusters - 1)), shape=(len(clusters), k))
    share = (net.docs @ member).toarray()  # works of the network × clusters
    total = share.sum(1, keepdims=True)
    share = np.divide(share, total, out=np.zeros_like(share), where=total > 0)
    ok = rows >= 0
    t, vocab = terms.matrix[rows[ok]], terms.vocab
    freq = np.asarray((sp.csr_matrix(share[ok].T) @ t).todense())  # clusters × terms
    overall = freq.sum(0)
    p = overall / max(overall.sum(), 1e-12)
    out = {}
    for c in range(k):
        f = freq[c]
        if f.sum() <= 0:
            out[c + 1] = []
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(f > 0, f * np.log((f / f.sum()) / p), -np.inf)
        score[f < min(1.0, f.max())] = -np.inf  # at least one work's worth, unless the cluster has less
        chosen: list[str] = []
        for j in np.argsort(-score, kind="stable"):
            if len(chosen) == top or not (np.isfinite(score[j]) and score[j] > 0):
                break
            words = set(vocab[j].split())
            if not any(words <= set(c.split()) or set(c.split()) <= words for c in chosen):
                chosen.append(vocab[j])  # "half life" makes "half" and "life" redundant
        out[c + 1] = chosen
    return out


# -- layout ----------------------------------------------------------------------------------------
def layout(net: Network, seed: int = 42, iterations: int = 120) -> np.ndarray:
    """Force-directed positions in [-1, 1]² (Fruchterman–Reingold with weak gravity, vectorised, seeded).

    Link weights are the normalised strengths, scaled to mean 1 and capped at 10 so a few
    extreme pairs do not collapse the map. Above :data:`LAYOUT_MAX_NODES` nodes, the rest are
    placed beside their strongest laid-out neighbour.
    """
    n = len(net)
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.zeros((1, 2))
    w_all = net.undirected()
    core = np.arange(n)
    if n > LAYOUT_MAX_NODES:
        core = np.sort(np.argsort(-net.total_link_strength(), kind="stable")[:LAYOUT_MAX_NODES])
    w = w_all[core][:, core].toarray().astype(np.float32)
    if (w > 0).any():
        w /= w[w > 0].mean()
        np.minimum(w, 10.0, out=w)
    m = len(core)
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (m, 2)).astype(np.float32)
    k = np.float32(2.0 / math.sqrt(m))
    temp, cool = 0.2, 0.2 / (iterations + 1)
    x, y = pos[:, 0].copy(), pos[:, 1].copy()
    for _ in range(iterations):
        dx = x[:, None] - x[None, :]
        dy = y[:, None] - y[None, :]
        d2 = dx * dx
        d2 += dy * dy
        np.maximum(d2, 1e-6, out=d2)
        force = k * k / d2  # repulsion k²/d and attraction w·d²/k, both divided by d for the unit vector
        force -= w * np.sqrt(d2) / k
        gravity = 0.3 * m * k
        ux = (force * dx).sum(1) - gravity * x
        uy = (force * dy).sum(1) - gravity * y
        length = np.sqrt(ux * ux + uy * uy)
        length[length == 0] = 1
        step = np.minimum(length, temp) / length
        x += ux * step
        y += uy * step
        temp -= cool
    pos = np.column_stack([x, y])
    out = np.zeros((n, 2))
    out[core] = pos
    if m < n:
        rest = np.setdiff1d(np.arange(n), core)
        sub = w_all[rest][:, core].tocsr()
        for r, i in enumerate(rest):
            row = sub.getrow(r)
            anchor = out[core[row.indices[np.argmax(row.data)]]] if row.nnz else np.zeros(2)
            out[i] = anchor + rng.normal(0, 0.02, 2)
    out -= out.mean(0)
    scale = np.abs(out).max()
    return out / scale if scale > 0 else out


# -- centralities ------------------------------------------------------------------------------------
def centralities(net: Network, seed: int = 42, samples: int = 50, backbone: int = 10) -> dict[str, np.ndarray]:
    """Links, total link strength, PageRank (on normalised weights; for ``citation`` on citing → cited)
    and betweenness (sampled over ``samples`` sources on each node's ``backbone`` strongest links,
    distance = 1 / strength)."""
    import networkx as nx

    n = len(net)
    out = {"links": net.degree().astype(np.int64), "total_link_strength": net.total_link_strength().astype(np.float64)}
    if n == 0:
        out.update(pagerank=np.zeros(0), betweenness=np.zeros(0))
        return out
    if net.directed:
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        i, j, _, s = net.edges()
        g.add_weighted_edges_from(zip(i.tolist(), j.tolist(), s.tolist()))
    else:
        g = _graph(net.undirected(), n)
    pr = nx.pagerank(g, weight="weight")
    out["pagerank"] = np.array([pr[i] for i in range(n)])
    bb = _backbone(net.undirected(), backbone)
    c = sp.triu(bb, 1).tocoo()
    h = nx.Graph()
    h.add_nodes_from(range(n))
    h.add_weighted_edges_from(zip(c.row.tolist(), c.col.tolist(), (1.0 / c.data).tolist()), weight="distance")
    bc = nx.betweenness_centrality(h, k=min(samples, n), weight="distance", seed=seed)
    out["betweenness"] = np.array([bc[i] for i in range(n)])
    return out


def _backbone(w: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Symmetric matrix of each node's ``k`` strongest links (a link kept by either end)."""
    w = w.tocsr()
    rows, cols, vals = [], [], []
    for i in range(w.shape[0]):
        a, b = w.indptr[i], w.indptr[i + 1]
        if b == a:
            continue
        top = np.argsort(-w.data[a:b], kind="stable")[:k]
        rows.append(np.full(len(top), i))
        cols.append(w.indices[a:b][top])
        vals.append(w.data[a:b][top])
    if not rows:
        return sp.csr_matrix(w.shape)
    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=w.shape)
    return m.maximum(m.T).tocsr()


def key_nodes(m: Map, top: int = 20) -> list[dict[str, Any]]:
    """The ``top`` nodes by occurrences (ties: total link strength), with cluster and centralities."""
    net = m.network
    order = np.lexsort((-m.centrality["total_link_strength"], -net.counts))[:top]
    out = []
    for i in order:
        d = {"id": net.ids[i], "label": net.labels[i], net.count_name.lower().replace(" ", "_"): int(net.counts[i]),
             "cluster": int(m.clusters[i]), "cluster_label": m.cluster_label(int(m.clusters[i])),
             **{k: _num(v[i]) for k, v in m.centrality.items()}}
        d.update({k: v for k, v in net.meta[i].items() if k in ("title", "year", "doi") and v})
        out.append(d)
    return out


def _num(v: Any) -> int | float:
    return int(v) if isinstance(v, (np.integer, int)) else round(float(v), 6)


# -- key references ------------------------------------------------------------------------------------
def key_references(records: Sequence[Record], lookup: Lookup | None = None, top: int = 20,
                   cocitation: Map | None = None, works_map: Map | None = None) -> dict[str, list[dict]]:
    """The theoretical foundation of a set of works.

    Returns ``{"cited": [...], "local": [...]}``: the references cited by most works of the set
    (inside or outside it), and the works of the set cited most by the set itself (local
    citations). Each entry has its id and label (metadata from the set or ``lookup``; else
    :data:`~review.networks.build.UNKNOWN_WORK` and ``known: False``), and its cluster where
    known: from a co-citation map (``cocitation``), or the cluster most of its citing works
    belong to in a map of works (``works_map``, e.g. coupling).
    """
    records = list(records)
    a, refs = incidence([r.referenced_works for r in records])
    cited = np.bincount(a.indices, minlength=a.shape[1])
    by_id = {r.id: r for r in records}
    in_set = np.array([x in by_id for x in refs], dtype=bool)
    order = np.argsort(-cited, kind="stable")
    top_cited = order[:top]
    top_local = [j for j in order if in_set[j]][:top]
    wanted = sorted({refs[j] for j in [*top_cited, *top_local]} - by_id.keys())
    found = lookup(wanted) if (lookup and wanted) else {}
    ac = a.tocsc()
    co_pos = {x: i for i, x in enumerate(cocitation.network.ids)} if cocitation else {}
    wm_pos = {x: i for i, x in enumerate(works_map.network.ids)} if works_map else {}

    def entry(j: int) -> dict[str, Any]:
        rid = refs[j]
        rec = by_id.get(rid) or found.get(rid)
        d: dict[str, Any] = {"id": rid, "label": work_label(rec), "citations": int(cited[j]),
                             "in_set": bool(in_set[j])}
        if rec is None:
            d["known"] = False
        if rec is not None:
            d.update({k: v for k, v in (("title", rec.title), ("year", rec.year), ("doi", rec.doi),
                                        ("cited_by_count", rec.cited_by_count)) if v})
        if rid in co_pos:
            i = co_pos[rid]
            d["cluster"] = int(cocitation.clusters[i])
            d["cluster_label"] = cocitation.cluster_label(d["cluster"])
            d["cocitation_strength"] = _num(cocitation.centrality["total_link_strength"][i])
        elif works_map is not None:
            citing = ac.indices[ac.indptr[j]:ac.indptr[j + 1]]
            cl = Counter(int(works_map.clusters[wm_pos[records[w].id]]) for w in citing if records[w].id in wm_pos)
            if cl:
                d["cluster"] = cl.most_common(1)[0][0]
                d["cluster_label"] = works_map.cluster_label(d["cluster"])
        return d

    return {"cited": [entry(j) for j in top_cited if cited[j] > 0],
            "local": [entry(j) for j in top_local if cited[j] > 0]}


# -- historiograph and main path -----------------------------------------------------------------------
def historiograph(records: Sequence[Record], top: int = 30, components: int = 3) -> dict[str, Any]:
    """Citation chronology of the set: its most locally cited works, their citation links, and
    the main path of each of the ``components`` largest connected parts of the citation graph.

    The main path is the source-to-sink path with the largest sum of search path counts (SPC;
    Hummon & Doreian 1989; Batagelj 2003) on the citation DAG, knowledge flowing from cited to
    citing work. Links against time (cited work younger than the citing one) and, failing that,
    one link per remaining cycle are removed first; ``removed_links`` counts them.
    """
    import networkx as nx

    records = list(records)
    net = build(records, "citation", norm="none", max_nodes=None)
    by_id = {r.id: r for r in records}
    g = nx.DiGraph()
    g.add_nodes_from(net.ids)
    removed = 0
    for i, j, _, _ in zip(*net.edges()):
        citing, cited = by_id[net.ids[i]], by_id[net.ids[j]]
        if citing.year and cited.year and cited.year > citing.year:
            removed += 1
            continue
        g.add_edge(cited.id, citing.id)  # knowledge flows from the cited work to the citing one
    while True:
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            break
        g.remove_edge(*cycle[-1][:2])
        removed += 1
    spc = _spc(g)
    parts = sorted(nx.weakly_connected_components(g), key=lambda c: (-len(c), min(c)))
    paths = [_main_path(g.subgraph(c), spc) for c in parts[:components] if len(c) >= 3]
    local = dict(zip(net.ids, net.counts.tolist()))
    chosen = sorted(local, key=lambda x: (-local[x], x))[:top]
    chosen = list(dict.fromkeys([*chosen, *[x for p in paths for x in p]]))
    keep = set(chosen)
    nodes = sorted(({"id": x, "label": work_label(by_id[x], UNTITLED_WORK), "year": by_id[x].year,
                     "title": by_id[x].title, "local_citations": int(local.get(x, 0))} for x in chosen),
                   key=lambda d: (d["year"] or 0, d["id"]))
    links = [[u, v] for u, v in g.edges() if u in keep and v in keep]
    return {"nodes": nodes, "links": links, "main_paths": paths, "removed_links": removed,
            "spc_top": [{"from": u, "to": v, "spc": float(s)}
                        for (u, v), s in sorted(spc.items(), key=lambda t: (-t[1], t[0]))[:10]]}


def _spc(g) -> dict[tuple[str, str], float]:
    """Search path count of every link of a DAG: paths from any source to any sink through it."""
    import networkx as nx

    order = list(nx.topological_sort(g))
    before = {v: 1.0 if g.in_degree(v) == 0 else 0.0 for v in order}
    for v in order:
        for u in g.predecessors(v):
            before[v] += before[u]
    after = {v: 1.0 if g.out_degree(v) == 0 else 0.0 for v in order}
    for v in reversed(order):
        for w in g.successors(v):
            after[v] += after[w]
    return {(u, v): before[u] * after[v] for u, v in g.edges()}


def _main_path(g, spc: dict) -> list[str]:
    """Global main path of a DAG component: the source-to-sink path with the largest total SPC."""
    import networkx as nx

    best: dict[str, float] = {}
    prev: dict[str, str | None] = {}
    for v in nx.lexicographical_topological_sort(g):
        cands = [(best[u] + spc[(u, v)], u) for u in g.predecessors(v)]
        if cands:
            best[v], prev[v] = max(cands, key=lambda t: (t[0], t[1]))
        else:
            best[v], prev[v] = 0.0, None
    sinks = [v for v in g if g.out_degree(v) == 0]
    end = max(sinks, key=lambda v: (best[v], v))
    path = [end]
    while prev[path[-1]] is not None:
        path.append(prev[path[-1]])
    return path[::-1]


# -- thematic map --------------------------------------------------------------------------------------
QUADRANTS = {(True, True): "motor themes", (False, True): "niche themes",
             (False, False): "emerging or declining themes", (True, False): "basic themes"}


def thematic_map(m: Map) -> list[dict[str, Any]]:
    """Callon centrality and density per cluster (Callon et al. 1991; as bibliometrix's thematic map).

    Centrality: sum of the normalised strengths of the cluster's links to other clusters.
    Density: sum of the normalised strengths of its internal links per node. Quadrants split
    at the median of both over the clusters.
    """
    k = int(m.clusters.max(initial=0))
    if k == 0:
        return []
    w = m.network.undirected().tocoo()
    ci, cj = m.clusters[w.row] - 1, m.clusters[w.col] - 1
    inside = np.bincount(ci[ci == cj], weights=w.data[ci == cj], minlength=k) / 2
    outside = np.bincount(ci[ci != cj], weights=w.data[ci != cj], minlength=k)
    size = np.bincount(m.clusters - 1, minlength=k)
    density = inside / np.maximum(size, 1)
    mc, md = np.median(outside), np.median(density)
    return [{"cluster": c + 1, "label": m.cluster_label(c + 1), "size": int(size[c]),
             "centrality": round(float(outside[c]), 6), "density": round(float(density[c]), 6),
             "quadrant": QUADRANTS[(bool(outside[c] >= mc), bool(density[c] >= md))]} for c in range(k)]


# -- evolution -----------------------------------------------------------------------------------------
def periods_of(records: Sequence[Record], cuts: Sequence[int] | None = None, n: int = 3) -> list[tuple[int, int]]:
    """``(first, last)`` years of each period: split at ``cuts`` (years that start a period), or
    into ``n`` periods with about as many records each."""
    years = np.array(sorted(r.year for r in records if r.year))
    if len(years) == 0:
        return []
    lo, hi = int(years[0]), int(years[-1])
    if cuts is None:
        cuts = sorted({int(np.quantile(years, q)) + 1 for q in np.arange(1, n) / n} - {lo})
        cuts = [c for c in cuts if lo < c <= hi]
    bounds = [lo, *[c for c in sorted(cuts) if lo < c <= hi], hi + 1]
    return [(a, b - 1) for a, b in zip(bounds[:-1], bounds[1:])]


def evolution(records: Sequence[Record], kind: str, periods: Sequence[int] | None = None, min_count: int | None = None,
              norm: str = "association", field: str = "auto", seed: int = 42, resolution: float = 1.0,
              max_nodes: int = 300, min_records: int = 10, top_terms: int = 10,
              terms: Terms | None = None) -> dict[str, Any]:
    """Clusters of the network of each period and the flows between clusters of consecutive periods.

    A flow's ``inclusion`` is ``|A ∩ B| / min(|A|, |B|)`` (bibliometrix's inclusion index) of
    the two clusters' nodes, or, for networks of works, of their top distinctive terms.
    Periods with fewer than ``min_records`` records are reported but not mapped.
    """
    out_periods, sets = [], []
    terms = terms or work_terms(records)
    for lo, hi in periods_of(records, periods):
        recs = [r for r in records if r.year and lo <= r.year <= hi]
        entry: dict[str, Any] = {"from": lo, "to": hi, "records": len(recs), "clusters": []}
        cl_sets: dict[int, set] = {}
        if len(recs) >= min_records:
            try:
                net = build(recs, kind, min_count=min_count, norm=norm, max_nodes=max_nodes, field=field)
            except ValueError:
                net = None
            if net is not None and len(net):
                cl = communities(net, seed=seed, resolution=resolution)
                labels = label_clusters(net, cl, terms, top=top_terms)
                entry["nodes"] = len(net)
                for k in range(1, int(cl.max()) + 1):
                    members = np.flatnonzero(cl == k)
                    entry["clusters"].append({"cluster": k, "size": int(len(members)),
                                              "label": " · ".join(labels.get(k, [])[:3]) or f"cluster {k}"})
                    cl_sets[k] = set(labels.get(k, [])) if kind in WORK_KINDS else {net.ids[i] for i in members}
        out_periods.append(entry)
        sets.append(cl_sets)
    flows = []
    for p in range(len(sets) - 1):
        for a, sa in sets[p].items():
            for b, sb in sets[p + 1].items():
                if sa and sb and (common := len(sa & sb)):
                    flows.append({"from": [p, a], "to": [p + 1, b],
                                  "inclusion": round(common / min(len(sa), len(sb)), 4), "shared": common})
    return {"periods": out_periods, "flows": flows}
