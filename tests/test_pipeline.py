import json

import pytest

from review.core.protocol import loads
from review.core.queries import status_counts as counts
from review.core.store import Store
from review.pipeline import STAGES, format_summary, run

PROTO = """id = "t"
title = "T"

[[searches]]
name = "sr"
query = 'review* OR trial*'
"""


def test_run_is_resumable_and_logged(tmp_path, data_dir):
    works = json.loads((data_dir / "spine" / "works_2023.json").read_text())
    snap = tmp_path / "snap.jsonl"
    snap.write_text("\n".join(json.dumps(w) for w in works))
    store = Store(tmp_path / "s.sqlite")
    p = loads(PROTO)
    first = run(store, p, snapshot=snap, stages=["search"], progress=False, out_dir=tmp_path / "out")
    n = counts(store)["records"]
    assert n == first["search"]["searches"]["sr"]["n_records"] > 0
    again = run(store, p, snapshot=snap, stages=["search"], progress=False, out_dir=tmp_path / "out")
    assert again["search"]["searches"]["sr"]["skipped"]
    assert counts(store)["records"] == n
    assert len(store.events("pipeline", "stage_done")) == 2
    assert store.query("SELECT text FROM protocols")[0][0] == PROTO
    assert "records" in format_summary(store, again)


def test_unknown_stage():
    from review.core.errors import ReviewError

    with pytest.raises(ReviewError, match="unknown stage 'screen'"):
        run(None, loads(PROTO), stages=["screen"])


def test_stage_names_unique():
    names = [s for s, _, _ in STAGES]
    assert len(names) == len(set(names))
