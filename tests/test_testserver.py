"""The OpenAlex-compatible test server: API subset and switchable faults, checked over real HTTP."""
import gzip
import json
import math
import re

import pytest
import requests

from review.ui.testserver import OpenAlexTestServer

FIXTURE = "openalex/works.jsonl.gz"


@pytest.fixture(scope="module")
def works(request):
    path = request.config.rootpath / "tests" / "data" / FIXTURE
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def server(works):
    with OpenAlexTestServer(works) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(server):
    server.reset()


def get(server, path="/works", **params):
    return requests.get(server.url + path, params=params, timeout=5)


def short(w):
    return w["id"].rsplit("/", 1)[1]


def text_of(w):
    inv = w.get("abstract_inverted_index") or {}
    words = sorted((p, word) for word, ps in inv.items() for p in ps)
    return (w["title"] or "") + " " + " ".join(word for _, word in words)


def test_search_counts_and_cursor_paging_return_every_hit_once(server, works):
    expected = [short(w) for w in works if re.search(r"\bemicizumab\b", text_of(w), re.IGNORECASE)]
    got, cursor, pages = [], "*", 0
    while True:
        body = get(server, search="emicizumab", cursor=cursor, **{"per-page": 40}).json()
        pages += 1
        assert body["meta"]["count"] == len(expected)
        if not body["results"]:
            assert body["meta"]["next_cursor"] is None  # the end, as OpenAlex: an empty page
            break
        got += [short(w) for w in body["results"]]
        cursor = body["meta"]["next_cursor"]
    assert sorted(got) == sorted(expected) and len(got) == len(set(got))
    assert pages == math.ceil(len(expected) / 40) + 1
    assert len(server.requests) == pages and server.requests[0].startswith("/works?search=emicizumab")


def test_basic_paging_and_page_size_limits(server, works):
    p2 = get(server, page=2, per_page=100).json()  # per_page (underscore) is accepted too
    assert [short(w) for w in p2["results"]] == [short(w) for w in works[100:200]]
    assert p2["meta"]["page"] == 2 and p2["meta"]["count"] == len(works)
    r = get(server, **{"per-page": 201})
    assert r.status_code == 400 and "per-page" in r.json()["message"]
    assert get(server, **{"per-page": 0}).status_code == 400


def test_filters(server, works):
    ids = [short(w) for w in works[:5]]
    r = get(server, filter="ids.openalex:" + "|".join(ids), **{"per-page": 100}).json()
    assert {short(w) for w in r["results"]} == set(ids)
    assert get(server, filter="openalex:" + works[7]["id"]).json()["meta"]["count"] == 1
    too_many = "|".join(f"W{i}" for i in range(101))
    r = get(server, filter="ids.openalex:" + too_many)
    assert r.status_code == 400 and "100" in r.json()["message"]

    cited = short({"id": works[0]["referenced_works"][0]})
    citing = {short(w) for w in works if works[0]["referenced_works"][0] in w["referenced_works"]}
    r = get(server, filter=f"cites:{cited}", **{"per-page": 200}).json()
    assert {short(w) for w in r["results"]} == citing and short(works[0]) in citing

    years = [w["publication_year"] for w in works]
    assert get(server, filter="publication_year:2015-2018").json()["meta"]["count"] == \
        sum(2015 <= y <= 2018 for y in years)
    assert get(server, filter="publication_year:>2019").json()["meta"]["count"] == sum(y > 2019 for y in years)
    assert get(server, filter="publication_year:<2016,type:journal-article").json()["meta"]["count"] == \
        sum(y < 2016 and w["type"] == "journal-article" for y, w in zip(years, works))
    assert get(server, filter="from_publication_date:2020-06-01").json()["meta"]["count"] == \
        sum(w["publication_date"] >= "2020-06-01" for w in works)
    assert get(server, filter="type:!journal-article").json()["meta"]["count"] == \
        sum(w["type"] != "journal-article" for w in works)
    assert get(server, filter="type:book-chapter|proceedings-article").json()["meta"]["count"] == \
        sum(w["type"] in ("book-chapter", "proceedings-article") for w in works)
    doi = works[3]["doi"]
    r = get(server, filter=f"doi:{doi}").json()
    assert [short(w) for w in r["results"]] == [short(works[3])]
    r = get(server, filter="publication_year:abc")
    assert r.status_code == 400 and "publication_year" in r.json()["message"]
    r = get(server, filter="author_name:x")
    assert r.status_code == 400 and "author_name" in r.json()["message"]


