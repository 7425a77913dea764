"""OpenAlex retrieval against the local test server serving real works (tests/data/openalex).

Expected counts and sets are computed here straight from the fixture's JSON, not by the code under test.
"""
import gzip
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pyalex
import pytest

from review.core.errors import OpenAlexError
from review.core.protocol import Search, loads
from review.core.store import Store
from review.sources.openalex import SELECT, Client, pyalex_base_url
from review.sources.openalex_json import from_openalex
from review.stages.search import search, snowball
from review.stages.search import search_openalex as run
from review.ui import cli
from review.ui.testserver import WORK_FIELDS, OpenAlexTestServer

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
QUERY = "emicizumab OR hemophilia OR haemophilia"


@pytest.fixture(scope="module")
def works():
    with gzip.open(ROOT / "tests" / "data" / "openalex" / "works.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def server(works):
    with OpenAlexTestServer(works) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server):
    server.reset()


def short(url):
    return url.rsplit("/", 1)[1]


def text_of(w):
    inv = w.get("abstract_inverted_index") or {}
    return (w["title"] or "") + " " + " ".join(word for _, word in sorted((p, x) for x, ps in inv.items() for p in ps))


def hits(works, pattern=r"\b(emicizumab|hemophilia|haemophilia)\b"):
    return [w for w in works if re.search(pattern, text_of(w), re.IGNORECASE)]


def client(server, sleeps=None, **kw):
    """A client that records its backoff waits instead of sleeping."""
    sleeps = [] if sleeps is None else sleeps
    return Client(server.url, sleep=sleeps.append, backoff=0.01, seed=1, **kw)


def contents(store):
    """Everything identification wrote, without timestamps and run ids."""
    recs = {r["id"]: (r["raw"], json.loads(r["data"])["title"]) for r in store.query("SELECT * FROM records")}
    sources = sorted(tuple(r) for r in store.query("SELECT record_id, kind, name, locator FROM record_sources"))
    return recs, sources


def params_of(path):
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


# -- searching -----------------------------------------------------------------------------------
def test_search_uses_ceil_n_over_page_size_requests_and_stores_verbatim(server, works, tmp_path):
    emi = {short(w["id"]): w for w in hits(works, r"\bemicizumab\b")}
    n_all, n_emi = len(hits(works)), len(emi)
    assert n_all > 200 and 100 < n_emi < 200
    # per_page = n: one request, where OpenAlex's own end marker (an empty last page) would make it two
    for query, n, per_page in ((QUERY, n_all, 200), (QUERY, n_all, 25), ("emicizumab", n_emi, n_emi)):
        server.reset()
        store = Store(tmp_path / f"p{per_page}.sqlite")
        r = search(store, Search("s", query), "h1", client=client(server, per_page=per_page), progress=False)
        assert r["n_records"] == r["new_records"] == store.count_records() == n
        assert r["requests"] == r["pages"] == len(server.requests) == math.ceil(n / per_page)
        assert all(params_of(p)["per-page"] == str(per_page) for p in server.requests)
    assert set(store.record_ids()) == set(emi)
    # raw JSON as the server sent it: the selected fields of the real work
    some = sorted(emi)[5]
    assert store.raw(some) == {k: emi[some].get(k) for k in SELECT}
    rec = store.record(some)
    want = from_openalex(emi[some])
    assert (rec.title, rec.doi, rec.year, rec.venue, rec.referenced_works) == \
        (want.title, want.doi, want.year, want.venue, want.referenced_works)
    locs = [tuple(r) for r in store.query("SELECT kind, name, locator FROM record_sources")]
    assert {k for k, _, _ in locs} == {"openalex"} and {m for _, m, _ in locs} == {"search:s"}
    assert sorted(loc for _, _, loc in locs) == sorted(f"1:{i}" for i in range(n_emi))  # page 1, positions
    # a finished search is not repeated
    server.reset()
    again = search(store, Search("s", "emicizumab"), "h1", client=client(server, per_page=25), progress=False)
    assert again["skipped"] and server.requests == []


