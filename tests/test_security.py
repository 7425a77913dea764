"""Nothing leaked, nothing injected.

- Records whose titles, abstracts, authors, venues, concepts and DOIs carry ``<script>`` and
  quote-breaking text go through the whole pipeline (``review import`` + ``review run``); every
  HTML and SVG file written (report, PRISMA, network maps and figures, definition figures) and
  the JupyterLab widgets' HTML is loaded in headless Chromium: no injected script runs, no
  ``javascript:`` link exists, and the hostile text is shown as text. XML outputs parse.
- ``OPENALEX_API_KEY`` / ``OPENALEX_EMAIL`` set during the run appear in no file, store, log
  or message.
- File names never come from input: record ids and entry keys like ``../../evil`` and a
  protocol concept key ``../../../evil`` write nothing outside the output folder.
- Protocols are data: no code path evaluates text (source scan), and code in a protocol is
  a TOML error (see ``tests/data/malformed/protocol/code.toml``).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from review.core.store import Store
from review.sources.snapshot import read_records

ROOT = Path(__file__).resolve().parents[1]
SPINE = Path(__file__).resolve().parent / "data" / "spine" / "works_2023.json"
CHROMIUM = Path("/usr/bin/chromium")
KEY, MAIL = "sk-SECRETKEY-93f1c0de", "secret.person.7731@example.org"

# Each payload, if it ever runs, sets <html data-pwned="…">; the literal text never contains 'data-pwned'.
SET = "document.documentElement.setAttribute('data-'+'pwned','{}')"
PAYLOADS = [
    f"<script>{SET.format('script')}</script>",
    f"\"><img src=x onerror={SET.format('img')}>",
    f"'><svg/onload={SET.format('svg')}>",
    f"</title></textarea></style></script><script>{SET.format('close')}</script>",
    f"';{SET.format('js')};'",
    f"--><script>{SET.format('comment')}</script><!--",
]
RAW = ["<script>document", "<img src=x", "<svg/onload", "<!--<script"]  # never verbatim in HTML or SVG
JS_URL = "javascript:" + SET.format("url")


def hostile_works() -> list[dict]:
    """The spine fixture's real works, with payloads in every text field a stage may show."""
    works = json.loads(SPINE.read_text(encoding="utf-8"))
    for i, w in enumerate(works):
        p = PAYLOADS[i % len(PAYLOADS)]
        w["title"] = f"{w.get('title') or ''} {p}"
        inv = w.get("abstract_inverted_index") or {}
        end = 1 + max((x for ps in inv.values() for x in ps), default=-1)
        inv.setdefault(p, []).append(end)
        w["abstract_inverted_index"] = inv
        for a in (w.get("authorships") or [])[:2]:
            a.setdefault("author", {})["display_name"] = f"{(a.get('author') or {}).get('display_name') or 'X'}{p}"
            for inst in a.get("institutions") or []:
                inst["display_name"] = f"{inst.get('display_name') or ''}{p}"
        for c in (w.get("concepts") or [])[:2]:
            c["display_name"] = f"{c.get('display_name') or ''}{p}"
        if isinstance(w.get("host_venue"), dict):
            w["host_venue"]["display_name"] = f"{w['host_venue'].get('display_name') or ''}{p}"
        if i % 4 == 0:
            w["doi"] = f"https://doi.org/10.1234/x{i}\"><img/src=x onerror=alert(1)>"  # DOIs are lower-cased
        w["primary_location"] = {"landing_page_url": JS_URL, "source": {"display_name": f"Journal {p}"}}
    return works


