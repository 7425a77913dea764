"""Issue #13, found by using the tool as a new user would: the CLI's counts, locks, stores and messages."""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import PROTO as CLI_PROTO

from review import pipeline
from review.core.records import Record, Source
from review.core.store import Store
from review.ui.cli import main

ROOT = Path(__file__).resolve().parents[1]

PROTO = CLI_PROTO + """
[[criteria]]
name = "E1-old"
kind = "include"
from_year = 2100
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _cli(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "review.ui.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(), timeout=300, **kw)


def make_review(tmp_path: Path, data_dir: Path, proto: str = PROTO) -> Path:
    works = json.loads((data_dir / "spine" / "works_2023.json").read_text())
    (tmp_path / "snap.jsonl").write_text("\n".join(json.dumps(w) for w in works))
    p = tmp_path / "p.toml"
    p.write_text(proto.format(store=(tmp_path / "t.sqlite").as_posix()))
    return p


def _status(text: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^  ([a-z][a-z ()/]+?) {2,}(\d+)", text, re.M)}


# -- 5: one set of counts for status, the run summary, PRISMA and the report ---------------------------
def counted_store(path: Path) -> Store:
    """6 records from search a, 2 of them found again by search b, 1 merged by dedup; 2 rule exclusions, 1 undone."""
    s = Store(path)
    s.add_protocol("h", 'id = "t"\ntitle = "T"\n')
    a, b = s.start_run("search", "a"), s.start_run("search", "b")
    recs = [Record(id=f"W{i}", title=f"Title {i}", year=2020, sources=[Source("snapshot", "search:a", str(i))])
            for i in range(1, 7)]
    s.add_records(recs, a)
    s.add_records([Record(id=f"W{i}", title=f"Title {i}", sources=[Source("snapshot", "search:b", str(i))])
                   for i in (1, 2)], b)
    s.mark_duplicate("W6", "W5", method="test")
    s.add_decision("W3", "exclude", "rules", stage="prescreen", criterion="E1-old")
    s.add_decision("W4", "exclude", "rules", stage="prescreen", criterion="E1-old")
    s.add_decision("W4", "undo", "rules", stage="prescreen")  # the rule no longer excludes W4
    s.add_decision("W1", "include", "alice")
    s.add_decision("W2", "exclude", "alice", criterion="E1-old")
    return s


def test_status_summary_prisma_and_report_agree(tmp_path, capsys):
    store = counted_store(tmp_path / "c.sqlite")
    want = {"records identified": 8, "duplicates removed": 3, "unique records": 5, "excluded by rules": 1,
            "screened": 2, "not yet screened": 2, "excluded at screening": 1}
    summary = _status(pipeline.format_summary(store, {}))
    assert main(["status", "--store", str(store.path)]) == 0
    status = _status(capsys.readouterr().out)
    assert main(["prisma", "--store", str(store.path), "--out", str(tmp_path / "p")]) == 0
    prisma = {r["key"]: int(r["n"]) for r in csv.DictReader(open(tmp_path / "p" / "prisma.csv", encoding="utf-8"))}
    assert main(["report", "--store", str(store.path), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    for key, n in want.items():
        assert status[key] == summary[key] == n, (key, status, summary)
    for key, csv_key in [("records identified", "identified"), ("duplicates removed", "duplicates_removed"),
                         ("excluded by rules", "excluded_by_automation"), ("screened", "screened"),
                         ("not yet screened", "not_screened"), ("excluded at screening", "excluded_screening")]:
        assert prisma[csv_key] == want[key], csv_key
    for label, n in [("Duplicate records removed", 3), ("Records marked as ineligible by automation tools", 1),
                     ("Records screened", 2)]:
        assert re.search(rf"<td>{label}</td><td[^>]*>{n}</td>", html), label


# -- 9 and 10: one writer per store; runs of a killed process are marked interrupted -----------------
HOLD = """
import sys, time
from review.core.store import Store
s = Store(sys.argv[1]); s.acquire_writer("review run p.toml"); print("locked", flush=True); time.sleep(120)
"""


def test_second_writer_refuses_naming_the_store_and_the_process(tmp_path, data_dir):
    p = make_review(tmp_path, data_dir)
    store_path = tmp_path / "t.sqlite"
    Store(store_path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store_path)], stdout=subprocess.PIPE, text=True,
                              env=_env())
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        r = _cli("run", str(p), "-q", cwd=tmp_path)
        waited = time.monotonic() - t0
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert str(store_path) in r.stderr and f"pid {holder.pid}" in r.stderr and "review run p.toml" in r.stderr
        assert "wait until it finishes" in r.stderr and f"kill {holder.pid}" in r.stderr
        assert 4 < waited < 60  # waited a short while before refusing
        with Store(store_path) as s:
            assert s.count_records() == 0 and not s.runs()  # it did nothing
            assert s.lock_holder()["pid"] == holder.pid
        assert f"pid {holder.pid} is running `review run p.toml`" in _cli("status", "--protocol", str(p),
                                                                          cwd=tmp_path).stdout
    finally:
        holder.kill()
        holder.wait()
    r = _cli("run", str(p), "-q", "--stages", "search", cwd=tmp_path)  # the lock went with the process
    assert r.returncode == 0, r.stderr


def test_two_runs_at_once_search_and_prescreen_once(tmp_path):
    p = tmp_path / "p.toml"  # the shipped corpus: its search takes seconds, so the two runs overlap
    p.write_text(PROTO.format(store=(tmp_path / "t.sqlite").as_posix()).replace(
        'snapshot = "snap.jsonl"', f'snapshot = "{(ROOT / "bib" / "synergy_openalex.jsonl.gz").as_posix()}"').replace(
        "review*", "biosimilar*"))
    cmd = [sys.executable, "-m", "review.ui.cli", "run", str(p), "-q", "--stages", "search,screening"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(proc.wait(timeout=300), proc.stderr.read()) for proc in procs]
    for code, err in results:
        assert code == 0 or (code == 2 and "in use by another review command" in err), err
    with Store(tmp_path / "t.sqlite") as s:
        assert len(s.runs("search")) == 1
        rules = s.query("SELECT record_id, COUNT(*) AS n FROM decisions WHERE stage='prescreen' GROUP BY record_id")
        assert rules and all(r["n"] == 1 for r in rules)
        assert len(rules) == s.count_records(unique=True)  # from_year 2100 excludes every record, once


def test_lock_is_reentrant_and_released(tmp_path):
    from review.core.errors import StoreBusyError

    a, b = Store(tmp_path / "s.sqlite"), Store(tmp_path / "s.sqlite")
    with a.writing("one"):
        with a.writing("nested"):
            pass
        with pytest.raises(StoreBusyError, match=rf"s\.sqlite: in use by another review command \(pid {os.getpid()}"):
            b.acquire_writer("two", wait=0.2)
    b.acquire_writer("two", wait=0.2)  # released at the outer exit
    assert a.lock_holder()["command"] == "two"
    b.close()
    assert a.lock_holder() is None


KILLED_RUN = """
import sys, time
from review.core.store import Store
s = Store(sys.argv[1]); rid = s.start_run("search", "sr", {"q": 1}, "h"); s.set_checkpoint(rid, "cursor", {"page": 3})
print("started", flush=True); time.sleep(120)
"""


def test_run_of_a_killed_process_is_marked_interrupted_by_the_next_writer(tmp_path):
    path = tmp_path / "k.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(path)], stdout=subprocess.PIPE, text=True,
                            env=_env())
    assert proc.stdout.readline().strip() == "started"
    with Store(path) as s:
        s.acquire_writer("review run")  # the other process is alive: its run is left running
        assert s.runs("search")[0]["status"] == "running"
    proc.kill()
    proc.wait()
    with Store(path) as s:
        assert s.runs("search")[0]["status"] == "running"  # a reader changes nothing
        s.acquire_writer("review run")
        row = s.runs("search")[0]
        assert row["status"] == "interrupted" and row["finished_at"]
        assert [e["run_id"] for e in s.events("runs", "interrupted")] == [row["id"]]
        assert s.checkpoint(row["id"], "cursor") == {"page": 3}  # kept, to resume from
        s.reopen_run(row["id"])
        assert s.run(row["id"])["status"] == "running" and not s.mark_interrupted_runs()  # now ours


# -- 11: init does not silently rebind a store to another review -----------------------------------------
def test_init_refuses_another_review_unless_forced(tmp_path, data_dir, capsys):
    p = make_review(tmp_path, data_dir)
    store = tmp_path / "t.sqlite"
    assert main(["init", str(p)]) == 0
    other = tmp_path / "other.toml"
    other.write_text(p.read_text().replace('id = "t"', 'id = "other"'))
    capsys.readouterr()
    assert main(["init", str(other), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "t.sqlite: this store belongs to review 't', not 'other'" in err and "--force" in err
    assert main(["run", str(other), "--store", str(store), "-q", "--stages", "search"]) == 2
    with Store(store) as s:
        assert s.review_id() == "t" and s.count_records() == 0
    changed = tmp_path / "p2.toml"  # a new version of the same review is fine, and recorded
    changed.write_text(p.read_text().replace('title = "T"', 'title = "T, revised"'))
    assert main(["init", str(changed), "--store", str(store)]) == 0
    with Store(store) as s:
        assert len(s.protocols()) == 2 and len(s.events("protocol", "changed")) == 1
    assert main(["init", str(other), "--store", str(store), "--force"]) == 0
    with Store(store) as s:
        assert s.review_id() == "other"
        assert json.loads(s.events("protocol", "rebound")[0]["data"]) == {"from_review": "t", "to_review": "other"}


# -- 12: a store on read-only media can be read ------------------------------------------------------------
def _on_read_only_mount(folder: Path, argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI with ``folder`` mounted read-only (its own mount namespace: real EROFS, even for root)."""
    script = ('mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"')
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(folder), sys.executable, "-m",
                           "review.ui.cli", *argv], capture_output=True, text=True, cwd=cwd, env=_env(), timeout=300)


