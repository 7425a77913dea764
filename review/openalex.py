"""Retrieval from OpenAlex: the protocol's searches and citation chasing (snowballing).

Queries are built with pyalex (``Works().search(…).filter_or(…)``); requests go
through a small transport of our own, because pyalex 0.21 always sends them to
``https://api.openalex.org`` (its ``config.openalex_url`` is not used for works) and
we need resumable, checkpointed paging:

- the base URL comes from the ``base_url`` argument, else ``OPENALEX_URL``, else
  ``pyalex.config.openalex_url``, so the same code runs against OpenAlex or the local
  :mod:`review.testserver`;
- cursor paging at the largest page size (``per_page``, default 200; a server that
  refuses it with a 400 naming ``per-page`` is asked again with 100), ``select`` of
  the fields :func:`review.records.from_openalex` reads (a field the server does not
  know is dropped and the request repeated);
- polite-pool e-mail and API key from ``OPENALEX_EMAIL`` / ``OPENALEX_API_KEY``,
  sent as headers only, never in a URL; both are redacted from every message;
- retries with exponential backoff and jitter on 429 (honouring ``Retry-After``),
  5xx, timeouts, connection errors, truncated or invalid JSON and a ``next_cursor``
  that repeats one already used;
- after each page its records and the next cursor are written in one store
  transaction, so a run stopped at any point resumes where it stopped, without
  losing or repeating a page.

Citation chasing looks ids up 100 per request (``filter=ids.openalex:W1|…|W100``)
and finds citing works 100 seeds per query (``filter=cites:W1|…|W100``).
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlencode, urlsplit, urlunsplit

import pyalex
import requests
from tqdm.auto import tqdm

from . import __version__
from .protocol import Protocol, Search
from .records import Record, Source, from_openalex, short_openalex_id
from .store import Store

log = logging.getLogger(__name__)

ENV_URL, ENV_EMAIL, ENV_KEY = "OPENALEX_URL", "OPENALEX_EMAIL", "OPENALEX_API_KEY"
PYALEX_URL = "https://api.openalex.org"  # what pyalex puts in every URL it builds
MAX_IDS = 100  # OpenAlex's limit of OR values in one filter
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

# Top-level fields from_openalex() reads, old (2023) and current schema names both.
SELECT = ("id", "doi", "title", "display_name", "publication_year", "publication_date", "ids", "language", "type",
          "authorships", "abstract_inverted_index", "primary_location", "host_venue", "biblio", "referenced_works",
          "cited_by_count", "concepts", "topics", "primary_topic", "keywords")


class OpenAlexError(ValueError):
    """OpenAlex could not answer; the message says what happened and what to do (never a secret)."""

    def __init__(self, message: str, status: int | None = None, reply: str = ""):
        super().__init__(message)
        self.status, self.reply = status, reply  # HTTP status and the server's own message


@dataclass
class Page:
    """One page of a cursor-paged list."""

    cursor: str
    results: list[dict]
    next_cursor: str | None  # None: this was the last page
    count: int


def base_url(value: str | None = None) -> str:
    """The OpenAlex base URL: ``value``, else ``$OPENALEX_URL``, else ``pyalex.config.openalex_url``."""
    return (value or os.environ.get(ENV_URL) or pyalex.config.openalex_url or PYALEX_URL).rstrip("/")


def rebase(url: str, base: str) -> str:
    """``url`` built by pyalex (``https://api.openalex.org/works?…``) moved onto ``base``."""
    u, b = urlsplit(url), urlsplit(base)
    return urlunsplit((b.scheme, b.netloc, b.path.rstrip("/") + u.path, u.query, ""))


class Client:
    """A resilient OpenAlex transport for queries built with pyalex.

    Parameters
    ----------
    base : str, optional
        Base URL (see :func:`base_url`).
    email, api_key : str, optional
        Default: ``$OPENALEX_EMAIL`` / ``$OPENALEX_API_KEY`` (else pyalex's config). Sent as headers only.
    per_page : int
        Page size asked for (OpenAlex allows up to 200).
    select : sequence of str, optional
        Top-level fields to ask for; None asks for whole works.
    timeout : float or (connect, read)
        Seconds before a request counts as failed (and is retried).
    max_retries : int
        Retries of one request before giving up with :class:`OpenAlexError`.
    backoff, max_wait : float
        First retry waits about ``backoff`` seconds, doubling each time, at most ``max_wait``
        (a longer ``Retry-After`` is cut to ``max_wait``).
    sleep : callable
        ``time.sleep``; tests pass a recorder.

    Attributes
    ----------
    n_requests : int
        Requests sent, retries included.
    """

    def __init__(self, base: str | None = None, *, email: str | None = None, api_key: str | None = None,
                 per_page: int = 200, select: Iterable[str] | None = SELECT,
                 timeout: float | tuple[float, float] = (10.0, 60.0), max_retries: int = 6, backoff: float = 1.0,
                 max_wait: float = 60.0, sleep: Callable[[float], Any] = time.sleep, seed: int | None = None,
                 session: requests.Session | None = None):
        self.base = base_url(base)
        self.email = email if email is not None else os.environ.get(ENV_EMAIL) or pyalex.config.email
        self.api_key = api_key if api_key is not None else os.environ.get(ENV_KEY) or pyalex.config.api_key
        if not 1 <= per_page <= 200:
            raise ValueError(f"per_page must be between 1 and 200, not {per_page}")
        self.per_page = per_page
        self.select = list(select) if select is not None else None
        self.timeout, self.max_retries, self.backoff, self.max_wait = timeout, max_retries, backoff, max_wait
        self.sleep = sleep
        self.rng = random.Random(seed)
        self.session = session or requests.Session()
        self.n_requests = 0

    # -- secrets --------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        h = {"User-Agent": f"review/{__version__} (pyalex/{pyalex.__version__})", "Accept": "application/json"}
        if self.email:
            h["User-Agent"] = f"review/{__version__} (mailto:{self.email})"
            h["From"] = self.email
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def redact(self, text: str) -> str:
        """``text`` with the e-mail and API key (plain or URL-encoded) replaced by ``[redacted]``."""
        from urllib.parse import quote, quote_plus

        for secret in (self.api_key, self.email):
            if secret:
                for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                    text = text.replace(form, "[redacted]")
        return text

    @property
    def public_base(self) -> str:
        """The base URL without user info or query (safe to store)."""
        u = urlsplit(self.base)
        return self.redact(urlunsplit((u.scheme, u.hostname + (f":{u.port}" if u.port else "") if u.hostname else "",
                                       u.path, "", "")))

    # -- requests -------------------------------------------------------------------------
    def url(self, query: "pyalex.api.BaseOpenAlex | str", **params: Any) -> str:
        """The request URL for a pyalex query (or a path like ``/works/W1``) plus extra parameters."""
        full = rebase(query if isinstance(query, str) and query.startswith("http") else
                      (PYALEX_URL + query if isinstance(query, str) else query.url), self.base)
        extra = urlencode({k: v for k, v in params.items() if v is not None}, safe=",:*|")
        if not extra:
            return full
        return full + ("&" if urlsplit(full).query else "?") + extra

    def _wait(self, attempt: int, response: requests.Response | None = None) -> float:
        wait = min(self.max_wait, self.backoff * 2 ** attempt) * self.rng.uniform(0.5, 1.0)
        ra = response.headers.get("Retry-After") if response is not None else None
        if ra:
            try:
                seconds = float(ra)
            except ValueError:
                try:
                    seconds = parsedate_to_datetime(ra).timestamp() - time.time()
                except (TypeError, ValueError):
                    seconds = 0.0
            wait = max(wait, min(self.max_wait, seconds))
        return wait

    def get_json(self, url: str, check: Callable[[Any], str | None] | None = None) -> Any:
        """GET ``url`` and return its JSON, retrying transient failures.

        ``check(data)`` may return a reason to treat a reply as a transient failure.

        Raises
        ------
        OpenAlexError
            On a 4xx reply (``status`` set; 404 included) or when retries are used up.
        """
        problem = ""
        for attempt in range(self.max_retries + 1):
            self.n_requests += 1
            response = None
            try:
                response = self.session.get(url, headers=self._headers(), timeout=self.timeout)
                if response.status_code in RETRY_STATUS:
                    problem = f"HTTP {response.status_code}"
                elif response.status_code >= 400:
                    reply = self.redact(_message(response))
                    raise OpenAlexError(self.redact(f"{_short(url)}: HTTP {response.status_code}: {reply}"),
                                        response.status_code, reply)
                else:
                    data = response.json()
                    problem = check(data) if check else None
                    if not problem:
                        return data
            except requests.exceptions.JSONDecodeError:
                problem = "invalid JSON in the reply"
            except requests.RequestException as e:  # timeouts, resets, truncated bodies
                problem = type(e).__name__
            if attempt < self.max_retries:
                wait = self._wait(attempt, response)
                log.warning("%s", self.redact(f"OpenAlex: {problem} from {_short(url)}; retry {attempt + 1} of "
                                              f"{self.max_retries} in {wait:.1f} s"))
                self.sleep(wait)
        raise OpenAlexError(self.redact(
            f"{_short(url)}: no valid reply after {self.max_retries + 1} attempts (last: {problem}; is "
            f"{self.public_base} reachable? OPENALEX_URL sets another server). Finished pages are saved; run the "
            "same command again to resume."))

    def _adapting(self, request: Callable[[], Any]) -> Any:
        """Run ``request``; on a 400 about ``select`` or ``per-page``, adapt and repeat."""
        while True:
            try:
                return request()
            except OpenAlexError as e:
                msg = e.reply
                if e.status != 400:
                    raise
                if self.select and "select" in msg:
                    bad = [f for f in self.select if re.search(rf"(?<![\w.]){re.escape(f)}(?![\w.])", msg.split(".")[0])]
                    log.warning("OpenAlex does not accept select field(s) %s; asking without", bad or "(all)")
                    self.select = [f for f in self.select if f not in bad] if bad else None
                elif self.per_page > 100 and ("per-page" in msg or "per_page" in msg):
                    log.warning("OpenAlex refused per-page=%d; using 100", self.per_page)
                    self.per_page = 100
                else:
                    raise

    def _select(self) -> str | None:
        return ",".join(self.select) if self.select else None

    def page(self, query: "pyalex.api.BaseOpenAlex", cursor: str = "*", used: Iterable[str] = ()) -> Page:
        """One page of ``query`` at ``cursor``; a reply whose ``next_cursor`` is in ``used`` is retried."""
        used = set(used) | {cursor}

        def check(data: Any) -> str | None:
            if not isinstance(data, dict) or not isinstance(data.get("results"), list) \
                    or not isinstance(data.get("meta"), dict):
                return "a reply without meta and results"
            nxt = data["meta"].get("next_cursor")
            if data["results"] and nxt in used:
                return "a next_cursor that was already used"
            return None

        data = self._adapting(lambda: self.get_json(
            self.url(query, **{"per-page": self.per_page, "cursor": cursor, "select": self._select()}), check))
        meta = data["meta"]
        return Page(cursor, data["results"], meta.get("next_cursor") if data["results"] else None,
                    int(meta.get("count") or 0))

    def pages(self, query: "pyalex.api.BaseOpenAlex", cursor: str = "*", fetched: int = 0) -> Iterator[Page]:
        """Cursor-paged results of ``query`` from ``cursor`` (``fetched`` results already read).

        Stops as soon as ``meta.count`` results are read, so N results cost
        ⌈N / per_page⌉ requests (OpenAlex would answer one more, empty page).
        """
        used: list[str] = []
        while True:
            p = self.page(query, cursor, used[-3:])
            fetched += len(p.results)
            if fetched >= p.count or not p.results:
                p.next_cursor = None
            yield p
            if p.next_cursor is None:
                return
            used.append(cursor)
            cursor = p.next_cursor

    def works(self, ids: list[str]) -> list[dict]:
        """The works with these OpenAlex ids, 100 per request (ids OpenAlex does not know are left out)."""
        out: list[dict] = []
        for i in range(0, len(ids), MAX_IDS):
            chunk = ids[i:i + MAX_IDS]
            q = pyalex.Works().filter_or(**{"ids.openalex": chunk})
            data = self._adapting(lambda: self.get_json(
                self.url(q, **{"per-page": max(len(chunk), 1), "select": self._select()}),
                lambda d: None if isinstance(d, dict) and isinstance(d.get("results"), list)
                else "a reply without results"))
            out.extend(data["results"])
        return out


def _short(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[:limit] + "…"


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict):
            body = body.get("message") or body.get("error") or body
        return str(body)[:300]
    except ValueError:
        return response.text[:300]


@contextmanager
def pyalex_base_url(url: str | None = None) -> Iterator[None]:
    """Let pyalex itself talk to another OpenAlex-compatible server (e.g. the test server).

    pyalex 0.21 builds every URL on ``https://api.openalex.org``; inside this block its
    sessions send those requests to ``url`` instead (default :func:`base_url`).
    """
    import pyalex.api as api

    target = base_url(url)

    class Rebase(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):  # noqa: ANN001 (requests' signature)
            request.url = rebase(request.url, target)
            return super().send(request, **kwargs)

    original = api._get_requests_session

    def session() -> requests.Session:
        s = original()
        s.mount(PYALEX_URL, Rebase())
        return s

    api._get_requests_session = session
    try:
        yield
    finally:
        api._get_requests_session = original


# -- searches --------------------------------------------------------------------------------
def build_query(search: Search) -> "pyalex.Works":
    """The pyalex query of a protocol search (text + year, type and language filters)."""
    q = pyalex.Works().search(search.query)
    f: dict[str, Any] = {}
    lo, hi = search.from_year, search.to_year
    if lo and hi:
        f["publication_year"] = f"{lo}-{hi}"
    elif lo:
        f["publication_year"] = f">{lo - 1}"
    elif hi:
        f["publication_year"] = f"<{hi + 1}"
    if search.types:
        f["type"] = list(search.types)
    if search.languages:
        f["language"] = list(search.languages)
    return q.filter_or(**f) if f else q  # filter_or: list values joined by '|'; keys still AND


def _tool_versions() -> dict[str, str]:
    from .search import tool_versions

    return tool_versions()


def _resume(store: Store, kind: str, label: str, query: dict, protocol_hash: str | None) -> tuple[int, bool, bool]:
    """(run id, finished already, resumed): the unfinished run with this identity, or a new one."""
    row = store.find_run(kind, label, query, protocol_hash)
    if row is not None and row["status"] == "done":
        return row["id"], True, False
    if row is not None:
        with store.transaction():
            store.conn.execute("UPDATE runs SET status='running', finished_at=NULL WHERE id=?", (row["id"],))
        return row["id"], False, True
    return store.start_run(kind, label, query, protocol_hash, _tool_versions()), False, False


def _run_ids(store: Store, run_id: int, name: str | None = None) -> set[str]:
    sql, params = "SELECT DISTINCT record_id FROM record_sources WHERE run_id=?", [run_id]
    if name:
        sql += " AND name=?"
        params.append(name)
    return {r[0] for r in store.query(sql, params)}


def _fail(store: Store, run_id: int, client: Client, error: BaseException) -> None:
    msg = client.redact(str(error) or type(error).__name__)
    store.finish_run(run_id, "failed", n_requests=client.n_requests, info={"error": msg})


def search(store: Store, protocol_search: Search, protocol_hash: str | None = None, *, base_url: str | None = None,
           per_page: int = 200, progress: bool = True, client: Client | None = None) -> dict[str, Any]:
    """Run one protocol search on OpenAlex and store every work found.

    A finished run with the same search, query and protocol hash is not repeated; an
    unfinished one resumes from its last saved cursor.

    Returns
    -------
    dict
        ``run_id``, ``n_records`` (distinct works of this search), ``new_records``
        (not in the store before), ``count`` (OpenAlex's total), ``requests`` and ``pages``
        (in this call), ``resumed``, ``skipped``, ``capped``.
    """
    client = client or Client(base_url, per_page=per_page)
    s = protocol_search
    name = f"search:{s.name}"
    query = {"source": "openalex", "url": client.public_base, **asdict(s)}
    run_id, done, resumed = _resume(store, "search", s.name, query, protocol_hash)
    if done:
        row = store.query("SELECT n_records FROM runs WHERE id=?", (run_id,))[0]
        return {"run_id": run_id, "n_records": row[0], "skipped": True}
    state = store.checkpoint(run_id, "cursor") or {"cursor": "*", "page": 0, "fetched": 0, "new": 0, "count": None}
    seen = _run_ids(store, run_id)
    requests_before, pages = client.n_requests, 0
    q = build_query(s)
    bar = tqdm(total=state["count"], initial=state["fetched"], desc=f"OpenAlex {s.name}", unit=" works",
               disable=not progress, leave=False)
    try:
        if state["cursor"] is not None:
            for page in client.pages(q, state["cursor"], state["fetched"]):
                pages += 1
                results = page.results
                capped = s.max_records is not None and state["fetched"] + len(results) >= s.max_records
                if capped:
                    results = results[: s.max_records - state["fetched"]]
                recs, raws = [], []
                for i, w in enumerate(results):
                    rec = from_openalex(w, Source("openalex", name, f"{state['page'] + 1}:{i}"))
                    if rec.id not in seen:
                        seen.add(rec.id)
                        recs.append(rec)
                        raws.append(w)
                state = {"cursor": None if capped else page.next_cursor, "page": state["page"] + 1,
                         "fetched": state["fetched"] + len(results), "count": page.count,
                         "new": state["new"], "capped": capped}
                with store.transaction():  # the page's records and the cursor after it: both or neither
                    state["new"] += store.add_records(recs, run_id, raws, "openalex")
                    store.set_checkpoint(run_id, "cursor", state)
                bar.total = page.count
                bar.update(len(results))
                if capped:
                    break
    except BaseException as e:
        _fail(store, run_id, client, e)
        raise
    finally:
        bar.close()
    n = len(seen)
    total_requests = client.n_requests - requests_before
    store.finish_run(run_id, "done", n_records=n, n_requests=total_requests,
                     info={"count": state["count"], "new_records": state["new"], "pages": state["page"],
                           "capped": bool(state.get("capped"))})
    summary = {"run_id": run_id, "n_records": n, "new_records": state["new"], "count": state["count"],
               "requests": total_requests, "pages": pages, "resumed": resumed, "skipped": False,
               "capped": bool(state.get("capped"))}
    store.log("identification", "search", run_id=run_id, protocol_hash=protocol_hash,
              data={"search": s.name, "source": "openalex", **{k: summary[k] for k in
                                                                 ("n_records", "new_records", "count", "capped")}})
    return summary


# -- citation chasing ------------------------------------------------------------------------
def default_seeds(store: Store) -> list[str]:
    """OpenAlex ids of the unique stored records that came from a search or import (not from snowballing)."""
    rows = store.query(
        "SELECT r.openalex_id FROM records r WHERE r.openalex_id IS NOT NULL"
        " AND r.id NOT IN (SELECT record_id FROM duplicates)"
        " AND EXISTS (SELECT 1 FROM record_sources s WHERE s.record_id = r.id AND s.kind != 'snowball')"
        " ORDER BY r.rowid")
    return [r[0] for r in rows]


def snowball(store: Store, *, seeds: Iterable[str] | None = None, backward: bool = True, forward: bool = True,
             depth: int = 1, max_records: int = 5000, base_url: str | None = None, per_page: int = 200,
             progress: bool = True, client: Client | None = None,
             protocol_hash: str | None = None) -> dict[str, Any]:
    """Citation chasing from ``seeds``: the works they cite (backward) and the works citing them (forward).

    Ids are looked up 100 per request; citing works are found for 100 seeds per
    (cursor-paged) query. Works already in the store are not fetched again. Each
    level's new works are the seeds of the next, up to ``depth``; at most
    ``max_records`` new works are stored. Resumable like :func:`search`.

    Parameters
    ----------
    seeds : iterable of str, optional
        OpenAlex ids; default :func:`default_seeds`.

    Returns
    -------
    dict
        ``run_id``, ``seeds``, ``new_records``, ``backward`` / ``forward`` (new works per
        direction), ``not_found`` (cited ids OpenAlex did not return), ``requests``,
        ``capped``, ``resumed``, ``skipped``.
    """
    if depth < 1:
        raise ValueError(f"snowball depth must be 1 or more, not {depth}")
    client = client or Client(base_url, per_page=per_page)
    seed_ids = list(dict.fromkeys(i for i in map(short_openalex_id, seeds if seeds is not None
                                                 else default_seeds(store)) if i))
    if not seed_ids:
        log.warning("snowball: no seeds (no stored records with an OpenAlex id); nothing to do")
        return {"run_id": None, "seeds": 0, "new_records": 0, "requests": 0, "skipped": True}
    digest = hashlib.sha256(",".join(sorted(seed_ids)).encode()).hexdigest()[:16]
    query = {"source": "openalex", "url": client.public_base, "seeds": digest, "n_seeds": len(seed_ids),
             "backward": backward, "forward": forward, "depth": depth, "max_records": max_records}
    run_id, done, resumed = _resume(store, "snowball", "snowball", query, protocol_hash)
    if done:
        row = store.query("SELECT n_records, info FROM runs WHERE id=?", (run_id,))[0]
        return {"run_id": run_id, "seeds": len(seed_ids), "new_records": row[0], "skipped": True}
    state = store.checkpoint(run_id, "state") or {"depth": 1, "phase": "backward", "batch": 0, "cursor": "*",
                                                  "fetched": 0, "not_found": 0}
    requests_before = client.n_requests
    known = set(store.record_ids())
    phases = [p for p, on in (("backward", backward), ("forward", forward)) if on]
    bar = tqdm(total=max_records, initial=len(_run_ids(store, run_id)), desc="snowball", unit=" works",
               disable=not progress, leave=False)
    capped = False
    try:
        while state["depth"] <= depth and phases and not capped:
            d = state["depth"]
            frontier = seed_ids if d == 1 else sorted(
                _run_ids(store, run_id, f"backward:d{d - 1}") | _run_ids(store, run_id, f"forward:d{d - 1}"))
            if not frontier:
                break
            if state["phase"] not in phases:
                state = {**state, "phase": phases[0], "batch": 0, "cursor": "*", "fetched": 0}
            if state["phase"] == "backward":
                capped = _backward(store, client, run_id, d, frontier, known, state, max_records, bar)
                if not capped and "forward" in phases:
                    state = _save(store, run_id, {**state, "phase": "forward", "batch": 0, "cursor": "*", "fetched": 0})
            if state["phase"] == "forward" and not capped:
                capped = _forward(store, client, run_id, d, frontier, known, state, max_records, bar)
            state = _save(store, run_id, {**state, "depth": d + 1, "phase": phases[0], "batch": 0, "cursor": "*",
                                          "fetched": 0})
    except BaseException as e:
        _fail(store, run_id, client, e)
        raise
    finally:
        bar.close()
    found = {p: sum(len(_run_ids(store, run_id, f"{p}:d{d}")) for d in range(1, depth + 1)) for p in phases}
    n = len(_run_ids(store, run_id))
    summary = {"run_id": run_id, "seeds": len(seed_ids), "new_records": n, **found,
               "not_found": state["not_found"], "requests": client.n_requests - requests_before,
               "capped": capped, "resumed": resumed, "skipped": False}
    store.finish_run(run_id, "done", n_records=n, n_requests=summary["requests"],
                     info={k: summary[k] for k in ("seeds", *phases, "not_found", "capped")})
    store.log("identification", "snowball", run_id=run_id, protocol_hash=protocol_hash,
              data={k: summary[k] for k in ("seeds", "new_records", *phases, "not_found", "capped")}
              | {"depth": depth, "max_records": max_records})
    return summary


def _save(store: Store, run_id: int, state: dict, records: list[Record] = (), raws: list[dict] = ()) -> dict:
    """Store records and the state after them in one transaction."""
    with store.transaction():
        if records:
            store.add_records(records, run_id, raws, "openalex")
        store.set_checkpoint(run_id, "state", state)
    return state


def _room(store: Store, run_id: int, max_records: int) -> int:
    return max_records - len(_run_ids(store, run_id))


def _backward(store: Store, client: Client, run_id: int, d: int, frontier: list[str], known: set[str],
              state: dict, max_records: int, bar: tqdm) -> bool:
    """Look up the works the frontier cites (not yet stored), 100 per request. Returns True if capped."""
    cited_by: dict[str, list[str]] = {}
    for seed in frontier:
        rec = store.record(seed)
        for ref in (rec.referenced_works if rec else []):
            cited_by.setdefault(ref, []).append(seed)
    key = f"batches:backward:d{d}"
    batches = store.checkpoint(run_id, key) if state["batch"] > 0 else None
    if batches is None:  # cut once and saved, so a resumed run looks up exactly the remaining batches
        todo = [ref for ref in cited_by if ref not in known]
        batches = [todo[i:i + MAX_IDS] for i in range(0, len(todo), MAX_IDS)]
        with store.transaction():
            store.set_checkpoint(run_id, key, batches)
            store.set_checkpoint(run_id, "state", state)
    for b in range(state["batch"], len(batches)):
        room = _room(store, run_id, max_records)
        if room <= 0:
            return True
        works = client.works(batches[b])
        recs, raws = [], []
        for w in works:
            rid = short_openalex_id(w.get("id"))
            if rid in known or rid not in cited_by or len(recs) >= room:
                continue
            rec = from_openalex(w)
            rec.sources = [Source("snowball", f"backward:d{d}", seed) for seed in cited_by[rid]]
            recs.append(rec)
            raws.append(w)
            known.add(rid)
        state.update(batch=b + 1, not_found=state["not_found"] + len(batches[b]) - len(works))
        _save(store, run_id, state, recs, raws)
        bar.update(len(recs))
        if len(recs) >= room:
            return True
    return False


def _forward(store: Store, client: Client, run_id: int, d: int, frontier: list[str], known: set[str],
             state: dict, max_records: int, bar: tqdm) -> bool:
    """Find the works citing the frontier, 100 seeds per cursor-paged query. Returns True if capped."""
    batches = [frontier[i:i + MAX_IDS] for i in range(0, len(frontier), MAX_IDS)]
    for b in range(state["batch"], len(batches)):
        wanted = set(batches[b])
        q = pyalex.Works().filter_or(cites=batches[b])
        for page in client.pages(q, state["cursor"] or "*", state.get("fetched", 0)):
            room = _room(store, run_id, max_records)
            recs, raws = [], []
            for w in page.results:
                rid = short_openalex_id(w.get("id"))
                if not rid or rid in known or len(recs) >= room:
                    continue
                cited = [s for s in map(short_openalex_id, w.get("referenced_works") or []) if s in wanted]
                rec = from_openalex(w)
                rec.sources = [Source("snowball", f"forward:d{d}", seed) for seed in (cited or [""])]
                recs.append(rec)
                raws.append(w)
                known.add(rid)
            capped = len(recs) >= room
            if page.next_cursor is None or capped:
                state.update(batch=b + 1, cursor="*", fetched=0)
            else:
                state.update(cursor=page.next_cursor, fetched=state.get("fetched", 0) + len(page.results))
            _save(store, run_id, state, recs, raws)
            bar.update(len(recs))
            if capped:
                return True
    return False


# -- the stage -------------------------------------------------------------------------------
def run(store: Store, protocol: Protocol, progress: bool = True, base_url: str | None = None,
        per_page: int = 200, client: Client | None = None) -> dict[str, Any]:
    """Identification on OpenAlex: every protocol search, then snowballing as ``[snowball]`` says.

    Returns
    -------
    dict
        ``{"searches": {name: summary}, "snowball": summary}`` (no ``snowball`` key when
        the protocol has no ``[snowball]`` table or turns both directions off).
    """
    client = client or Client(base_url, per_page=per_page)
    out: dict[str, Any] = {"searches": {s.name: search(store, s, protocol.hash, client=client, progress=progress)
                                        for s in protocol.searches}}
    sb = protocol.snowball
    if sb and (sb.get("backward", True) or sb.get("forward", True)):
        out["snowball"] = snowball(store, backward=sb.get("backward", True), forward=sb.get("forward", True),
                                   depth=sb.get("depth", 1), max_records=sb.get("max_records", 5000),
                                   client=client, protocol_hash=protocol.hash, progress=progress)
    return out