PROTOCOL_TEMPLATE = """id = "sec"
title = @TITLE@
questions = [@Q@]

[source]
snapshot = "snap.jsonl"
store = "reviews/sec.sqlite"

[concepts.hemophilia]
label = @LABEL@
terms.en = ["hemophilia", "haemophilia", "factor VIII", "script", "img"]

[concepts."../../../evil"]
label = "Traversal"
terms.en = ["review", "onerror"]

[[searches]]
name = "all"
query = "hemophilia OR haemophilia OR review OR systematic OR script OR img OR svg"

[[criteria]]
name = @CNAME@
kind = "exclude"
description = @CDESC@
automatic = false

[networks]
kinds = ["citation", "coauthorship", "concepts"]
formats = ["html", "svg", "graphml", "gexf"]
"""
PROTOCOL = re.sub(r"@(\w+)@", lambda m: json.dumps({  # a JSON string is a TOML basic string
    "TITLE": f"Security {PAYLOADS[0]} {PAYLOADS[1]}", "Q": PAYLOADS[2], "LABEL": f"Hemophilia {PAYLOADS[3]}",
    "CNAME": f"E1 {PAYLOADS[1]}", "CDESC": PAYLOADS[4]}[m.group(1)]), PROTOCOL_TEMPLATE)

BIB = """@article{../../evil,
  title = {Co-production <script>document.documentElement.setAttribute('data-'+'pwned','bib')</script>},
  author = {Pestoff, Victor and O"Neil, <img src=x onerror=alert(1)>},
  year = {2012},
  url = {javascript:alert(1)}
}
"""
RIS = ("TY  - JOUR\nID  - ../../../../tmp/evil\nTI  - Samskabelse \"><img src=x onerror="
       "document.documentElement.setAttribute('data-'+'pwned','ris')>\nAU  - Brandsen, Taco\nPY  - 2018\nER  - \n")
CSV = ("ID,title,authors,year\n/etc/evil,\"Welfare '><svg/onload=document.documentElement.setAttribute('data-'+'pwned',"
       "'csv')>\",\"Nabatchi, T\",2017\n")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENALEX")}
    return {**env, "OPENALEX_API_KEY": KEY, "OPENALEX_EMAIL": MAIL, "PYTHONUNBUFFERED": "1"}


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "review.ui.cli", *args], cwd=cwd, capture_output=True, text=True,
                       env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture(scope="module")
def review_run(tmp_path_factory):
    """A hostile review run end to end in ``<tmp>/a/b/c``; returns (sandbox, outputs of the commands)."""
    top = tmp_path_factory.mktemp("sec")
    sandbox = top / "a" / "b" / "c"
    sandbox.mkdir(parents=True)
    (sandbox / "snap.jsonl").write_text("\n".join(json.dumps(w, ensure_ascii=False) for w in hostile_works()),
                                        encoding="utf-8")
    (sandbox / "p.toml").write_text(PROTOCOL, encoding="utf-8")
    (sandbox / "in.bib").write_text(BIB, encoding="utf-8")
    (sandbox / "in.ris").write_text(RIS, encoding="utf-8")
    (sandbox / "in.csv").write_text(CSV, encoding="utf-8")
    before_parent = _tree(top.parent) - _tree(top)
    outs = []
    from review.ui.cli import build_parser

    commands = set(next(a for a in build_parser()._actions if a.dest == "command").choices)
    if "import" in commands:
        outs.append(_cli(["import", "in.bib", "in.ris", "in.csv", "--protocol", "p.toml", "-q"], sandbox))
    outs.append(_cli(["run", "p.toml", "--out", "out", "-q"], sandbox))
    # Two reviewers include some hostile records (with hostile notes), so the report lists included studies.
    with Store(sandbox / "reviews" / "sec.sqlite") as s:
        ids = s.record_ids(unique=True)[:8]
        for stage in ("title_abstract", "full_text"):
            for rv in ("alice", "bob"):
                for rid in ids:
                    s.add_decision(rid, "include", rv, stage=stage, note=PAYLOADS[1])
        s.add_decision(ids[0], "exclude", "bob", stage="title_abstract", note=PAYLOADS[0], criterion=PAYLOADS[2])
    outs.append(_cli(["run", "p.toml", "--out", "out", "-q", "--stages", "export"], sandbox))
    after_parent = _tree(top.parent) - _tree(top)
    return {"top": top, "sandbox": sandbox, "outs": outs, "outside_before": before_parent,
            "outside_after": after_parent}


def _written(run) -> list[Path]:
    return [p for p in (run["sandbox"] / "out").rglob("*") if p.is_file()]


