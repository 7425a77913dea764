"""An OpenAlex-compatible HTTP server for tests and offline work.

Serves a fixed set of OpenAlex works on ``127.0.0.1`` with the part of the API
this package (and pyalex) uses:

- ``/works`` with ``search`` (boolean text, matched like :mod:`review.core.search_query` on
  title and abstract), ``filter`` (``key:value`` joined by ``,`` = AND; ``a|b`` = OR;
  ``!value`` = NOT; at most 100 OR values, as OpenAlex), ``per-page``/``per_page``
  (1–200, else 400), ``cursor`` (``*`` then ``meta.next_cursor``; the end is an empty
  page with ``next_cursor: null``, as OpenAlex), ``page``, ``select`` (top-level
  fields; an unknown field is a 400) and ``meta.count``;
- ``/works/{id}`` (``W…``, an OpenAlex URL or ``doi:…``).

Filters: ``ids.openalex`` / ``openalex_id`` / ``openalex`` / ``id``, ``doi``,
``cites`` (alias ``referenced_works``), ``cited_by``, ``publication_year``
(``2000``, ``2000-2020``, ``>1999``, ``<2021``), ``from_publication_date``,
``to_publication_date``, ``type``, ``language``, ``has_abstract``, ``has_doi``,
``title.search``, ``abstract.search``, ``title_and_abstract.search``.

Faults can be switched on per request number or at random with a seed
(:meth:`OpenAlexTestServer.inject`): ``429`` (with ``Retry-After``), ``500``,
``503``, ``slow`` (reply after a delay), ``truncate`` (body cut short, connection
closed), ``invalid_json``, ``reset`` (connection reset, no reply) and
``repeat_cursor`` (``next_cursor`` points at the page just served).

Example
-------
>>> with OpenAlexTestServer("bib/synergy_openalex.jsonl.gz") as server:  # doctest: +SKIP
...     requests.get(server.url + "/works?search=nocebo").json()["meta"]["count"]
"""
from __future__ import annotations

import base64
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from review.core.errors import QueryError
from review.core.search_query import matches, parse
from review.core.text import fold, normalize_doi, rebuild_abstract, short_openalex_id

MAX_PER_PAGE = 200
MAX_OR_VALUES = 100
FAULTS = ("429", "500", "503", "slow", "truncate", "invalid_json", "reset", "repeat_cursor")

# Top-level fields of an OpenAlex Work (current schema); `select` also accepts any field the served works have.
WORK_FIELDS = frozenset("""
id doi title display_name publication_year publication_date ids language primary_location type type_crossref
indexed_in open_access authorships institution_assertions countries_distinct_count institutions_distinct_count
corresponding_author_ids corresponding_institution_ids apc_list apc_paid fwci has_fulltext fulltext_origin
cited_by_count citation_normalized_percentile cited_by_percentile_year biblio is_retracted is_paratext primary_topic
topics keywords concepts mesh locations_count locations best_oa_location sustainable_development_goals grants
datasets versions referenced_works_count referenced_works related_works abstract_inverted_index counts_by_year
updated_date created_date
""".split())


@dataclass
class Fault:
    """One switchable fault: which requests it hits and how."""

    kind: str
    at: frozenset[int] = frozenset()  # request numbers (1-based, since the last reset)
    every: int | None = None  # every N-th request
    probability: float = 0.0
    retry_after: int = 1  # seconds, for 429
    delay: float = 2.0  # seconds, for slow
    rng: random.Random = field(default_factory=random.Random)

    def hits(self, n: int) -> bool:
        if n in self.at or (self.every and n % self.every == 0):
            return True
        return self.probability > 0 and self.rng.random() < self.probability


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset]).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        (offset,) = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(offset)
    except (ValueError, TypeError) as e:
        raise _BadRequest(f"'{cursor}' is not a valid cursor") from e


