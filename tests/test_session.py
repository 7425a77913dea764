import io
import json
import sqlite3
from pathlib import Path

import pytest

from review.core.errors import ScreeningError
from review.core.protocol import loads
from review.core.queries import final_decisions, pool_ids
from review.core.records import Record
from review.core.store import Store
from review.screening.reviewers import cohen_kappa, conflicts, kappa, resolve
from review.screening.rules import excluding_criteria
from review.screening.session import ScreeningSession
from review.sources.labels import read_labels
from review.sources.snapshot import read_records
from review.stages.screening import prescreen, run
from review.ui.cli import main
from review.ui.terminal import screen_terminal

FIXTURE = Path(__file__).parent / "data" / "screening" / "Donners_2021"

PROTOCOL = """id = "t"
title = "Emicizumab"

[concepts.haemophilia]
label = "Haemophilia"
terms.en = ["hemophilia", "haemophilia", "emicizumab"]

[[criteria]]
name = "I1-period"
kind = "include"
description = "2000 or later"
from_year = 2000

[[criteria]]
name = "I2-article"
kind = "include"
description = "Journal articles"
types = ["journal-article"]

[[criteria]]
name = "E1-animal"
kind = "exclude"
description = "Animal studies"
any_terms = ["mice", "murine", "cynomolgus monkey*"]

[[criteria]]
name = "E2-human-judgement"
kind = "exclude"
description = "Off topic (humans decide)"
automatic = false

[screening]
stop_rule = { kind = "hypergeometric", target_recall = 0.95, confidence = 0.95, min_screened = 20 }
"""


def make_store(tmp_path, protocol_text=PROTOCOL, records=None):
    protocol = loads(protocol_text, tmp_path / "p.toml")
    store = Store(tmp_path / "t.sqlite")
    if records is None:
        pairs = list(read_records(FIXTURE / "works_1.zip"))
        store.add_records([r for r, _ in pairs], raws=[w for _, w in pairs], raw_format="openalex")
    else:
        store.add_records(records)
    store.add_protocol(protocol.hash, protocol.text)
    return protocol, store


def test_rules_exclude_with_the_first_failing_criterion_and_never_on_missing_data(tmp_path):
    protocol = loads(PROTOCOL)
    old = Record(id="W1", title="Haemophilia care", year=1990, type="journal-article")
    mice = Record(id="W2", title="Emicizumab in MICE", abstract="A murine model.", year=2015, type="journal-article")
    both = Record(id="W3", title="Emicizumab in mice", year=1995, type="posted-content")
    unknown = Record(id="W4", title="", year=None, type="")  # nothing to judge: kept for humans
    fine = Record(id="W5", title="Emicizumab prophylaxis", year=2019, type="journal-article")
    assert excluding_criteria(protocol, old) == ["I1-period"]
    assert excluding_criteria(protocol, mice) == ["E1-animal"]
    assert excluding_criteria(protocol, both) == ["I1-period", "I2-article", "E1-animal"]
    assert excluding_criteria(protocol, unknown) == []
    assert excluding_criteria(protocol, fine) == []


def test_prescreen_records_decisions_and_events_and_is_idempotent(tmp_path):
    protocol, store = make_store(tmp_path, records=[
        Record(id="W1", title="Haemophilia care", year=1990, type="journal-article"),
        Record(id="W2", title="Emicizumab in mice", year=2015, type="journal-article"),
        Record(id="W5", title="Emicizumab prophylaxis", year=2019, type="journal-article"),
    ])
    out = prescreen(store, protocol, progress=False)
    assert out["excluded"] == 2 and out["by_criterion"] == {"I1-period": 1, "E1-animal": 1}
    dec = store.current_decisions("prescreen", reviewer="rules")
    assert {rid: (d["decision"], d["criterion"], d["protocol_hash"]) for rid, d in dec.items()} == {
        "W1": ("exclude", "I1-period", protocol.hash), "W2": ("exclude", "E1-animal", protocol.hash)}
    events = store.events("screening", "excluded_by_automation")
    assert sorted((e["record_id"], json.loads(e["data"])["criterion"]) for e in events) == [
        ("W1", "I1-period"), ("W2", "E1-animal")]
    n_decisions = len(store.query("SELECT * FROM decisions"))
    again = prescreen(store, protocol, progress=False)
    assert again["new_decisions"] == 0 and again["excluded"] == 2
    assert len(store.query("SELECT * FROM decisions")) == n_decisions
    assert len(store.events("screening", "excluded_by_automation")) == 2
    assert pool_ids(store) == ["W5"]
    # a protocol without the animal rule releases W2 back to the humans
    relaxed = loads(PROTOCOL.replace('any_terms = ["mice", "murine", "cynomolgus monkey*"]', ""))
    out = prescreen(store, relaxed, progress=False)
    assert out["retracted"] == 1 and pool_ids(store) == ["W2", "W5"]