def test_language_filter_on_current_schema_works():
    works = [{"id": "https://openalex.org/W1", "title": "Samskabelse i kommunen", "language": "da"},
             {"id": "https://openalex.org/W2", "title": "Co-production", "language": "en"},
             {"id": "https://openalex.org/W3", "title": "Co-production, no language"}]
    with OpenAlexTestServer(works) as s:
        assert [w["id"][-2:] for w in get(s, filter="language:da|no").json()["results"]] == ["W1"]
        assert [w["id"][-2:] for w in get(s, filter="language:!da").json()["results"]] == ["W2", "W3"]
        assert get(s, search="samskabelse").json()["meta"]["count"] == 1


def test_select_and_single_work(server, works):
    r = get(server, select="id,title", **{"per-page": 3}).json()
    assert [set(w) for w in r["results"]] == [{"id", "title"}] * 3
    r = get(server, select="id,no_such_field")
    assert r.status_code == 400 and "no_such_field is not a valid select field" in r.json()["message"]
    w = works[11]
    assert get(server, f"/works/{short(w)}").json() == w
    assert get(server, f"/works/{w['id']}").json()["id"] == w["id"]
    assert get(server, f"/works/doi:{w['doi']}", select="id").json() == {"id": w["id"]}
    assert get(server, "/works/W1").status_code == 404
    assert get(server, "/authors").status_code == 404


def test_serves_a_snapshot_path(request):
    path = request.config.rootpath / "tests" / "data" / FIXTURE
    with OpenAlexTestServer(path) as s:
        assert get(s, **{"per-page": 1}).json()["meta"]["count"] == 258


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_status_faults(server, kind):
    server.inject(kind, at=[2], retry_after=7)
    assert get(server).status_code == 200
    r = get(server)
    assert r.status_code == int(kind)
    assert r.headers.get("Retry-After") == ("7" if kind == "429" else None)
    assert get(server).status_code == 200
    assert [e["fault"] for e in server.log] == [None, kind, None]


def test_transport_faults(server):
    server.inject("reset", at=[1])
    server.inject("truncate", at=[2])
    server.inject("invalid_json", at=[3])
    server.inject("slow", at=[4], delay=0.6)
    server.inject("repeat_cursor", at=[5])
    with pytest.raises(requests.ConnectionError):
        get(server)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(server)
    with pytest.raises(ValueError):
        get(server).json()
    with pytest.raises(requests.Timeout):
        requests.get(server.url + "/works", timeout=0.2)
    r = get(server, cursor="*").json()
    assert r["meta"]["next_cursor"] == "*" and r["results"]
    assert get(server, cursor="*").json()["meta"]["next_cursor"] != "*"


def test_every_and_random_faults_are_reproducible(server):
    server.inject("500", every=3)
    codes = [get(server).status_code for _ in range(6)]
    assert codes == [200, 200, 500, 200, 200, 500]

    def pattern(seed):
        server.reset()
        server.inject("503", probability=0.5, seed=seed)
        return [get(server).status_code for _ in range(12)]

    a = pattern(1)
    assert a == pattern(1) and 503 in a and 200 in a
    with pytest.raises(ValueError, match="unknown fault"):
        server.inject("teapot")


def test_cli_serve_openalex(request):
    import subprocess
    import sys

    path = request.config.rootpath / "tests" / "data" / FIXTURE
    proc = subprocess.Popen([sys.executable, "-m", "review.ui.cli", "serve-openalex", str(path), "--port", "0"],
                            stdout=subprocess.PIPE, text=True, cwd=request.config.rootpath)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        assert requests.get(url + "/works", params={"per-page": 1}, timeout=10).json()["meta"]["count"] == 258
    finally:
        proc.terminate()
        proc.wait(10)
    bad = subprocess.run([sys.executable, "-m", "review.ui.cli", "serve-openalex", "no/such/file.json"],
                         capture_output=True, text=True, cwd=request.config.rootpath)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: no/such/file.json: file not found"