def test_nothing_written_outside_the_review_folder(review_run):
    top, sandbox = review_run["top"], review_run["sandbox"]
    outside = [p for p in _tree(top) if p.is_file() and sandbox not in p.parents]
    assert outside == []
    assert review_run["outside_after"] == review_run["outside_before"]
    assert not list(top.parent.rglob("evil*")) and not Path("/tmp/evil").exists()
    assert any(p.suffix == ".html" for p in _written(review_run))


def test_secrets_reach_no_file_log_or_message(review_run):
    files = [p for p in review_run["top"].rglob("*") if p.is_file()]
    assert any(p.name.endswith(".sqlite") for p in files)
    texts = [o.stdout + o.stderr for o in review_run["outs"]]
    for secret in (KEY, MAIL, MAIL.replace("@", "%40")):
        assert not [p for p in files if secret.encode() in p.read_bytes()]
        assert not [t for t in texts if secret in t]


def test_openalex_error_messages_carry_no_secret():
    import socket

    from review.core.errors import OpenAlexError
    from review.sources.openalex import Client

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    c = Client(f"http://127.0.0.1:{port}", email=MAIL, api_key=KEY, max_retries=0, sleep=lambda s: None,
               timeout=2)
    with pytest.raises(OpenAlexError) as e:
        c.get_json(c.url(f"/works?search={KEY}&mailto={MAIL}"))
    for secret in (KEY, MAIL, MAIL.replace("@", "%40")):
        assert secret not in str(e.value) and secret not in repr(e.value.reply)