def test_session_decide_writes_before_returning_undo_and_progress(tmp_path):
    protocol, store = make_store(tmp_path)
    prescreen(store, protocol, progress=False)
    s = ScreeningSession(store, protocol, "alice")
    assert len(s) == len(pool_ids(store)) < 258
    first = s.next()
    assert first is not None and first.id in pool_ids(store)
    did = s.decide(first.id, "exclude", criterion="E2-human-judgement", note="not PK")
    # another connection sees the committed row at once
    con = sqlite3.connect(tmp_path / "t.sqlite")
    row = con.execute("SELECT record_id, decision, reviewer, stage, criterion, note, protocol_hash FROM decisions "
                      "WHERE id=?", (did,)).fetchone()
    assert row == (first.id, "exclude", "alice", "title_abstract", "E2-human-judgement", "not PK", protocol.hash)
    second = s.next()
    assert second.id != first.id
    s.decide(second.id, "maybe")
    p = s.progress()
    assert (p["screened"], p["maybe"], p["excluded"], p["total"], p["remaining"]) == (2, 1, 1, len(s), len(s) - 2)
    assert "recall_lower_bound" in p["stopping"] and p["stopping"]["stop"] is False
    assert s.undo() == second.id
    assert s.next().id == second.id  # the undone record comes back first
    assert s.progress()["screened"] == 1
    assert store.current_decisions("title_abstract", reviewer="alice").keys() == {first.id}
    # a new session (e.g. after a restart) resumes from the store
    s2 = ScreeningSession(store, protocol, "alice")
    assert s2.progress()["screened"] == 1 and s2.next().id != first.id
    with pytest.raises(ScreeningError, match="criterion 'E9' is not in the protocol"):
        s.decide(second.id, "exclude", criterion="E9")
    with pytest.raises(ScreeningError, match="decision must be one of"):
        s.decide(second.id, "reject")
    with pytest.raises(ScreeningError, match="not in the title_abstract pool"):
        s.decide("W0", "include")


def test_session_ranking_learns_from_decisions(tmp_path):
    protocol, store = make_store(tmp_path)
    labels = read_labels(FIXTURE / "labels.csv")
    s = ScreeningSession(store, protocol, "alice")
    n = len(s)
    screened, found = 0, 0
    while screened < n // 5:
        rec = s.next()
        found += labels[rec.id]
        s.decide(rec.id, "include" if labels[rec.id] else "exclude")
        screened += 1
    total = sum(labels[i] for i in s.ids)
    # 20 % screened in random order would find ~20 % of the included records
    assert found / total >= 0.8
    p = s.progress()
    assert p["included"] == found and p["stopping"]["relevant_found"] == found


def test_reviewers_are_blind_to_each_other(tmp_path):
    protocol, store = make_store(tmp_path)
    fresh = ScreeningSession(store, protocol, "bob").queue(20)
    alice = ScreeningSession(store, protocol, "alice")
    labels = read_labels(FIXTURE / "labels.csv")
    for _ in range(15):
        rec = alice.next()
        alice.decide(rec.id, "include" if labels[rec.id] else "exclude")
    bob = ScreeningSession(store, protocol, "bob")
    assert bob.progress()["screened"] == 0
    assert bob.queue(20) == fresh  # alice's decisions neither hide records nor change bob's order
    assert bob.decisions() == {}


def two_reviewer_store(tmp_path):
    recs = [Record(id=f"W{i}", title=f"record {i}", year=2020, type="journal-article") for i in range(1, 11)]
    protocol, store = make_store(tmp_path, records=recs)
    a = "I I I E E E E E M E".split()
    b = "I I E E E E I E M E".split()
    word = {"I": "include", "E": "exclude", "M": "maybe"}
    for i, (x, y) in enumerate(zip(a, b), start=1):
        store.add_decision(f"W{i}", word[x], "ann", protocol_hash=protocol.hash)
        store.add_decision(f"W{i}", word[y], "ben", protocol_hash=protocol.hash)
    return protocol, store


def test_kappa_and_conflicts_on_a_hand_made_set(tmp_path):
    protocol, store = two_reviewer_store(tmp_path)
    # agreement 8/10; ann I3 E6 M1, ben I3 E6 M1 -> pe = (9 + 36 + 1) / 100 = .46; kappa = (.8 - .46) / .54
    k = kappa(store)
    assert k["n"] == 10 and k["agreement"] == 0.8
    assert k["kappa"] == pytest.approx(0.34 / 0.54, abs=1e-4)
    assert [c["record_id"] for c in conflicts(store)] == ["W3", "W7"]
    assert conflicts(store)[0]["decisions"] == {"ann": {"decision": "include", "criterion": None, "note": None},
                                                "ben": {"decision": "exclude", "criterion": None, "note": None}}
    final = final_decisions(store)
    assert "W3" not in final and final["W1"] == "include" and final["W9"] == "maybe"
    resolve(store, "W3", "include", protocol=protocol, note="meets I2")
    resolve(store, "W7", "exclude", criterion="E2-human-judgement", protocol=protocol)
    assert conflicts(store) == []
    assert final_decisions(store)["W3"] == "include"
    assert kappa(store)["kappa"] == pytest.approx(0.34 / 0.54, abs=1e-4)  # the reconciler is not a rater
    # full-text pool: included or maybe at title-abstract (W1, W2, W3 reconciled, W9 maybe)
    assert pool_ids(store, "full_text") == ["W1", "W2", "W3", "W9"]
    # a later decision by ann replaces her earlier one
    store.add_decision("W7", "include", "ann")
    assert kappa(store)["agreement"] == 0.9