def test_search_filters_reach_the_server(server, works, tmp_path):
    s = Search("f", "emicizumab", from_year=2019, to_year=2020, types=["journal-article", "review"])
    expected = {short(w["id"]) for w in hits(works, r"\bemicizumab\b")
                if 2019 <= w["publication_year"] <= 2020 and w["type"] in ("journal-article", "review")}
    store = Store(tmp_path / "s.sqlite")
    r = search(store, s, None, client=client(server), progress=False)
    assert set(store.record_ids()) == expected and r["n_records"] == len(expected) > 10
    assert params_of(server.requests[0])["filter"] == "publication_year:2019-2020,type:journal-article|review"
    capped = search(Store(tmp_path / "c.sqlite"), Search("c", QUERY, max_records=30), None,
                    client=client(server, per_page=25), progress=False)
    assert capped["n_records"] == 30 and capped["capped"] and capped["requests"] == 2


def test_bad_query_fails_once_with_a_clear_error(server, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    with pytest.raises(OpenAlexError, match="HTTP 400: Invalid search") as e:
        search(store, Search("bad", "emicizumab AND ("), None, client=client(server), progress=False)
    assert e.value.status == 400 and len(server.requests) == 1
    assert store.runs("search")[0]["status"] == "failed"


def test_select_and_page_size_are_adapted_to_what_the_server_accepts(works, tmp_path):
    with OpenAlexTestServer(works, select_fields=WORK_FIELDS, max_per_page=100) as current:
        c = client(current, per_page=200)
        r = search(Store(tmp_path / "s.sqlite"), Search("haem", QUERY), None, client=c, progress=False)
        statuses = [params_of(p) for p in current.requests]
    n = len(hits(works))
    assert r["n_records"] == n
    assert "host_venue" not in c.select and "concepts" in c.select and c.per_page == 100
    assert ("host_venue" in statuses[0]["select"] and statuses[1]["per-page"] == "200"
            and "host_venue" not in statuses[1]["select"])
    assert len(statuses) == 2 + math.ceil(n / 100)


# -- snowballing ---------------------------------------------------------------------------------
def seeded_store(server, tmp_path, name="s.sqlite"):
    store = Store(tmp_path / name)
    search(store, Search("emi", "emicizumab"), None, client=client(server), progress=False)
    server.reset()
    return store


def test_backward_snowball_looks_up_100_ids_per_request(server, works, tmp_path):
    store = seeded_store(server, tmp_path)
    in_store = set(store.record_ids())
    seeds = [short(w["id"]) for w in works if short(w["id"]) in in_store]
    by_id = {short(w["id"]): w for w in works}
    wanted = {short(r) for s in seeds for r in by_id[s]["referenced_works"]} - in_store
    m = len(wanted)
    r = snowball(store, seeds=seeds, forward=False, client=client(server), progress=False, label_cited=False)
    assert r["requests"] == len(server.requests) == math.ceil(m / 100) and m > 1000
    assert all(len(params_of(p)["filter"].split("|")) <= 100 for p in server.requests)
    found = wanted & set(by_id)
    assert set(store.record_ids()) - in_store == found and r["new_records"] == r["backward"] == len(found) > 0
    assert r["not_found"] == m - len(found)
    for rid in found:  # provenance: every seed that cites it
        citing = {s for s in seeds if by_id[rid]["id"] in by_id[s]["referenced_works"]}
        rows = store.query("SELECT kind, name, locator FROM record_sources WHERE record_id=?", (rid,))
        assert {tuple(x) for x in rows} == {("snowball", "backward:d1", s) for s in citing}
    ev = store.events("identification", "snowball")
    assert len(ev) == 1 and json.loads(ev[0]["data"])["new_records"] == len(found)


def test_forward_snowball_batches_seeds_and_pages(server, works, tmp_path):
    store = seeded_store(server, tmp_path)
    in_store = set(store.record_ids())
    seeds = sorted(in_store)
    per_page = 20
    expected_requests = 0
    for i in range(0, len(seeds), 100):
        batch = {f"https://openalex.org/{s}" for s in seeds[i:i + 100]}
        n_citing = sum(1 for w in works if batch & set(w["referenced_works"]))
        expected_requests += max(1, math.ceil(n_citing / per_page))
    citing_new = {short(w["id"]) for w in works
                  if {f"https://openalex.org/{s}" for s in seeds} & set(w["referenced_works"])} - in_store
    r = snowball(store, seeds=seeds, backward=False, client=client(server, per_page=per_page), progress=False,
                 label_cited=False)
    assert len(seeds) > 100 and r["requests"] == len(server.requests) == expected_requests
    assert set(store.record_ids()) - in_store == citing_new and r["forward"] == len(citing_new) > 0
    assert all(params_of(p)["filter"].startswith("cites:") for p in server.requests)


def test_snowball_depth_and_cap(server, works, tmp_path):
    by_id = {short(w["id"]): w for w in works}
    store = seeded_store(server, tmp_path)
    in_store = set(store.record_ids())
    seeds = sorted(in_store)
    d1 = {short(r) for s in seeds for r in by_id[s]["referenced_works"]} & set(by_id) - in_store
    d2 = {short(r) for s in d1 for r in by_id[s]["referenced_works"]} & set(by_id) - in_store - d1
    r = snowball(store, seeds=seeds, forward=False, depth=2, client=client(server), progress=False)
    names = {tuple(x) for x in store.query("SELECT record_id, name FROM record_sources WHERE kind='snowball'")}
    assert {rid for rid, n in names if n == "backward:d1"} == d1
    assert {rid for rid, n in names if n == "backward:d2"} == d2 and r["new_records"] == len(d1 | d2)
    capped = snowball(seeded_store(server, tmp_path, "c.sqlite"), seeds=seeds, max_records=3,
                      client=client(server), progress=False)
    assert capped["capped"] and capped["new_records"] == 3


# -- faults: the same records, none lost, none doubled -------------------------------------------
def identify(server, path, timeout=5.0, **kw):
    store = Store(path)
    c = client(server, per_page=20, timeout=(5, timeout), **kw)
    search(store, Search("emi", "emicizumab", from_year=2019), "h", client=c, progress=False)
    snowball(store, client=c, progress=False)
    return store, c


@pytest.fixture(scope="module")
def baseline(server, tmp_path_factory):
    server.reset()
    store, c = identify(server, tmp_path_factory.mktemp("base") / "s.sqlite")
    recs, sources = contents(store)
    assert len(recs) > 100 and any(k == "snowball" for _, k, _, _ in sources)
    yield (recs, sources), c.n_requests
    server.reset()


FAULTS = [
    ("429", dict(every=3, retry_after=3)),
    ("500", dict(every=4)),
    ("503", dict(at=[1, 2, 3, 10, 11])),
    ("slow", dict(at=[2, 15], delay=1.5)),
    ("truncate", dict(every=5)),
    ("invalid_json", dict(every=5)),
    ("reset", dict(every=4)),
    ("repeat_cursor", dict(every=2)),
]


@pytest.mark.parametrize("kind,how", FAULTS, ids=[k for k, _ in FAULTS])
def test_faults_change_nothing_in_the_result(server, baseline, tmp_path, kind, how):
    server.inject(kind, **how)
    sleeps = []
    store, c = identify(server, tmp_path / "s.sqlite", timeout=0.6 if kind == "slow" else 5.0, sleeps=sleeps)
    fired = sum(e["fault"] == kind for e in server.log)
    retries = c.n_requests - baseline[1]
    assert len(sleeps) == retries >= 2  # every retry waited first
    if kind == "repeat_cursor":  # harmless on id look-ups (no cursor) and on empty pages
        assert retries <= fired
    elif kind == "slow":  # a loaded machine may time out once more
        assert retries >= fired
    else:
        assert retries == fired  # each fault cost exactly one retry
    assert contents(store) == baseline[0]
    if kind == "429":
        assert min(sleeps) >= 3  # Retry-After honoured


def test_random_mixed_faults(server, baseline, tmp_path):
    for i, kind in enumerate(["429", "500", "503", "truncate", "invalid_json", "reset", "repeat_cursor"]):
        server.inject(kind, probability=0.06, seed=i, retry_after=1)
    store, c = identify(server, tmp_path / "s.sqlite")
    assert sum(e["fault"] is not None for e in server.log) >= 5
    assert contents(store) == baseline[0]


# -- interruption and resume ---------------------------------------------------------------------
SMALL = Search("emi", "emicizumab", from_year=2019)  # 101 works
KILLED = """
import sys
from review.sources.openalex import Client
from review.stages.search import search
from review.core.protocol import Search
from review.core.store import Store
search(Store(sys.argv[1]), Search("emi", "emicizumab", from_year=2019), "h", client=Client(sys.argv[2], per_page=10),
       progress=False)
"""


def test_killed_run_resumes_from_its_checkpoint(server, works, tmp_path):
    n = sum(w["publication_year"] >= 2019 for w in hits(works, r"\bemicizumab\b"))
    pages, k = math.ceil(n / 10), 4
    ref = Store(tmp_path / "ref.sqlite")
    search(ref, SMALL, "h", client=client(server, per_page=10), progress=False)
    assert ref.count_records() == n
    server.reset()

    server.inject("slow", at=[k + 1], delay=20)  # request k+1 hangs: the process is killed while it waits
    path = tmp_path / "killed.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path), server.url], env=env)
    deadline = time.time() + 60
    while len(server.requests) < k + 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert len(server.requests) == k + 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    store = Store(path)
    assert store.integrity_ok()
    run_row = store.runs("search")[0]
    assert run_row["status"] == "running"  # until a writer opens the store: then the killed run is interrupted
    store.acquire_writer("review search")
    run_row = store.runs("search")[0]
    assert run_row["status"] == "interrupted"
    assert store.checkpoint(run_row["id"], "cursor")["page"] == k
    assert store.count_records() == k * 10  # every finished page, nothing of the unfinished one

    server.reset()
    r = search(store, SMALL, "h", client=client(server, per_page=10), progress=False)
    assert r["resumed"] and r["pages"] == len(server.requests) == pages - k
    assert params_of(server.requests[0])["cursor"] != "*"
    assert contents(store) == contents(ref)
    assert store.runs("search")[0]["status"] == "done" and len(store.runs("search")) == 1


def test_failed_run_resumes_without_refetching(server, works, tmp_path):
    ref = Store(tmp_path / "ref.sqlite")
    search(ref, SMALL, "h", client=client(server, per_page=10), progress=False)
    server.reset()
    server.inject("500", at=[4])
    store = Store(tmp_path / "s.sqlite")
    with pytest.raises(OpenAlexError, match="no valid reply after 1 attempts.*run the same command again"):
        search(store, SMALL, "h", client=client(server, per_page=10, max_retries=0), progress=False)
    assert store.runs("search")[0]["status"] == "failed" and store.count_records() == 30
    server.reset()
    r = search(store, SMALL, "h", client=client(server, per_page=10), progress=False)
    assert r["resumed"] and len(server.requests) == math.ceil(ref.count_records() / 10) - 3
    assert contents(store) == contents(ref)


# -- pyalex, the stage, the CLI and secrets ------------------------------------------------------
def test_pyalex_unmodified_talks_to_the_server(server, works):
    emi = {w["id"] for w in hits(works, r"\bemicizumab\b")}
    with pyalex_base_url(server.url):
        page = pyalex.Works().search("emicizumab").filter(publication_year=2020).get(per_page=50)
        assert page.meta["count"] == sum(works_by(works, emi, year=2020))
        paged = [w["id"] for p in pyalex.Works().search("emicizumab").paginate(per_page=40) for w in p]
        assert sorted(paged) == sorted(emi)
        one = pyalex.Works()[short(works[2]["id"])]
        assert one["abstract"] == text_of(works[2])[len(works[2]["title"]) + 1:]
        two = pyalex.Works()[[short(works[0]["id"]), short(works[1]["id"])]]
        assert {w["id"] for w in two} == {works[0]["id"], works[1]["id"]}
    assert len(server.requests) == 1 + math.ceil(len(emi) / 40) + 1 + 1 + 1
    assert pyalex.api._get_requests_session.__module__ == "pyalex.api"  # restored


def works_by(works, ids, year):
    return (w["id"] in ids and w["publication_year"] == year for w in works)


PROTO = """
id = "oa"
title = "OpenAlex stage"

[[searches]]
name = "haem"
query = "emicizumab OR hemophilia OR haemophilia"

[snowball]
backward = true
forward = true
depth = 1
max_records = 5
"""


def test_stage_run_records_versions_and_events(server, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    p = loads(PROTO)
    out = run(store, p, progress=False, client=client(server))
    assert out["searches"]["haem"]["n_records"] > 150 and out["snowball"]["new_records"] == 5
    assert out["snowball"]["capped"]
    for row in store.runs():
        versions = json.loads(row["tool_versions"])
        assert {"review", "pyalex", "python"} <= set(versions) and row["protocol_hash"] == p.hash
    assert [e["kind"] for e in store.events("identification")] == ["search", "snowball"]
    server.reset()
    again = run(store, p, progress=False, client=client(server))
    assert again["searches"]["haem"]["skipped"] and again["snowball"]["skipped"] and server.requests == []


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("OPENALEX_URL", "http://127.0.0.1:9/x/")
    assert Client().base == "http://127.0.0.1:9/x"
    assert Client().url(pyalex.Works().search("a b")) == "http://127.0.0.1:9/x/works?search=a+b"


KEY = "KEYMARKER-7f3a9c1e5b"
MAIL = "mailmarker-4d2e@example.org"


def test_secrets_never_written_or_logged(server, tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("OPENALEX_API_KEY", KEY)
    monkeypatch.setenv("OPENALEX_EMAIL", MAIL)
    monkeypatch.setenv("OPENALEX_URL", server.url)
    caplog.set_level(logging.DEBUG)
    server.inject("429", every=4)
    server.inject("reset", every=7)
    store, c = identify(server, tmp_path / "s.sqlite")
    assert c.api_key == KEY and c.email == MAIL
    assert any("retry" in m for m in caplog.messages)
    server.reset()
    server.inject("500", every=1)
    with pytest.raises(OpenAlexError) as e:
        search(store, Search("other", "hemophilia"), None, client=client(server, max_retries=1), progress=False)
    errors = [str(e.value)]
    server.reset()
    # the CLI path: protocol → review search → OpenAlex (URL from the environment)
    (tmp_path / "p.toml").write_text(PROTO.replace("max_records = 5", "max_records = 2"))
    assert cli.main(["search", str(tmp_path / "p.toml"), "--store", str(tmp_path / "cli.sqlite"), "-q"]) == 0
    sent = server.log[0]["headers"]
    assert sent["Authorization"] == f"Bearer {KEY}" and MAIL in sent["From"]  # they were used …
    store.close()
    out = capsys.readouterr()
    texts = [caplog.text, out.out, out.err, *errors, *server.requests]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    # the CLI closes its store when the command ends, so the WAL is checkpointed into cli.sqlite (read below)
    assert any(p.name == "cli.sqlite" for p in files)
    for secret in (KEY, MAIL, MAIL.replace("@", "%40")):  # … and never written or logged
        assert not any(secret in t for t in texts)
        assert not any(secret.encode() in p.read_bytes() for p in files)


# -- labels of cited works (issue #13 item 16) --------------------------------------------------------
def test_cited_works_are_labelled_in_batches_and_stay_out_of_the_review(server, works, tmp_path):
    from review.core.queries import counts, pool_ids, store_lookup
    from review.networks.build import UNKNOWN_WORK, build
    from review.sources.openalex import LABEL_SELECT
    from review.stages.search import label_cited_works

    store = seeded_store(server, tmp_path)
    by_id = {short(w["id"]): w for w in works}
    in_store = set(store.record_ids())
    cited = {}
    for s in in_store:
        for ref in set(by_id[s]["referenced_works"]):
            cited[short(ref)] = cited.get(short(ref), 0) + 1
    wanted = {x for x, n in cited.items() if n >= 2} - in_store
    found = wanted & set(by_id)
    assert len(wanted) > 300 and 10 < len(found) < len(wanted)
    before = (store.count_records(), counts(store), pool_ids(store), store.record_ids(unique=True))

    r = label_cited_works(store, client(server), progress=False)
    assert r == {"cited": len(wanted), "labelled": len(found), "not_found": len(wanted) - len(found),
                 "requests": math.ceil(len(wanted) / 100)}
    assert len(server.requests) == r["requests"]
    asked = [params_of(p) for p in server.requests]
    assert all(p["select"] == ",".join(LABEL_SELECT) for p in asked)
    ids = [x for p in asked for x in p["filter"].removeprefix("ids.openalex:").split("|")]
    assert all(p["filter"].startswith("ids.openalex:") for p in asked) and sorted(ids) == sorted(wanted)
    assert all(len(p["filter"].split("|")) <= 100 for p in asked)
    kept = store.cited_works(found)
    some = sorted(found)[0]
    w = by_id[some]
    assert kept[some]["title"] == w["title"] and kept[some]["year"] == w["publication_year"]
    assert kept[some]["authors"][0] == w["authorships"][0]["author"]["display_name"]
    # not records of the review: nothing that dedup, screening or PRISMA read has changed
    assert (store.count_records(), counts(store), pool_ids(store), store.record_ids(unique=True)) == before
    assert not (set(store.record_ids()) & wanted)
    server.reset()
    assert label_cited_works(store, client(server), progress=False)["requests"] == 0 and server.requests == []

    # offline (no server involved): co-citation labels from what the store knows, ids kept out of labels
    records = [store.record(i) for i in sorted(in_store)]
    net = build(records, "cocitation", max_nodes=None, lookup=store_lookup(store))
    labels = dict(zip(net.ids, net.labels))
    surname = w["authorships"][0]["author"]["display_name"].split()[-1]
    assert labels[some] == f"{surname} ({w['publication_year']})"  # cited twice or more: a node
    shown_found = [x for x in net.ids if x in found]
    assert shown_found and all(labels[x] != UNKNOWN_WORK for x in shown_found)
    unknown = [x for x in net.ids if x not in found and x not in in_store]
    assert unknown and all(labels[x] == UNKNOWN_WORK for x in unknown)
    assert not any(re.search(r"\bW\d{5,}\b", label) for label in net.labels)


def test_stage_labels_cited_works_once_after_searches_and_snowball(server, tmp_path):
    store = Store(tmp_path / "s.sqlite")
    out = run(store, loads(PROTO), progress=False, client=client(server))
    labelled = out["cited_works"]
    assert labelled["cited"] > 0 and labelled["requests"] == math.ceil(labelled["cited"] / 100)
    assert "cited_works" not in out["snowball"]  # looked up once, after the snowball's records are in
    assert [r["kind"] for r in store.runs()] == ["search", "snowball", "labels"]
    assert len(store.cited_work_ids()) == labelled["cited"]