def _can_mount_read_only(tmp_path: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" '
                        '&& ! touch "$0/x" 2>/dev/null', str(tmp_path)], capture_output=True)
    return r.returncode == 0


def test_read_only_store_can_be_read(tmp_path, data_dir):
    if not _can_mount_read_only(tmp_path):
        pytest.skip("needs a private read-only bind mount (unshare -m, as root)")
    work, ro, out = tmp_path / "work", tmp_path / "ro", tmp_path / "out"
    for d in (work, ro, out):
        d.mkdir()
    p = make_review(work, data_dir)
    assert _cli("run", str(p), "-q", "--stages", "search,dedup,screening", cwd=work).returncode == 0
    shutil.copy(work / "t.sqlite", ro / "t.sqlite")
    before = sorted(x.name for x in ro.iterdir()), (ro / "t.sqlite").read_bytes()
    store = str(ro / "t.sqlite")
    for argv in (["status", "--store", store], ["prisma", "--store", store, "--out", str(out / "p")],
                 ["export", "--store", store, "--out", str(out / "r.bib")],
                 ["report", "--store", store, "--out", str(out / "r.html")]):
        r = _on_read_only_mount(ro, argv, out)
        assert r.returncode == 0, (argv, r.stderr)
    assert (out / "p" / "prisma.csv").is_file() and (out / "r.html").is_file()
    assert "@article{" in (out / "r.bib").read_text()
    assert (sorted(x.name for x in ro.iterdir()), (ro / "t.sqlite").read_bytes()) == before  # nothing written
    r = _on_read_only_mount(ro, ["dedup", "--store", store, "-q"], out)
    assert r.returncode == 2 and "read-only" in r.stderr and "copy it" in r.stderr, r.stderr


