"""Bad input through the command line: one line ``error: FILE:PLACE: …``, exit code 2, no traceback.

The corpus is ``tests/data/malformed/`` (see its ``make_corpus.py`` and ``cases.toml``):
protocols, OpenAlex works, RIS, BibTeX, CSV, screening labels and stores that are truncated,
in the wrong encoding, missing fields, with huge fields, wrong types or duplicate keys. Every
case runs ``python -m review.ui.cli …`` in a fresh process (several at a time, to fit the budget).
"""
from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "data" / "malformed"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]

PROTOCOL = """id = "t"
title = "Malformed input"

[source]
store = "{store}"

[[searches]]
name = "all"
query = "co-production OR welfare OR samskabelse"
"""

COMMANDS = {
    "protocol": ["init", "{file}"],
    "snapshot": ["search", "{proto}", "--snapshot", "{file}", "-q"],
    "import": ["import", "{file}", "--protocol", "{proto}", "-q"],
    "import-strict": ["import", "{file}", "--protocol", "{proto}", "--strict", "-q"],
    "store": ["status", "--store", "{file}"],
    "labels": ["simulate", "{file}", "-q"],
    "stage": ["run", "{file}", "--stages", "{stage}", "-q"],
    "fulltext": ["fulltext", "add", "W1", "{file}", "--protocol", "{proto}"],
    "dedup": ["dedup", "{file}", "--out", "{work}/dedup", "-q"],
}


def _make_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _available() -> set[str]:
    from review.ui.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return set(sub.choices)


# Runs many CLI invocations in one process, as ``python -m review.ui.cli`` would run each: an exception
# escaping ``main()`` is printed as the interpreter would print it (a traceback), SystemExit gives the code.
RUNNER = r"""
import contextlib, io, json, os, sys, traceback
from review.ui.cli import main
results = []
for argv, cwd in json.load(sys.stdin):
    os.chdir(cwd)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append({"returncode": code, "stderr": err.getvalue(), "stdout": out.getvalue()})
json.dump(results, sys.__stdout__)
"""

# One case per kind also runs as its own `python -m review.ui.cli` process, end to end.
OWN_PROCESS = {"protocol/latin1.toml", "openalex/title_number.jsonl", "ris/truncated.ris", "csv/unclosed_quote.csv",
               "store/not_sqlite.sqlite", "bibtex/duplicate_key.bib"}


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENALEX")}


def _prepare(case: dict, work: Path) -> tuple[list[str], Path]:
    work.mkdir(parents=True)
    path = CORPUS / case["file"]
    if case.get("generated"):
        path = work / Path(case["file"]).name
        path.write_bytes(_make_corpus().data_of(case["file"]))
    proto = work / "p.toml"
    proto.write_text(PROTOCOL.format(store=(work / "t.sqlite").as_posix()), encoding="utf-8")
    if case["command"] == "fulltext":
        from review.core.records import Record
        from review.core.store import Store

        with Store(work / "t.sqlite") as s:
            s.add_records([Record(id="W1", title="Co-production of welfare services")])
    return [a.format(file=path, proto=proto, work=work, stage=case.get("stage", "")) for a in
            COMMANDS[case["command"]]], work


