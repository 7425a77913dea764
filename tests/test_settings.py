"""Every protocol table is checked when the protocol loads: an unknown or ill-typed key stops `review init` and
`review run` with one line naming file, line and key, and the store is left as it was."""
from __future__ import annotations

import sqlite3

import pytest

from review.core.errors import ProtocolError
from review.core.protocol import loads
from review.core.settings import NetworksSettings, StopRuleSettings
from review.screening.classifiers import Ranker
from review.screening.features import TextFeatures
from review.ui.cli import main

BASE = """id = "t"
title = "Settings test"

[concepts.coproduction]
label = "Co-production"
terms.en = ["co-production"]

"""

# (table, protocol lines, the key the message must name, a word the message must contain)
CASES = [
    ("source", '[source]\nsnapshots = "x.jsonl"\n', "source.snapshots", "did you mean 'snapshot'"),
    ("source", "[source]\nsnapshot = 3\n", "source.snapshot", "a string"),
    ("snowball", "[snowball]\ndepht = 2\n", "snowball.depht", "did you mean 'depth'"),
    ("snowball", '[snowball]\nbackward = "yes"\n', "snowball.backward", "true or false"),
    ("snowball", "[snowball]\ndepth = 0\n", "snowball.depth", "between 1 and 5"),
    ("dedup", "[dedup]\nlink_relatd = false\n", "dedup.link_relatd", "did you mean 'link_related'"),
    ("dedup", "[dedup]\nlink_related = 1\n", "dedup.link_related", "true or false"),
    ("screening", '[screening]\nstop_rul = { kind = "hypergeometric" }\n', "screening.stop_rul",
     "did you mean 'stop_rule'"),
    ("screening", '[screening]\nstop_rule = { kind = "magic" }\n', "screening.stop_rule.kind", "'hypergeometric'"),
    ("screening", "[screening]\nstop_rule = { target_recall = 1.5 }\n", "screening.stop_rule.target_recall",
     "between 0"),
    ("screening", '[screening]\nstages = ["abstract"]\n', "screening.stages", "title_abstract"),
    ("screening", '[screening]\nmodel = { classifer = "svm" }\n', "screening.model.classifer",
     "did you mean 'classifier'"),
    ("screening", '[screening]\nmodel = { classifier = "forest" }\n', "screening.model.classifier", "forest"),
    ("screening", "[screening]\nfeatures = { word_ngram = [1, 2] }\n", "screening.features.word_ngram", "word_ngrams"),
    ("screening", '[screening]\nlabels = "missing.csv"\n', "screening.labels", "not found"),
    ("definitions", "[definitions]\nk_min = 1\n", "definitions.k_min", "at least 2"),
    ("definitions", "[definitions]\nk_min = 5\nk_max = 3\n", "definitions.k_max", "k_min <= k_max"),
    ("definitions", '[definitions]\ncluster_method = "lda"\n', "definitions.cluster_method", "'tfidf'"),
    ("definitions", '[definitions]\nconcepts = ["cocreation"]\n', "definitions.concepts", "unknown concept"),
    ("definitions", "[definitions]\nclusters = 4\n", "definitions.clusters", "unknown key"),
    ("definitions", '[definitions.dimensions.participants]\nvolunteers = "volunteer*"\n',
     "definitions.dimensions.participants.volunteers", "list of terms"),
    ("networks", '[networks]\nkinds = ["cocitation", "bibliometrics"]\n', "networks.kinds", "bibliometrics"),
    ("networks", '[networks]\nnorm = "pmi"\n', "networks.norm", "'association'"),
    ("networks", "[networks]\nmax_node = 10\n", "networks.max_node", "did you mean 'max_nodes'"),
    ("networks", "[networks.cocitation]\nmin_count = 0\n", "networks.cocitation.min_count", "at least 1"),
    ("networks", "[networks.cocitation]\nkinds = []\n", "networks.cocitation.kinds", "unknown key"),
    ("export", '[export]\nformats = ["bibtex", "endnote"]\n', "export.formats", "endnote"),
    ("export", '[export]\nabstract = "no"\n', "export.abstract", "true or false"),
    ("report", "[report]\ntitle = 1\n", "report.title", "unknown key"),
]


def _dump(path) -> str:
    con = sqlite3.connect(path)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def _line_of(snippet: str, key: str) -> int:
    """The line of ``key`` in BASE + snippet: the snippet's line that sets it (or opens its table)."""
    leaf = key.split(".")[-1]
    at = next(i for i, ln in enumerate(snippet.splitlines(), 1)
              if ln.startswith(leaf + " ") or f"{{ {leaf} " in ln or ln.endswith(f".{leaf}]"))
    return len(BASE.splitlines()) + at


@pytest.mark.parametrize("table,snippet,key,needle", CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_a_bad_key_stops_init_and_run_and_the_store_is_unchanged(tmp_path, capsys, table, snippet, key, needle):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    store = tmp_path / "r.sqlite"
    good.write_text(BASE, encoding="utf-8")
    bad.write_text(BASE + snippet, encoding="utf-8")
    assert main(["init", str(bad), "--store", str(store)]) == 2
    assert not store.exists(), "a bad protocol must not create the store"
    err = capsys.readouterr().err.strip()
    line = _line_of(snippet, key)
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {bad}:{line}: key '{key}'") and needle in err, err

    assert main(["init", str(good), "--store", str(store)]) == 0
    before = _dump(store)
    capsys.readouterr()
    assert main(["run", str(bad), "--store", str(store), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"key '{key}'" in err, err
    assert _dump(store) == before


def test_good_settings_become_typed_dataclasses():
    p = loads(BASE + '[screening]\nstop_rule = { kind = "consecutive", consecutive = 50 }\n'
              '[networks]\nmin_count = 3\n[networks.cocitation]\nmin_count = 5\nnorm = "cosine"\n')
    assert p.config.screening.stop_rule == StopRuleSettings(kind="consecutive", consecutive=50)
    assert isinstance(p.config.networks, NetworksSettings)
    assert p.config.networks.for_kind("cocitation")["min_count"] == 5
    assert p.config.networks.for_kind("cocitation")["norm"] == "cosine"
    assert p.config.networks.for_kind("coupling")["min_count"] == 3
    assert p.config.snowball is None  # no [snowball] table: no snowballing
    assert loads(BASE).config.definitions.k_max == 8


def test_a_whole_number_is_a_number_where_a_number_is_expected():
    p = loads(BASE + "[networks]\nresolution = 2\n")
    assert p.config.networks.resolution == 2.0 and isinstance(p.config.networks.resolution, float)


def test_screening_model_keys_are_the_estimators_parameters():
    """The checker proposes exactly the parameters of the screening model's classes."""
    with pytest.raises(ProtocolError) as e:
        from review.screening.session import model_from
        model_from(loads(BASE + "[screening]\nmodel = { nope = 1 }\n"))
    import inspect
    for name in inspect.signature(Ranker).parameters:
        assert name in str(e.value)
    with pytest.raises(ProtocolError) as e:
        model_from(loads(BASE + "[screening]\nfeatures = { nope = 1 }\n"))
    for name in inspect.signature(TextFeatures).parameters:
        if not name.startswith("_"):
            assert name in str(e.value)
