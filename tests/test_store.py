import sqlite3

import pytest

from review.core.errors import StoreError
from review.core.records import Author, Record, Source
from review.core.store import SCHEMA_VERSION, Store


def rec(i, **kw):
    return Record(id=f"W{i}", openalex_id=f"W{i}", title=f"Title {i}", year=2000 + i,
                  authors=[Author("Ann Smith")], sources=[Source("test", "run", str(i))], **kw)


def test_records_round_trip_and_sources(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    run = s.start_run("search", "a", {"q": 1}, "h1")
    assert s.add_records([rec(1), rec(2)], run, [{"id": "W1"}, {"id": "W2"}], "openalex") == 2
    # the same record from a second source: not new, but its source is kept
    other = rec(1)
    other.sources = [Source("test", "other", "9")]
    assert s.add_records([other], run) == 0
    assert s.count_records() == 2
    got = s.record("W1")
    assert got.title == "Title 1" and len(got.sources) == 2
    assert s.raw("W1") == {"id": "W1"}
    assert s.query("SELECT COUNT(*) FROM record_sources")[0][0] == 3
    assert [r.id for r in s.records()] == ["W1", "W2"]


def test_reopen_keeps_everything(tmp_path):
    p = tmp_path / "r.sqlite"
    with Store(p) as s:
        s.add_records([rec(1)])
        s.add_decision("W1", "include", "ann", note="clear")
        s.log("dedup", "merged", "W1", {"x": 1})
    with Store(p) as s:
        assert s.record("W1") is not None
        assert s.current_decisions(reviewer="ann")["W1"]["note"] == "clear"
        assert s.events("dedup")[0]["kind"] == "merged"
        assert s.integrity_ok()


def test_decisions_latest_wins_and_undo(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    s.add_records([rec(1), rec(2)])
    s.add_decision("W1", "include", "ann")
    s.add_decision("W1", "exclude", "ann", criterion="E1")
    s.add_decision("W2", "maybe", "ann")
    s.add_decision("W2", "undo", "ann")
    s.add_decision("W1", "include", "bob")
    mine = s.current_decisions(reviewer="ann")
    assert list(mine) == ["W1"] and mine["W1"]["decision"] == "exclude" and mine["W1"]["criterion"] == "E1"
    both = s.current_decisions()
    assert set(both) == {("W1", "ann"), ("W1", "bob")}
    assert s.query("SELECT COUNT(*) FROM decisions")[0][0] == 5  # append-only
    with pytest.raises(ValueError):
        s.add_decision("W1", "yes", "ann")


def test_unique_leaves_out_duplicates(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    s.add_records([rec(1), rec(2), rec(3)])
    with s.transaction() as c:
        c.execute("INSERT INTO duplicates(record_id, canonical_id, ts) VALUES ('W2','W1','t')")
    assert s.record_ids(unique=True) == ["W1", "W3"]
    assert s.count_records(unique=True) == 2


def test_runs_and_checkpoints(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    rid = s.start_run("search", "main", {"q": "x"}, "h")
    s.set_checkpoint(rid, "cursor", {"cursor": "abc", "page": 3})
    assert s.checkpoint(rid, "cursor") == {"cursor": "abc", "page": 3}
    assert s.find_run("search", "main", {"q": "x"}, "h")["id"] == rid
    assert s.find_run("search", "main", {"q": "y"}, "h") is None
    s.finish_run(rid, n_records=5)
    assert s.runs("search")[0]["status"] == "done"


def test_transaction_rolls_back_on_error(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    with pytest.raises(RuntimeError):
        with s.transaction() as c:
            c.execute("INSERT INTO meta(key, value) VALUES ('k', 'v')")
            raise RuntimeError("boom")
    assert s.meta("k") is None


def test_schema_version_mismatch_is_a_clear_error(tmp_path):
    p = tmp_path / "r.sqlite"
    Store(p).close()
    c = sqlite3.connect(p)
    c.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match=f"schema version 999.*reads version {SCHEMA_VERSION}"):
        Store(p)


def test_not_a_store(tmp_path):
    p = tmp_path / "junk.sqlite"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable review store"):
        Store(p)
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)


def test_artifacts(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    s.put_artifact("network:cocitation", {"nodes": 3})
    s.put_artifact("network:cocitation", {"nodes": 4})
    assert s.artifact("network:cocitation") == {"nodes": 4}
    assert s.artifact("missing") is None


def test_a_version_1_store_gains_the_cited_works_table_and_keeps_its_data(tmp_path):
    from review.core.records import Record

    p = tmp_path / "old.sqlite"
    with Store(p) as s:
        s.add_records([Record(id="W1", title="Kept")])
    c = sqlite3.connect(p)  # as version 1 wrote it: no cited_works table
    c.execute("DROP TABLE cited_works")
    c.execute("DROP TABLE embeddings")
    c.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    c.commit()
    c.close()
    with Store(p) as s:
        assert s.meta("schema_version") == str(SCHEMA_VERSION) == "3"
        assert s.embeddings("m", ["W1"]) == {}
        assert s.record("W1").title == "Kept" and s.cited_works() == {}
        s.put_cited_works({"W9": {"title": "Cited", "year": 1996, "authors": ["Elinor Ostrom"]}, "W8": None})
    with Store(p) as s:
        assert s.cited_works() == {"W9": {"title": "Cited", "year": 1996, "authors": ["Elinor Ostrom"]}}
        assert s.cited_work_ids() == {"W8", "W9"} and s.count_records() == 1


def test_embeddings_are_kept_per_record_and_model_as_float32(tmp_path):
    import numpy as np

    from review.core.records import Record

    p = tmp_path / "r.sqlite"
    with Store(p) as s:
        s.add_records([Record(id="W1", title="A"), Record(id="W2", title="B")])
        s.put_embeddings("m1", [("W1", "h1", np.array([0.5, -1.25, 3.0]))])
        s.put_embeddings("m1", [("W1", "h1b", np.array([1.0, 2.0, 4.0]))])  # replaced, not added
        s.put_embeddings("m2", [("W2", "h2", np.array([7.0]))])
    with Store(p, readonly=True) as s:
        got = s.embeddings("m1", ["W1", "W2", "W3"])
        assert list(got) == ["W1"] and got["W1"][0] == "h1b"
        assert got["W1"][1].dtype == np.float32 and got["W1"][1].tolist() == [1.0, 2.0, 4.0]
        assert list(s.embeddings("m2", ["W1", "W2"])) == ["W2"]