def test_read_only_store_refuses_writes(tmp_path):
    from review.core.errors import StoreError

    Store(tmp_path / "s.sqlite").close()
    s = Store(tmp_path / "s.sqlite", readonly=True)
    with pytest.raises(StoreError, match="opened read-only"):
        s.add_decision("W1", "include", "alice")
    with pytest.raises(StoreError, match="opened read-only"):
        s.acquire_writer("review run")
    with pytest.raises(StoreError, match="review store not found"):
        Store(tmp_path / "missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()


# -- 14: the main job says where the outputs are and what to do next ----------------------------------------
def test_run_prints_report_path_and_next_steps(tmp_path, data_dir):
    p = make_review(tmp_path, data_dir, PROTO.replace("from_year = 2100", "from_year = 1900"))
    r = _cli("run", str(p), "-q", "--stages", "search,dedup,screening,export", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    report = re.search(r"^outputs: (\S+)/ \(open the report: (\S+)\)$", out, re.M)
    assert report and Path(tmp_path, report.group(2)).is_file() and report.group(2).endswith("report.html")
    steps = out.split("\nnext:\n", 1)[1]
    assert "notebooks/02_screening.ipynb" in steps and f"review screen --store {tmp_path / 't.sqlite'}" in steps
    assert f"review run {p}` again" in steps


# -- 15: the command line explains itself ---------------------------------------------------------------------
def test_help_is_a_description_and_every_option_is_explained():
    import argparse

    from review.ui.cli import build_parser

    r = subprocess.run([sys.executable, "-m", "review.ui.cli", "--help"], capture_output=True, text=True, env=_env())
    assert r.stdout.split("\n\n")[1].startswith("review: systematic literature reviews")
    assert "Thin: parse arguments" not in r.stdout and "review run protocols/demo.toml" in r.stdout
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {a.option_strings or a.dest}" for name, p in sub.choices.items() for a in p._actions
               if not a.help]
    assert not missing
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    assert [c for c in sub.choices if f"review {c}" not in section] == []


def test_dedup_prints_a_summary_and_json_on_request(tmp_path, data_dir, capsys):
    p = make_review(tmp_path, data_dir)
    assert main(["search", str(p), "-q"]) == 0
    capsys.readouterr()
    assert main(["dedup", "-p", str(p), "-q"]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(r"\d+ records: \d+ unique, \d+ duplicates \(\d+ new\) in \d+ groups; "
                        r"\d+ uncertain pair\(s\) to decide.*\n", out), out
    assert main(["dedup", "-p", str(p), "-q", "--json"]) == 0
    assert "unique" in json.loads(capsys.readouterr().out)


# -- 6: a full text that cannot be had counts as "reports not retrieved" -------------------------------------
def test_fulltext_missing_counts_as_not_retrieved(tmp_path, capsys):
    from review.core.queries import counts

    store = counted_store(tmp_path / "c.sqlite")
    store.add_decision("W5", "maybe", "alice")
    assert counts(store)["sought"] == 2 and counts(store)["not_retrieved"] == 0
    s = str(store.path)
    assert main(["fulltext", "missing", "W1", "--store", s]) == 2
    assert "say why" in capsys.readouterr().err
    assert main(["fulltext", "missing", "W1", "--store", s, "--reason", "not held by  the library"]) == 0
    assert "not retrievable" in capsys.readouterr().out
    c = counts(store)
    assert c["not_retrieved"] == 1 and c["not_yet_assessed"] == 1
    assert json.loads(store.events("fulltext", "not_retrieved")[0]["data"]) == {"reason": "not held by the library"}
    assert main(["status", "--store", s]) == 0
    assert _status(capsys.readouterr().out)["full texts not retrieved"] == 1
    txt = tmp_path / "w1.txt"
    txt.write_text("Found after all. It is a full text.", encoding="utf-8")
    assert main(["fulltext", "add", "W1", str(txt), "--store", s]) == 0  # found later: replaces the mark
    assert counts(store)["not_retrieved"] == 0


def test_network_keywords_prints_its_top_keywords_not_key_references():
    from review.stages.networks import format_result

    refs = {"cited": [{"label": "Smith (2001)", "title": "A cited work", "citations": 9}]}
    base = {"nodes": 2, "links": 1, "records": 3, "norm": "association", "key_references": refs,
            "clusters": [{"cluster": 1, "size": 2, "label": "care", "top_nodes": [{"label": "shared care"}]}],
            "key_nodes": [{"id": "k1", "label": "shared care", "occurrences": 7, "cluster": 1, "cluster_label": "care",
                           "degree": 1}]}
    text = format_result({"kind": "keywords", **base})
    assert "Key references" not in text and "Smith (2001)" not in text
    assert "Top keywords (by occurrences):\n      7  shared care  [cluster 1: care]" in text
    cites = format_result({"kind": "cocitation", **base})
    assert "Key references (most cited by the set):" in cites and "Top " not in cites
