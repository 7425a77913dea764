"""Networks: each kind on real works (fixture), normalisations against hand-computed values."""
from __future__ import annotations

import csv
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from review.core import errors as N_errors
from review.core import queries as N_queries
from review.core.errors import ProtocolError
from review.core.protocol import loads
from review.core.records import Author, Record
from review.core.store import Store
from review.core.text import fold
from review.networks import build as N
from review.sources.openalex_json import from_openalex
from review.sources.snapshot import read_records
from review.stages import networks as N_networks

DATA = Path(__file__).resolve().parent / "data" / "networks"


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return [r for r, _ in read_records(DATA / "works.jsonl.gz")]


def edge_map(net: N.Network, normalised: bool = False) -> dict[frozenset, float]:
    i, j, c, s = net.edges()
    return {frozenset((net.ids[a], net.ids[b])): float(s_ if normalised else c_) for a, b, c_, s_ in zip(i, j, c, s)}


# -- hand-made example: three works citing a, b, c ------------------------------------------------
# W1 cites {a, b, c}, W2 {a, b}, W3 {b, c}. Co-citations: ab = 2, ac = 1, bc = 2.
# Occurrences: a 2, b 3, c 2. Total link strength: a 3, b 4, c 3; 2m = 10.
TINY = [Record(id="W1", referenced_works=["a", "b", "c"]), Record(id="W2", referenced_works=["a", "b", "a"]),
        Record(id="W3", referenced_works=["b", "c"])]
HAND = {
    "none": {"ab": 2, "ac": 1, "bc": 2},
    "association": {"ab": 2 * 10 / (3 * 4), "ac": 1 * 10 / (3 * 3), "bc": 2 * 10 / (4 * 3)},
    "cosine": {"ab": 2 / 6 ** 0.5, "ac": 1 / 4 ** 0.5, "bc": 2 / 6 ** 0.5},
    "jaccard": {"ab": 2 / (2 + 3 - 2), "ac": 1 / (2 + 2 - 1), "bc": 2 / (3 + 2 - 2)},
}


@pytest.mark.parametrize("norm", sorted(HAND))
def test_normalisations_match_hand_computed_values(norm):
    net = N.build(TINY, "cocitation", min_count=1, norm=norm, max_nodes=None)
    got = {"".join(sorted(k)): v for k, v in edge_map(net, normalised=True).items()}
    assert got == pytest.approx(HAND[norm], rel=1e-12)
    assert dict(zip(net.ids, net.counts.tolist())) == {"a": 2, "b": 3, "c": 2}  # "a" twice in W2 counts once


def test_coupling_of_the_tiny_example():
    # shared references: W1-W2 {a, b} = 2, W1-W3 {b, c} = 2, W2-W3 {b} = 1
    net = N.build(TINY, "coupling", norm="none", max_nodes=None)
    assert {"".join(sorted(k)): v for k, v in edge_map(net).items()} == {"W1W2": 2, "W1W3": 2, "W2W3": 1}
    strict = N.build(TINY, "coupling", min_count=2, norm="none", max_nodes=None)
    assert sorted(strict.ids) == ["W1", "W2", "W3"] and strict.n_links == 2


# issue #13 item 3: cosine and Jaccard sizes are each node's set, not OpenAlex's global cited_by_count
# W1 cites {a, b, c} and is cited 100 times; W2 cites {a, b} and was never cited: they share 2 of 3 and 2 of 2.
PAIR = [Record(id="W1", referenced_works=["a", "b", "c"], cited_by_count=100),
        Record(id="W2", referenced_works=["a", "b"], cited_by_count=0)]


@pytest.mark.parametrize("norm, want", [("jaccard", 2 / (3 + 2 - 2)), ("cosine", 2 / (3 * 2) ** 0.5),
                                        ("association", 2 * 4 / (2 * 2)), ("none", 2)])
def test_coupling_sizes_are_each_works_references(norm, want):
    net = N.build(PAIR, "coupling", norm=norm, max_nodes=None)
    assert edge_map(net, normalised=True) == {frozenset(("W1", "W2")): pytest.approx(want, rel=1e-12)}
    assert dict(zip(net.ids, net.counts.tolist())) == {"W1": 100, "W2": 0}  # node size stays the citations