class _Index:
    """The served works and the lookups filters need."""

    def __init__(self, works: Iterable[dict]):
        self.works: list[dict] = []
        self.oid: dict[int, str] = {}  # id(work) -> W…
        self.by_id: dict[str, dict] = {}
        self.by_doi: dict[str, dict] = {}
        for w in works:
            oid = short_openalex_id(w.get("id"))
            if not oid or oid in self.by_id:
                continue
            self.works.append(w)
            self.by_id[oid] = w
            self.oid[id(w)] = oid
            doi = normalize_doi(w.get("doi") or (w.get("ids") or {}).get("doi"))
            if doi:
                self.by_doi.setdefault(doi, w)
        self.fields = WORK_FIELDS.union(*(w.keys() for w in self.works)) if self.works else WORK_FIELDS
        self._folded: dict[int, str] = {}
        self._refs: dict[int, set[str]] = {}

    def folded(self, w: dict, part: str = "both") -> str:
        if part == "title":
            return fold(w.get("title") or w.get("display_name") or "")
        if part == "abstract":
            return fold(rebuild_abstract(w.get("abstract_inverted_index")))
        key = id(w)
        if key not in self._folded:
            self._folded[key] = fold(f"{w.get('title') or w.get('display_name') or ''}\n"
                                     f"{rebuild_abstract(w.get('abstract_inverted_index'))}")
        return self._folded[key]

    def refs(self, w: dict) -> set[str]:
        key = id(w)
        if key not in self._refs:
            self._refs[key] = {r for r in map(short_openalex_id, w.get("referenced_works") or []) if r}
        return self._refs[key]

    def lookup(self, ident: str) -> dict | None:
        ident = unquote(ident)
        if ident.lower().startswith("doi:") or "doi.org/" in ident.lower() or ident.startswith("10."):
            doi = normalize_doi(ident[4:] if ident.lower().startswith("doi:") else ident)
            return self.by_doi.get(doi) if doi else None
        oid = short_openalex_id(ident)
        return self.by_id.get(oid) if oid else None


def _year_test(value: str) -> Callable[[Any], bool]:
    try:
        if value.startswith(">"):
            lo = int(value[1:])
            return lambda y: y is not None and y > lo
        if value.startswith("<"):
            hi = int(value[1:])
            return lambda y: y is not None and y < hi
        if "-" in value.strip("-"):
            a, b = value.split("-", 1)
            lo, hi = int(a), int(b)
            return lambda y: y is not None and lo <= y <= hi
        exact = int(value)
        return lambda y: y == exact
    except ValueError:
        raise _BadRequest(f"Invalid filter: publication_year:{value} "
                          "(expected a year, a range or >/< a year)") from None


