import json
import re
import subprocess
import sys

from review.ui.cli import main

PROTO = """id = "t"
title = "T"

[source]
snapshot = "snap.jsonl"
store = "{store}"

[[searches]]
name = "sr"
query = 'review*'
"""


def make_review(tmp_path, data_dir):
    works = json.loads((data_dir / "spine" / "works_2023.json").read_text())
    (tmp_path / "snap.jsonl").write_text("\n".join(json.dumps(w) for w in works))
    p = tmp_path / "p.toml"
    p.write_text(PROTO.format(store=(tmp_path / "t.sqlite").as_posix()))
    return p


def test_init_search_status(tmp_path, data_dir, capsys):
    p = make_review(tmp_path, data_dir)
    assert main(["init", str(p)]) == 0
    assert "review 't'" in capsys.readouterr().out
    assert main(["search", str(p), "-q"]) == 0
    out = capsys.readouterr().out
    n = int(re.search(r"search 'sr': (\d+) record\(s\), \1 new to the store", out).group(1))
    assert n > 0 and "{" not in out and "next: `review dedup" in out
    assert main(["search", str(p), "-q", "--json"]) == 0  # the JSON is still there, behind --json
    again = json.loads(capsys.readouterr().out)["searches"]["sr"]
    assert again["n_records"] == n and again["skipped"]
    assert main(["status", "--store", str(tmp_path / "t.sqlite")]) == 0
    status = capsys.readouterr().out
    assert re.search(rf"^  records identified +{n}$", status, re.M)
    assert re.search(rf"^  unique records +{n}$", status, re.M)


def test_user_errors_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\ntitle = ["not", "a", "string"]\n')
    for args, needle in [
        (["run", str(tmp_path / "missing.toml")], "protocol file not found"),
        (["run", str(bad)], "bad.toml:2: key 'title': expected a string"),
        (["status", "--store", str(tmp_path / "none.sqlite")], "review store not found"),
    ]:
        r = subprocess.run([sys.executable, "-m", "review.ui.cli", *args], capture_output=True, text=True,
                           cwd=tmp_path)
        assert r.returncode == 2, r
        assert r.stderr.startswith("error: ") and needle in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_help_everywhere():
    for cmd in ([], ["run"], ["init"], ["search"], ["snowball"], ["status"]):
        r = subprocess.run([sys.executable, "-m", "review.ui.cli", *cmd, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "usage: review" in r.stdout
