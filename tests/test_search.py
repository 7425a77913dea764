import json

from review.core.protocol import loads
from review.core.store import Store
from review.sources.openalex_json import from_openalex
from review.sources.snapshot import record_matches
from review.stages.search import run

PROTO = """
id = "t"
title = "T"

[[searches]]
name = "sr"
query = '"systematic review" OR "systematic reviews"'
from_year = 2015

[[searches]]
name = "all-years"
query = 'review*'
"""


def test_offline_search_is_stored_traced_and_not_repeated(tmp_path, data_dir):
    works = json.loads((data_dir / "spine" / "works_2023.json").read_text())
    snap = tmp_path / "snap.jsonl"
    snap.write_text("\n".join(json.dumps(w) for w in works))
    p = loads(PROTO)
    store = Store(tmp_path / "s.sqlite")
    first = run(store, p, progress=False, snapshot=snap)["searches"]

    recs = [from_openalex(w) for w in works]
    sr = p.searches[0]
    expected = {r.id for r in recs
                if (r.year or 0) >= 2015 and ("systematic review" in r.text.lower())}
    assert first["sr"]["n_records"] == len(expected) > 0
    stored_sr = {r[0] for r in store.query("SELECT record_id FROM record_sources WHERE name='search:sr'")}
    assert stored_sr == expected == {r.id for r in recs if record_matches(r, sr)}
    # provenance points back into the snapshot file
    loc = store.query("SELECT locator FROM record_sources LIMIT 1")[0][0]
    assert loc.startswith(":")
    # raw JSON kept verbatim
    some = next(iter(expected))
    assert store.raw(some) == next(w for w in works if w["id"].endswith(some))

    again = run(store, p, progress=False, snapshot=snap)["searches"]
    assert again["sr"]["skipped"] and again["all-years"]["skipped"]
    assert len(store.runs("search")) == 2


def test_unknown_field_values_pass_filters():
    from review.core.records import Record

    p = loads(PROTO + 'languages = ["da"]\ntypes = ["article"]\n')
    s = p.searches[1]
    assert record_matches(Record(id="W1", title="A review"), s)  # no language or type known
    assert not record_matches(Record(id="W1", title="A review", language="en"), s)
    assert not record_matches(Record(id="W1", title="A review", type="book"), s)


def test_an_empty_or_foreign_snapshot_is_an_error_and_writes_no_run(tmp_path):
    import pytest

    from review.core.errors import SnapshotError

    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    store = Store(tmp_path / "s.sqlite")
    with pytest.raises(SnapshotError, match="no OpenAlex works"):
        run(store, loads(PROTO), progress=False, snapshot=empty)
    assert store.runs() == []
    foreign = tmp_path / "foreign.json"
    foreign.write_text('[{"title": "not an OpenAlex work"}]', encoding="utf-8")
    with pytest.raises(SnapshotError, match="foreign.json"):
        run(store, loads(PROTO), progress=False, snapshot=foreign)
    assert store.runs() == []