def _date(value: str, key: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        try:
            return date(int(value), 1, 1).isoformat()
        except ValueError:
            raise _BadRequest(f"Invalid filter: {key}:{value} (expected YYYY-MM-DD)") from None


def _values_test(index: _Index, key: str, values: list[str]) -> Callable[[dict], bool]:
    """A predicate true when a work matches any of ``values`` (without ``!``) for filter ``key``."""
    if key in ("ids.openalex", "openalex_id", "openalex", "id"):
        oids = {short_openalex_id(v) for v in values}
        return lambda w: index.oid[id(w)] in oids
    if key == "doi":
        dois = {normalize_doi(v) for v in values} - {None}
        return lambda w: normalize_doi(w.get("doi") or (w.get("ids") or {}).get("doi")) in dois
    if key in ("cites", "referenced_works"):
        cited = {short_openalex_id(v) for v in values}
        return lambda w: not cited.isdisjoint(index.refs(w))
    if key == "cited_by":
        refs: set[str] = set()
        for v in values:
            citing = index.lookup(v)
            refs |= index.refs(citing) if citing else set()
        return lambda w: index.oid[id(w)] in refs
    if key in ("type", "language"):
        wanted = {v.lower() for v in values}
        return lambda w: (w.get(key) or "").lower() in wanted
    tests = [_value_test(index, key, v) for v in values]
    return lambda w: any(t(w) for t in tests)


def _value_test(index: _Index, key: str, value: str) -> Callable[[dict], bool]:
    """A predicate for one filter value of the keys without a set lookup."""
    if key == "publication_year":
        test = _year_test(value)
        return lambda w: test(w.get("publication_year"))
    if key in ("from_publication_date", "to_publication_date"):
        d = _date(value, key)
        if key.startswith("from"):
            return lambda w: bool(w.get("publication_date")) and w["publication_date"] >= d
        return lambda w: bool(w.get("publication_date")) and w["publication_date"] <= d
    if key in ("has_abstract", "has_doi"):
        want = value.lower() == "true"
        attr = "abstract_inverted_index" if key == "has_abstract" else "doi"
        return lambda w: bool(w.get(attr)) == want
    if key in ("title.search", "abstract.search", "title_and_abstract.search", "default.search"):
        node = _parse_search(value)
        part = key.split(".")[0] if key.startswith(("title.", "abstract.")) else "both"
        return lambda w: matches(node, index.folded(w, part))
    raise _BadRequest(f"{key} is not a valid field to filter works by")


def _parse_search(text: str):
    try:
        return parse(text)
    except QueryError as e:
        raise _BadRequest(f"Invalid search: {e}") from None


def _filter(index: _Index, spec: str) -> Callable[[dict], bool]:
    tests: list[Callable[[dict], bool]] = []
    for part in (p for p in spec.split(",") if p):
        key, sep, value = part.partition(":")
        if not sep or not value:
            raise _BadRequest(f"Invalid filter: {part!r} (expected key:value)")
        negate = value.startswith("!")
        values = value[1:].split("|") if negate else value.split("|")
        if len(values) > MAX_OR_VALUES:
            raise _BadRequest(f"Maximum number of values exceeded for {key}. "
                              f"Decrease values to {MAX_OR_VALUES} or below.")
        test = _values_test(index, key, values)
        tests.append((lambda w, t=test: not t(w)) if negate else test)
    return lambda w: all(t(w) for t in tests)


class OpenAlexTestServer:
    """A local OpenAlex-compatible server in a background thread.

    Parameters
    ----------
    works : iterable of dict, or path
        OpenAlex Work objects, or a file/folder :func:`review.sources.snapshot.iter_works` reads.
    port : int
        0 picks a free port.
    latency : float
        Seconds added to every reply (to imitate a remote server in benchmarks).
    select_fields : set of str, optional
        The fields ``select`` accepts; default: current OpenAlex Work fields plus the served works' fields.
    max_per_page : int
        Largest ``per-page`` accepted (OpenAlex: 200).

    Attributes
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:53211`` (after :meth:`start` or ``with``).
    requests : list of str
        Path and query of every request since the last :meth:`reset`, in order.
    log : list of dict
        The same requests with status, fault and the headers the client sent.
    """

    def __init__(self, works: Iterable[dict] | str | Path, port: int = 0, host: str = "127.0.0.1",
                 latency: float = 0.0, select_fields: Iterable[str] | None = None, max_per_page: int = MAX_PER_PAGE):
        if isinstance(works, (str, Path)):
            from review.sources.snapshot import iter_works

            works = (w for _, w in iter_works(works))
        self.index = _Index(works)
        self.select_fields = frozenset(select_fields) if select_fields is not None else self.index.fields
        self.host, self.port, self.latency, self.max_per_page = host, port, latency, max_per_page
        self.requests: list[str] = []
        self.log: list[dict] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], list[dict]] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; call start() or use it in a with-block")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> OpenAlexTestServer:
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = _QuietServer((self.host, self.port), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="openalex-test-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAlexTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- faults and counters --------------------------------------------------------------
    def inject(self, kind: str, *, at: Iterable[int] = (), every: int | None = None, probability: float = 0.0,
               seed: int = 0, retry_after: int = 1, delay: float = 2.0) -> Fault:
        """Switch on a fault for request numbers ``at``, every ``every``-th request, or with ``probability``."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        f = Fault(kind, frozenset(at), every, probability, retry_after, delay, random.Random(seed))
        with self._lock:
            self.faults.append(f)
        return f

    def reset(self, faults: bool = True) -> None:
        """Forget the request log (and, by default, the faults)."""
        with self._lock:
            self.requests.clear()
            self.log.clear()
            if faults:
                self.faults.clear()

    def _next_request(self, path: str, headers: dict) -> tuple[int, Fault | None]:
        with self._lock:
            self.requests.append(path)
            n = len(self.requests)
            fault = next((f for f in self.faults if f.hits(n)), None)
            self.log.append({"n": n, "path": path, "fault": fault.kind if fault else None, "headers": headers})
            return n, fault

    # -- the API --------------------------------------------------------------------------
    def respond(self, path: str, params: dict[str, str]) -> tuple[int, dict]:
        """Status and JSON body for a request (no faults)."""
        try:
            path = path.rstrip("/")
            if path != "/works" and not path.startswith("/works/"):
                raise _BadRequest(f"no such endpoint: {path}", 404)
            select = self._select(params.get("select"))
            if path == "/works":
                return 200, self._list(params, select)
            ident = path[len("/works/"):]  # W…, an OpenAlex URL or doi:10.x/… (may contain '/')
            w = self.index.lookup(ident)
            if w is None:
                raise _BadRequest(f"Work {unquote(ident)} not found", 404)
            return 200, self._project(w, select)
        except _BadRequest as e:
            error = "Invalid query parameters error." if e.status == 400 else "Not found"
            return e.status, {"error": error, "message": str(e)}

    def _select(self, value: str | None) -> list[str] | None:
        if not value:
            return None
        fields = [f.strip() for f in value.split(",") if f.strip()]
        for f in fields:
            if f not in self.select_fields:
                raise _BadRequest(f"{f} is not a valid select field. Valid fields for select are: "
                                  + ", ".join(sorted(self.select_fields)) + ".")
        return fields

    def _hits(self, filter_: str, search: str) -> list[dict]:
        """The works matching a filter and search text (cached: cursor paging asks the same query per page)."""
        key = (filter_, search)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        hits = self.index.works
        if filter_:
            test = _filter(self.index, filter_)
            hits = [w for w in hits if test(w)]
        if search:
            node = _parse_search(search)
            hits = [w for w in hits if matches(node, self.index.folded(w))]
        with self._lock:
            if len(self._cache) >= 256:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = hits
        return hits

    @staticmethod
    def _project(w: dict, select: list[str] | None) -> dict:
        return w if select is None else {k: w.get(k) for k in select}

    def _list(self, params: dict[str, str], select: list[str] | None) -> dict:
        per_page_s = params.get("per-page", params.get("per_page", "25"))
        try:
            per_page = int(per_page_s)
        except ValueError:
            raise _BadRequest(f"per-page must be an integer, not {per_page_s!r}") from None
        if not 1 <= per_page <= self.max_per_page:
            raise _BadRequest(f"per-page parameter must be between 1 and {self.max_per_page}")
        hits = self._hits(params.get("filter") or "", params.get("search") or "")
        cursor = params.get("cursor")
        page: int | None = None
        if cursor is not None:
            offset = 0 if cursor == "*" else _decode_cursor(cursor)
        else:
            try:
                page = int(params.get("page", "1"))
            except ValueError:
                raise _BadRequest("page must be an integer") from None
            if page < 1 or page * per_page > 10000:
                raise _BadRequest("Maximum results size of 10,000 records is exceeded; use cursor paging")
            offset = (page - 1) * per_page
        results = hits[offset:offset + per_page]
        next_cursor = _encode_cursor(offset + len(results)) if cursor is not None and results else None
        meta = {"count": len(hits), "db_response_time_ms": 1, "page": page, "per_page": per_page,
                "next_cursor": next_cursor, "groups_count": None}
        return {"meta": meta, "results": [self._project(w, select) for w in results], "group_by": []}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # injected resets and client timeouts are expected
        pass


class _Handler(BaseHTTPRequestHandler):
    app: OpenAlexTestServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; no 40 ms delayed-ACK stalls
    server_version = "OpenAlexTestServer"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        n, fault = self.app._next_request(self.path, dict(self.headers))
        if self.app.latency:
            time.sleep(self.app.latency)
        kind = fault.kind if fault else None
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if kind in ("429", "500", "503"):
            extra = {"Retry-After": str(fault.retry_after)} if kind == "429" else {}
            body = {"error": "Rate limit exceeded" if kind == "429" else "Server error",
                    "message": f"injected fault on request {n}"}
            self._send(int(kind), json.dumps(body).encode(), extra)
            return
        if kind == "slow":
            time.sleep(fault.delay)
        status, body = self.app.respond(split.path, params)
        if kind == "repeat_cursor" and status == 200 and "meta" in body:
            body = {**body, "meta": {**body["meta"], "next_cursor": params.get("cursor")}}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if kind == "invalid_json":
            data = data[: len(data) // 2] + b"\x00}<html>"
        if kind == "truncate":
            self._send(status, data, length=len(data), cut=max(1, len(data) // 2))
            return
        self._send(status, data)

    def _send(self, status: int, data: bytes, extra: dict | None = None, length: int | None = None,
              cut: int | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(length if length is not None else len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data[:cut] if cut else data)
            self.wfile.flush()
            if cut:
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout on a slow reply)


def serve(path: str | Path, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serve the works in ``path`` until interrupted (``review serve-openalex``)."""
    server = OpenAlexTestServer(path, port=port, host=host).start()
    print(f"serving {len(server.index.works)} works at {server.url}  (OPENALEX_URL={server.url}; Ctrl-C stops)",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