def _static_check(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    for raw in RAW:
        assert raw not in text, f"{path.name}: unescaped {raw!r}"
    assert not re.search(r"""(?:href|src|xlink:href)\s*=\s*["']?\s*javascript:""", text, re.I), path.name


def test_html_svg_and_xml_outputs_are_escaped(review_run):
    files = _written(review_run)
    kinds = {p.suffix for p in files}
    assert {".html", ".svg"} <= kinds
    for p in files:
        if p.suffix in (".html", ".svg", ".md"):  # Markdown viewers render inline HTML too
            _static_check(p)
        if p.suffix in (".svg", ".graphml", ".gexf"):
            ET.parse(p)  # well-formed: quote-breaking text did not break the XML
    # the hostile text is there, as text (not dropped on the way)
    report = (review_run["sandbox"] / "out" / "report.html").read_text(encoding="utf-8")
    assert "data-&#x27;+&#x27;pwned" in report or "data-&#39;+&#39;pwned" in report or "data-'+'pwned" in report


# -- headless Chromium ------------------------------------------------------------------------------
def _require_browser():
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test must run in CI: {missing}")
        pytest.skip(missing)


def _browse(paths: list[Path]) -> dict[str, dict]:
    """Open each file in headless Chromium; report injected effects and what the page shows."""
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        try:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            for p in paths:
                dialogs.clear()
                page.goto(p.as_uri(), wait_until="load")
                page.wait_for_timeout(50)
                # hover and click around, so that tooltips and detail panels render their (hostile) labels
                box = page.viewport_size
                for x, y in ((0.5, 0.5), (0.4, 0.45)):
                    page.mouse.move(box["width"] * x, box["height"] * y)
                    page.mouse.click(box["width"] * x, box["height"] * y)
                page.wait_for_timeout(100)
                out[p.name] = {
                    "pwned": page.evaluate("document.documentElement.getAttribute('data-pwned')"),
                    "dialogs": list(dialogs),
                    "js_links": page.evaluate("Array.from(document.querySelectorAll('[href]')).map(a => "
                                              "a.getAttribute('href')).filter(h => /^\\s*javascript:/i.test(h))"),
                    "text": page.evaluate("document.documentElement.textContent || ''"),
                }
        finally:
            browser.close()
    return out


@pytest.mark.browser
def test_no_injected_script_runs_in_any_html_or_svg_output(review_run):
    _require_browser()
    files = [p for p in _written(review_run) if p.suffix in (".html", ".svg")]
    seen = _browse(files)
    for name, r in seen.items():
        assert r["pwned"] is None and not r["dialogs"] and not r["js_links"], (name, r["pwned"], r["dialogs"],
                                                                               r["js_links"])
    assert "pwned" in seen["report.html"]["text"]  # shown as text
    maps = [n for n in seen if n.endswith(".html") and n != "report.html"]
    if importlib.util.find_spec("review.networks.build"):
        assert maps, "no network map written"
        assert any("pwned" in seen[n]["text"] for n in maps)  # the map's data holds the hostile labels


def _widget_html(widget) -> list[str]:
    import ipywidgets as widgets

    out, todo = [], [widget]
    while todo:
        w = todo.pop()
        if isinstance(w, (widgets.HTML, widgets.HTMLMath)):
            out.append(w.value)
        todo.extend(getattr(w, "children", ()) or ())
    return out


@pytest.mark.browser
def test_jupyter_widgets_escape_records(tmp_path):
    jupyter = pytest.importorskip("review.ui.jupyter")
    from review.core.protocol import loads

    (tmp_path / "snap.jsonl").write_text("\n".join(json.dumps(w) for w in hostile_works()), encoding="utf-8")
    protocol = loads(PROTOCOL, tmp_path / "p.toml")
    store = Store(tmp_path / "w.sqlite")
    pairs = list(read_records(tmp_path / "snap.jsonl"))
    store.add_records([r for r, _ in pairs], raws=[w for _, w in pairs], raw_format="openalex")
    a, b = pairs[0][0].id, pairs[1][0].id
    store.add_decision(a, "include", "alice", note=PAYLOADS[0])
    store.add_decision(a, "exclude", "bob", note=PAYLOADS[1], criterion=protocol.criteria[0].name)
    store.conn.execute("INSERT INTO dedup_pairs(a, b, score, status, ts, info) VALUES (?,?,?,?,?,?)",
                       (a, b, 0.9, "maybe", "2024-01-01", json.dumps({"reasons": PAYLOADS[2]})))
    parts = []
    sw = jupyter.ScreeningWidget(store, protocol, reviewer=f"carol{PAYLOADS[3]}")
    parts += _widget_html(sw)
    sw.decide("include")
    parts += _widget_html(sw)
    parts += _widget_html(jupyter.ConflictView(store, protocol))
    parts += _widget_html(jupyter.DedupReviewWidget(store, reviewer="dave"))
    parts += [jupyter.record_html(r, jupyter.term_groups(protocol)) for r, _ in pairs[:8]]
    assert any("pwned" in p for p in parts)
    page = tmp_path / "widgets.html"
    page.write_text("<!doctype html><meta charset=utf-8><title>widgets</title><body>"
                    + "\n<hr>\n".join(parts) + "</body>", encoding="utf-8")
    _static_check(page)
    _require_browser()
    r = _browse([page])["widgets.html"]
    assert r["pwned"] is None and not r["dialogs"] and not r["js_links"], r
    assert "pwned" in r["text"]


# -- protocols are data ------------------------------------------------------------------------------
def test_no_code_path_evaluates_text():
    """No eval/exec/pickle/yaml/marshal/os.system/shell=True anywhere in the package."""
    bad = re.compile(r"\b(?:eval|exec)\s*\(|\bpickle\b|\byaml\b|\bmarshal\b|os\.system|shell\s*=\s*True"
                     r"|__import__\((?!'review'\))")
    hits = []
    for p in (ROOT / "review").rglob("*.py"):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if bad.search(code) and not code.strip().startswith(('"', "'")):
                hits.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert hits == []


def test_code_in_protocol_strings_is_only_text(tmp_path):
    """Search text and labels that look like code are matched as words, never run."""
    from review.core.protocol import loads
    from review.stages.search import search_snapshot

    text = PROTOCOL.replace('query = "hemophilia', 'query = "__import__ OR os.system OR hemophilia') \
        .replace('snapshot = "snap.jsonl"', 'snapshot = "snap.jsonl"\n# $(touch PWNED) `touch PWNED`')
    (tmp_path / "snap.jsonl").write_text("\n".join(json.dumps(w) for w in hostile_works()), encoding="utf-8")
    p = loads(text, tmp_path / "p.toml")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with Store(tmp_path / "s.sqlite") as s:
            r = search_snapshot(s, p, tmp_path / "snap.jsonl", progress=False)
            assert r["all"]["n_records"] > 0
    finally:
        os.chdir(cwd)
    assert not list(tmp_path.rglob("PWNED"))