def _run_batch(jobs: list[tuple[list[str], Path]]) -> list[dict]:
    r = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps([(a, str(w)) for a, w in jobs]),
                       capture_output=True, text=True, timeout=600, env=_env())
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def _run_own(argv: list[str], work: Path) -> dict:
    r = subprocess.run([sys.executable, "-m", "review.ui.cli", *argv], capture_output=True, text=True, cwd=work,
                       timeout=180, env=_env())
    return {"returncode": r.returncode, "stderr": r.stderr, "stdout": r.stdout}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """``{case file: (result, work folder)}``: two batch processes, plus own processes for OWN_PROCESS."""
    available = _available()
    base = tmp_path_factory.mktemp("malformed")
    todo = [c for c in CASES if COMMANDS[c["command"]][0] in available]
    jobs = {c["file"]: _prepare(c, base / f"case{i}") for i, c in enumerate(todo)}
    names = list(jobs)
    halves = [names[0::2], names[1::2]]
    own = [n for n in names if n in OWN_PROCESS]
    for n in own:
        (base / f"own{names.index(n)}").mkdir()
    with ThreadPoolExecutor(max_workers=4) as pool:
        batches = [pool.submit(_run_batch, [jobs[n] for n in half]) for half in halves]
        owns = {n: pool.submit(_run_own, jobs[n][0], jobs[n][1]) for n in own}
        out = {}
        for half, fut in zip(halves, batches):
            out.update({n: (r, jobs[n][1]) for n, r in zip(half, fut.result())})
        out.update({f"own:{n}": (f.result(), jobs[n][1]) for n, f in owns.items()})
    return out


def test_corpus_is_big_and_varied():
    kinds = {c["file"].split("/")[0] for c in CASES}
    assert len(CASES) >= 50
    assert {"protocol", "openalex", "ris", "bibtex", "csv"} <= kinds


def _check(case: dict, r: dict, work: Path) -> None:
    err = r["stderr"]
    assert "Traceback" not in err, f"{case['file']} ({case['why']}): traceback\n{err[-3000:]}"
    assert r["returncode"] == 2, (f"{case['file']} ({case['why']}): exit {r['returncode']}\n"
                                  f"stdout: {r['stdout'][-500:]}\n{err[-1500:]}")
    assert err.startswith("error: ") and err.count("\n") == 1, f"{case['file']}: not one line:\n{err[:2000]}"
    for needle in case["expect"]:
        assert needle.lower() in err.lower(), f"{case['file']} ({case['why']}): {needle!r} not in {err!r}"
    assert len(err) < 600, f"{case['file']}: error line too long ({len(err)} chars)"
    if case["command"].startswith("import") and (work / "t.sqlite").exists():
        # a strict import that fails leaves the store without records (nothing half-imported)
        with sqlite3.connect(work / "t.sqlite") as c:
            assert c.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0
    assert not (work / "PWNED").exists()


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_malformed_input_gives_one_line_error(case, results):
    if case["file"] not in results:
        pytest.skip(f"`review {COMMANDS[case['command']][0]}` is not in this version yet")
    if case.get("xfail"):  # a known bug, reported; strict: when it is fixed this fails until the mark goes
        with pytest.raises(AssertionError):
            _check(case, *results[case["file"]])
        pytest.xfail(case["xfail"])
    _check(case, *results[case["file"]])


@pytest.mark.parametrize("name", sorted(OWN_PROCESS))
def test_malformed_input_in_its_own_process(name, results):
    if f"own:{name}" not in results:
        pytest.skip("command not in this version yet")
    _check(next(c for c in CASES if c["file"] == name), *results[f"own:{name}"])


def test_store_errors_name_the_store(tmp_path):
    """A store of a future schema version and a folder given as the store."""
    from review.core.store import Store

    future = tmp_path / "future.sqlite"
    with Store(future) as s:
        s.meta("schema_version", "99")
    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    for path, needle in [(future, "schema version 99"), (folder, "is a folder")]:
        r = subprocess.run([sys.executable, "-m", "review.ui.cli", "status", "--store", str(path)], capture_output=True,
                           text=True, cwd=tmp_path, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and needle in r.stderr, r.stderr
        assert path.name in r.stderr


def test_decision_on_an_unknown_record_names_it(tmp_path):
    proto = tmp_path / "p.toml"
    proto.write_text(PROTOCOL.format(store=(tmp_path / "t.sqlite").as_posix()), encoding="utf-8")
    for args in (["init", str(proto)], ["conflicts", "--protocol", str(proto), "--resolve", "W404", "include"]):
        r = subprocess.run([sys.executable, "-m", "review.ui.cli", *args], capture_output=True, text=True, cwd=tmp_path,
                           timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "'W404'" in r.stderr, r.stderr