# W1 → W2, W3 → W1, W3 → W2, W4 → W1, W2 → W1 (mutual with W1 → W2: one link). W4 and W3 are never cited.
# Citation links within the set: W1 {W2, W3, W4} 3, W2 {W1, W3} 2, W3 {W1, W2} 2, W4 {W1} 1.
CITES = [Record(id="W1", referenced_works=["W2"]), Record(id="W2", referenced_works=["W1"]),
         Record(id="W3", referenced_works=["W1", "W2"]), Record(id="W4", referenced_works=["W1"])]


@pytest.mark.parametrize("norm, want", [
    ("cosine", {"W1W2": 1 / 6 ** 0.5, "W1W3": 1 / 6 ** 0.5, "W2W3": 1 / 2, "W1W4": 1 / 3 ** 0.5}),
    ("jaccard", {"W1W2": 1 / 4, "W1W3": 1 / 4, "W2W3": 1 / 3, "W1W4": 1 / 3}),
    ("association", {"W1W2": 8 / 6, "W1W3": 8 / 6, "W2W3": 8 / 4, "W1W4": 8 / 3})])
def test_citation_sizes_are_each_works_citation_links(norm, want):
    net = N.build(CITES, "citation", norm=norm, max_nodes=None)
    i, j, _, s = net.edges()
    got = {"".join(sorted((net.ids[a], net.ids[b]))): float(v) for a, b, v in zip(i, j, s)}
    assert set(got) == set(want) | {"W1W2"} and net.n_links == 5  # both directions of the mutual pair kept
    assert got == pytest.approx(want, rel=1e-12) and np.isfinite(s).all()
    assert dict(zip(net.ids, net.counts.tolist())) == {"W1": 3, "W2": 2, "W3": 0, "W4": 0}  # local citations


def test_cooccurrence_equals_dense_product():
    rng = np.random.default_rng(3)
    b = sp.random(60, 40, density=0.15, random_state=rng, format="csr")
    b.data[:] = 1
    dense = (b.T @ b).toarray()
    got = N.cooccurrence(b.astype(np.int32), blocks=7).toarray()
    assert np.array_equal(got, np.triu(dense, 1))


def test_incidence_codes_in_order_of_first_appearance_and_drops_repeats():
    b, items = N.incidence([["x", "y", "x"], [], ["z", "y"]])
    assert items == ["x", "y", "z"]
    assert b.toarray().tolist() == [[1, 1, 0], [0, 0, 0], [0, 1, 1]]


# -- every kind on real works ---------------------------------------------------------------------------
def test_citation_links_follow_referenced_works(records):
    net = N.build(records, "citation", max_nodes=None)
    ids = {r.id for r in records}
    expected = {(r.id, x) for r in records for x in r.referenced_works if x in ids and x != r.id}
    i, j, _, _ = net.edges()
    assert {(net.ids[a], net.ids[b]) for a, b in zip(i, j)} == expected
    local = Counter(x for _, x in expected)
    assert dict(zip(net.ids, net.counts.tolist())) == {x: local.get(x, 0) for x in net.ids}
    assert net.directed and len(expected) > 500


def test_cocitation_counts_are_works_citing_both(records):
    net = N.build(records, "cocitation", min_count=5, norm="none", max_nodes=None)
    cited = Counter(x for r in records for x in set(r.referenced_works))
    frequent = {x for x, c in cited.items() if c >= 5}
    pairs = Counter(frozenset(p) for r in records for p in combinations(sorted(set(r.referenced_works) & frequent), 2))
    assert edge_map(net) == dict(pairs)
    assert all(net.counts[k] == cited[x] for k, x in enumerate(net.ids))


def test_coupling_counts_are_shared_references(records):
    net = N.build(records, "coupling", norm="none", max_nodes=None)
    refs = {r.id: set(r.referenced_works) for r in records}
    expected = {frozenset((a, b)): len(refs[a] & refs[b]) for a, b in combinations(refs, 2) if refs[a] & refs[b]}
    assert edge_map(net) == expected


@pytest.mark.parametrize("kind", ["coauthorship", "institutions", "countries"])
def test_coauthorship_kinds(records, kind):
    net = N.build(records, kind, norm="none", max_nodes=None)
    assert len(net) > 10 and net.n_links > 10
    # an author is their OpenAlex id, else their folded name; an institution its folded name
    key = {"coauthorship": lambda a: [a.openalex_id or "name:" + fold(a.name)],
           "institutions": lambda a: [fold(i) for i in a.institutions],
           "countries": lambda a: [c.upper() for c in a.countries]}[kind]
    per_work = [{k for a in r.authors for k in key(a)} for r in records if len(r.authors) <= 25]
    pairs = Counter(frozenset(p) for items in per_work for p in combinations(sorted(items), 2))
    assert edge_map(net) == dict(pairs)