def test_cohen_kappa_textbook_example():
    # Wikipedia "Cohen's kappa", simple example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> 0.4
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["y", "n"], ["n", "y"]) == pytest.approx(-1.0)
    assert cohen_kappa(["y", "y"], ["y", "y"]) != cohen_kappa(["y", "y"], ["y", "y"])  # NaN: undefined


def test_terminal_loop_keys(tmp_path):
    protocol, store = make_store(tmp_path)
    s = ScreeningSession(store, protocol, "carl")
    out = []
    first = s.queue(3)
    p = screen_terminal(s, ["i", "e 3 -- animal data", "x", "m", "u", "e", "q", "i"], write=out.append)
    text = "\n".join(out)
    assert "unknown answer 'x'" in text
    assert p["screened"] == 3 and p["included"] == 1 and p["excluded"] == 2
    rows = store.query("SELECT record_id, decision, criterion, note FROM decisions WHERE reviewer='carl' ORDER BY id")
    assert rows[0]["record_id"] == first[0] and rows[0]["decision"] == "include"
    assert tuple(rows[1])[1:] == ("exclude", "E1-animal", "animal data")
    assert [r["decision"] for r in rows[2:]] == ["maybe", "undo", "exclude"]
    assert rows[3]["record_id"] == rows[2]["record_id"]  # u retracted the maybe


def test_cli_screen_conflicts_kappa(tmp_path, monkeypatch, capsys):
    protocol, store = two_reviewer_store(tmp_path)
    store.close()
    st = str(tmp_path / "t.sqlite")
    assert main(["kappa", "--store", st, "--stage", "title_abstract"]) == 0
    assert "ann vs ben: kappa 0.630 on 10 records, agreement 80.0%" in capsys.readouterr().out
    assert main(["conflicts", "--store", st]) == 0
    out = capsys.readouterr().out
    assert "W3" in out and "W7" in out and "2 conflict(s)" in out
    assert main(["conflicts", "--store", st, "--resolve", "W3", "include"]) == 0
    capsys.readouterr()
    assert main(["conflicts", "--store", st]) == 0
    assert "1 conflict(s)" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("i\ne\nq\n"))
    assert main(["screen", "--store", st, "--reviewer", "dora", "-q"]) == 0
    assert "screened 2 of 10" in capsys.readouterr().out


def test_run_stage_prescreens_ranks_and_simulates_without_writing_decisions(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text((FIXTURE / "labels.csv").read_text())
    protocol, store = make_store(tmp_path, PROTOCOL + 'labels = "labels.csv"\n')
    out = run(store, protocol, progress=False)
    assert out["prescreen"]["excluded"] > 0 and out["pool"] == len(pool_ids(store))
    order = store.artifact("screening_priority")["order"]
    assert order[:1] and len(order) == out["pool"]
    sim = store.artifact("screening_simulation")
    assert sorted(sim["order"]) == sorted(pool_ids(store)) and 0 <= out["simulation"]["wss_95"] <= 1
    assert store.query("SELECT COUNT(*) FROM decisions WHERE stage != 'prescreen'")[0][0] == 0


def test_model_settings_from_the_protocol(tmp_path):
    from review.screening.session import model_from

    p = loads(PROTOCOL + 'model = { classifier = "logistic", query = "mixed" }\nfeatures = { char_ngrams = [3, 5] }\n')
    features, ranker = model_from(p)
    assert (ranker.classifier, ranker.query, features.char_ngrams) == ("logistic", "mixed", (3, 5))
    from review.core.errors import ProtocolError

    for bad, needle in [('model = { classifer = "svm" }',
                         "key 'screening.model.classifer': unknown key; did you mean 'classifier'"),
                        ('model = { classifier = "rf" }', "key 'screening.model.classifier': unknown classifier 'rf'")]:
        with pytest.raises(ProtocolError, match=needle):
            model_from(loads(PROTOCOL + bad + "\n"))
    with pytest.raises(ProtocolError, match="key 'screening.features': expected a table"):
        loads(PROTOCOL + 'features = "words"\n')


def test_read_labels(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text("openalex_id,label_included\nhttps://openalex.org/W1,0\n,1\nW2,0\nW2,1\n")
    assert read_labels(f) == {"W1": 0, "W2": 1}  # no id: skipped; listed twice: included wins
    f.write_text("openalex_id,label_included\nW1,0\n10.1/x,1\n")
    with pytest.raises(ScreeningError, match=r"labels.csv:3: need an OpenAlex id"):
        read_labels(f)
    f.write_text("id,label\nW1,0\n")
    with pytest.raises(ScreeningError, match="missing column"):
        read_labels(f)
