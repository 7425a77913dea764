"""Science maps: clusters, labels, layout, centralities, key references, main path, thematic map, evolution."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from review.core.records import Author, Record
from review.networks import build as N
from review.networks import maps as M
from review.sources.snapshot import read_records

DATA = Path(__file__).resolve().parent / "data" / "networks"


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return [r for r, _ in read_records(DATA / "works.jsonl.gz")]


@pytest.fixture(scope="module")
def dataset() -> dict[str, str]:
    with open(DATA / "datasets.csv", newline="") as fh:
        return {row["openalex_id"]: row["dataset"] for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def coupling_map(records) -> M.Map:
    return M.make_map(N.build(records, "coupling"), records, seed=42)


def test_coupling_clusters_separate_the_two_reviews(coupling_map, dataset):
    net, cl = coupling_map.network, coupling_map.clusters
    # the works of two unrelated reviews share no reference: no cluster mixes them
    for k in set(cl.tolist()):
        sets = Counter(dataset[net.ids[i]] for i in np.flatnonzero(cl == k))
        assert len(sets) == 1, sets
    assert cl.min() == 1 and np.all(np.diff(np.bincount(cl)[1:]) <= 0)  # numbered by decreasing size


def test_cluster_labels_are_distinctive_terms(coupling_map, dataset):
    net, cl = coupling_map.network, coupling_map.clusters
    for k, terms in coupling_map.cluster_terms.items():
        which = dataset[net.ids[int(np.flatnonzero(cl == k)[0])]]
        if (cl == k).sum() < 20:
            continue
        vocabulary = " ".join(terms)
        if which == "Donners_2021":
            assert any(t in vocabulary for t in ("emicizumab", "hemophilia", "haemophilia", "factor"))
        else:
            assert any(t in vocabulary for t in ("borderline", "personality", "psych"))
    # everywhere: not distinctive
    assert "medicine" not in [t for ts in coupling_map.cluster_terms.values() for t in ts[:3]]


def test_communities_are_reproducible_with_the_seed(records):
    net = N.build(records, "cocitation", max_nodes=300)
    assert np.array_equal(M.communities(net, seed=7), M.communities(net, seed=7))


def test_layout_is_seeded_bounded_and_keeps_linked_nodes_close(coupling_map):
    net = coupling_map.network
    xy = M.layout(net, seed=1)
    assert np.array_equal(xy, M.layout(net, seed=1))
    assert np.abs(xy).max() == pytest.approx(1.0)
    i, j, _, _ = net.edges()
    linked = np.linalg.norm(xy[i] - xy[j], axis=1).mean()
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(net), 2000), rng.integers(0, len(net), 2000)
    assert linked < 0.6 * np.linalg.norm(xy[a] - xy[b], axis=1).mean()


def test_centralities_of_a_star():
    # hub H co-cited with each of a, b, c, d; nothing else
    recs = [Record(id=f"W{k}", referenced_works=["H", x]) for k, x in enumerate("abcd")]
    net = N.build(recs, "cocitation", min_count=1, max_nodes=None)
    c = M.centralities(net)
    hub = net.ids.index("H")
    assert c["links"][hub] == 4 and c["total_link_strength"][hub] == 4
    assert c["betweenness"][hub] == max(c["betweenness"]) > 0
    assert c["pagerank"].sum() == pytest.approx(1.0) and c["pagerank"][hub] == max(c["pagerank"])


def test_key_references_count_citations_of_the_set(records, coupling_map):
    lookup_asked = []

    def lookup(ids):
        lookup_asked.extend(ids)
        return {ids[0]: Record(id=ids[0], title="A classic", year=1980, authors=[Author("Ann Classic")])}
    refs = M.key_references(records, lookup=lookup, top=10, works_map=coupling_map)
    cited = Counter(x for r in records for x in set(r.referenced_works))
    assert [r["citations"] for r in refs["cited"]] == sorted(cited.values(), reverse=True)[:10]
    assert all(cited[r["id"]] == r["citations"] for r in refs["cited"])
    in_set = {r.id for r in records}
    assert all(r["in_set"] and r["id"] in in_set for r in refs["local"])
    assert refs["local"][0]["label"] == "Oldenburg (2017)" and refs["local"][0]["cluster"] >= 1
    assert "Classic (1980)" in [r["label"] for r in refs["cited"]]
    assert not set(lookup_asked) & in_set  # only references outside the set are looked up


def _dag() -> list[Record]:
    # A(2000) ← B(2001), C(2001) ← D(2002) ← E(2003); C ← F(2002); plus G(1999) citing the younger A (against time)
    cites = {"A": [], "B": ["A"], "C": ["A"], "D": ["B", "C"], "E": ["D"], "F": ["C"], "G": ["A"]}
    years = {"A": 2000, "B": 2001, "C": 2001, "D": 2002, "E": 2003, "F": 2002, "G": 1999}
    return [Record(id=k, year=years[k], referenced_works=v) for k, v in cites.items()]


def test_search_path_counts_and_main_path_by_hand():
    # source→sink paths: A-B-D-E, A-C-D-E, A-C-F: SPC(A→B)=1, (A→C)=2, (B→D)=1, (C→D)=1, (C→F)=1, (D→E)=2.
    # Global main path: A-C-D-E (2+1+2 = 5) beats A-B-D-E (4) and A-C-F (3).
    h = M.historiograph(_dag(), top=10)
    spc = {(s["from"], s["to"]): s["spc"] for s in h["spc_top"]}
    assert spc == {("A", "B"): 1, ("A", "C"): 2, ("B", "D"): 1, ("C", "D"): 1, ("C", "F"): 1, ("D", "E"): 2}
    assert h["main_paths"] == [["A", "C", "D", "E"]]
    assert h["removed_links"] == 1  # G (1999) citing A (2000)
    assert [n["id"] for n in h["nodes"]][:2] == ["G", "A"]  # by year


def test_thematic_map_by_hand():
    # two clusters: {a, b, c} with internal links ab = 2, bc = 4 and {d, e} with de = 6; one bridge c–d = 1
    ids = list("abcde")
    pos = {x: k for k, x in enumerate(ids)}
    links = sp.csr_matrix(([2, 4, 1, 6], ([pos["a"], pos["b"], pos["c"], pos["d"]],
                                          [pos["b"], pos["c"], pos["d"], pos["e"]])),
                          shape=(5, 5))
    net = N.Network(kind="concepts", ids=ids, labels=ids, counts=np.ones(5, dtype=np.int64), links=links,
                    strength=links.astype(float), docs=sp.identity(5, format="csr"), works=ids, meta=[{}] * 5,
                    norm="none")
    m = M.Map(net, np.array([1, 1, 1, 2, 2]), {1: ["abc"], 2: ["de"]}, np.zeros((5, 2)), {})
    tm = {t["cluster"]: t for t in M.thematic_map(m)}
    assert (tm[1]["centrality"], tm[1]["density"]) == (1.0, pytest.approx(6 / 3))
    assert (tm[2]["centrality"], tm[2]["density"]) == (1.0, pytest.approx(6 / 2))
    assert tm[2]["quadrant"] == "motor themes" and tm[1]["quadrant"] == "basic themes"


def test_periods_split_at_cut_years_or_by_counts():
    recs = [Record(id=str(y), year=y) for y in [2001, 2002, 2005, 2009, 2010, 2015, 2020]]
    assert M.periods_of(recs, [2005, 2015]) == [(2001, 2004), (2005, 2014), (2015, 2020)]
    auto = M.periods_of(recs)
    assert auto[0][0] == 2001 and auto[-1][1] == 2020 and len(auto) == 3
    assert all(a[1] + 1 == b[0] for a, b in zip(auto, auto[1:]))


def test_evolution_links_clusters_of_consecutive_periods(records):
    ev = M.evolution(records, "concepts", periods=[2012, 2018])
    assert [(p["from"], p["to"]) for p in ev["periods"]] == [(1988, 2011), (2012, 2017), (2018, 2021)]
    assert all(p["clusters"] for p in ev["periods"])
    assert ev["flows"] and all(0 < f["inclusion"] <= 1 and f["to"][0] == f["from"][0] + 1 for f in ev["flows"])