def test_concepts_uses_the_field_the_records_carry(records):
    net = N.build(records, "concepts", norm="none", max_nodes=None)
    assert net.info["field"] == "concepts"
    occ = Counter(c for r in records for c in set(r.concepts))
    assert {x: int(c) for x, c in zip(net.ids, net.counts)} == {x: occ[x] for x in net.ids}
    assert all(occ[x] >= 2 for x in net.ids)  # default min_count 2


def test_topics_and_keywords_of_the_current_schema():
    def work(i, topics, keywords):
        return from_openalex({"id": f"https://openalex.org/W{i}", "title": f"t{i}",
                              "topics": [{"display_name": t} for t in topics],
                              "keywords": [{"display_name": k} for k in keywords]})
    recs = [work(1, ["Co-production", "Welfare"], ["municipality"]), work(2, ["Co-production", "Welfare"], []),
            work(3, ["Co-production", "Volunteering"], ["municipality", "volunteers"])]
    net = N.build(recs, "concepts", min_count=1, norm="none", max_nodes=None)
    assert net.info["field"] == "topics"
    assert edge_map(net) == {frozenset(("Co-production", "Welfare")): 2,
                             frozenset(("Co-production", "Volunteering")): 1}
    kw = N.build(recs, "keywords", min_count=1, norm="none", max_nodes=None)
    assert edge_map(kw) == {frozenset(("municipality", "volunteers")): 1}
    with pytest.raises(N_errors.NetworkError, match="no record carries concepts"):
        N.build(recs, "concepts", field="concepts")


def test_terms_from_titles_and_abstracts(records):
    net = N.build(records, "terms", max_nodes=200)
    assert net.info["field"] == "terms" and len(net) == 200
    assert {"emicizumab", "borderline"} <= set(net.ids)
    assert "the" not in net.ids and "of" not in net.ids


def test_max_nodes_keeps_the_strongest_and_labels_only_them(records):
    full = N.build(records, "cocitation", max_nodes=None, norm="none")
    top = N.build(records, "cocitation", max_nodes=50, norm="none")
    tls = dict(zip(full.ids, full.total_link_strength()))
    assert len(top) == 50 and min(tls[x] for x in top.ids) >= sorted(tls.values())[-50]
    assert len(top.labels) == len(top.meta) == 50
    by_id = {r.id: r for r in records}
    known = [k for k, x in enumerate(top.ids) if x in by_id]
    assert known and all(top.labels[k].endswith(f"({by_id[top.ids[k]].year})") for k in known)


def test_lookup_labels_references_outside_the_set(records):
    asked = []

    def lookup(ids):
        asked.extend(ids)
        return {x: Record(id=x, title="Outside work", year=1999, authors=[Author("Ann Other")]) for x in ids[:1]}
    net = N.build(records, "cocitation", max_nodes=20, lookup=lookup)
    assert len(asked) <= 20  # only the kept nodes are looked up
    assert "Other (1999)" in net.labels


def test_bad_arguments_say_what_to_do(records):
    with pytest.raises(N_errors.NetworkError, match="unknown network kind 'cites'"):
        N.build(records, "cites")
    with pytest.raises(N_errors.NetworkError, match="unknown normalisation"):
        N.build(records, "coupling", norm="salton")
    with pytest.raises(N_errors.NetworkError, match="min_count must be 1 or more"):
        N.build(records, "coupling", min_count=0)


# -- store, protocol, stage ------------------------------------------------------------------------------
PROTOCOL = """id = "nets"
title = "Networks <test>"
[source]
store = "{store}"
[networks]
kinds = ["coupling", "citation"]
min_count = 1
formats = ["graphml", "vosviewer", "html"]
"""


@pytest.fixture
def review_store(tmp_path, records):
    store = Store(tmp_path / "r.sqlite")
    store.add_records(records)
    protocol = loads(PROTOCOL.format(store=tmp_path / "r.sqlite"), tmp_path / "p.toml")
    (tmp_path / "p.toml").write_text(protocol.text)
    yield store, protocol
    store.close()


def test_select_records_included_only(review_store, records):
    store, _ = review_store
    assert len(N_queries.select_records(store)) == len(records)
    with pytest.raises(N_errors.NetworkError, match="no record has a final 'include' decision"):
        N_queries.select_records(store, included="title_abstract")
    for r in records[:5]:
        store.add_decision(r.id, "include", "ann")
    store.add_decision(records[5].id, "exclude", "ann")
    assert [r.id for r in N_queries.select_records(store, included="title_abstract")] == [r.id for r in records[:5]]
    assert [r.id for r in N_queries.select_records(store, ids=[records[7].id, "W0"])] == [records[7].id]


def test_stage_run_stores_artifacts_and_writes_files(review_store, tmp_path):
    store, protocol = review_store
    summary = N_networks.run(store, protocol, progress=False, out_dir=tmp_path / "out")
    assert summary["record_set"] == "all" and set(summary["kinds"]) == {"coupling", "citation"}
    art = store.artifact("network:citation")
    assert art["nodes"] == summary["kinds"]["citation"]["nodes"] > 100
    assert art["historiograph"]["main_paths"] and art["key_references"]["local"]
    assert {Path(p).suffix for p in art["files"].values()} >= {".graphml", ".json", ".html"}
    assert all(Path(p).is_file() for p in art["files"].values())
    members = {m for c in store.artifact("network:coupling")["clusters"] for m in c["members"]}
    assert len(members) == store.artifact("network:coupling")["nodes"]


def test_settings_errors_name_file_line_and_key(tmp_path):
    text = PROTOCOL.format(store="x.sqlite").replace('min_count = 1', 'min_count = 1\nnorm = "salton"')
    with pytest.raises(ProtocolError, match=r"p\.toml:\d+: key 'networks\.norm'.*salton"):
        loads(text, tmp_path / "p.toml")
    text = PROTOCOL.format(store="x.sqlite").replace('"citation"]', '"cites"]')
    with pytest.raises(ProtocolError, match=r"p\.toml:\d+: key 'networks\.kinds': unknown value 'cites'"):
        loads(text, tmp_path / "p.toml")


def test_cli_prints_key_references_and_clusters(review_store, tmp_path, capsys):
    from review.ui.cli import main

    _, protocol = review_store
    code = main(["network", "cocitation", "--protocol", str(tmp_path / "p.toml"), "--max-nodes", "200",
                 "--out", str(tmp_path / "cli"), "--top", "5", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Key references (most cited by the set):" in out and "Clusters:" in out
    assert "Oldenburg (2017): Emicizumab Prophylaxis in Hemophilia A with Inhibitors" in out
    assert (tmp_path / "cli" / "cocitation.graphml").is_file()


def test_cli_user_error_is_one_line(review_store, tmp_path, capsys):
    from review.ui.cli import main

    code = main(["network", "coupling", "--protocol", str(tmp_path / "p.toml"), "--included", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "include" in err and "\n" not in err


def test_fixture_datasets_file_matches(records):
    with open(DATA / "datasets.csv", newline="") as fh:
        ds = {row["openalex_id"]: row["dataset"] for row in csv.DictReader(fh)}
    assert set(ds) == {r.id for r in records}


def test_terms_keywords_and_topics_write_their_own_files_not_the_concept_map(review_store, tmp_path, capsys):
    # issue #13 item 2: `review network terms` wrote concepts.*, so the report showed one picture twice
    from review.ui.cli import main
    from review.writers import report

    store, _ = review_store
    out = tmp_path / "maps"
    (tmp_path / "figs.toml").write_text(PROTOCOL.format(store=tmp_path / "r.sqlite").replace(
        '"html"]', '"html", "png"]'))
    args = ["--protocol", str(tmp_path / "figs.toml"), "--max-nodes", "60", "--out", str(out), "--quiet"]
    assert main(["network", "concepts", *args]) == 0
    concept_map = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "concepts.png" in concept_map and "concepts.graphml" in concept_map
    assert main(["network", "terms", *args]) == 0
    capsys.readouterr()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name.startswith("concepts")} == concept_map
    for suffix in (".graphml", ".html", ".png", "_summary.json"):
        assert (out / f"terms{suffix}").is_file()
    files = store.artifact("network:terms")["files"]
    assert all(Path(f).name.startswith("terms") for f in files.values())
    assert "<title>Networks &lt;test&gt; — terms</title>" in (out / "terms.html").read_text(encoding="utf-8")
    section = report.section_maps(store, out, tmp_path)
    images = [m for m in section.split('src="')[1:]]
    assert len(images) >= 4 and len(set(images)) == len(images)  # each picture shown once
