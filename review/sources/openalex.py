"""Retrieval from OpenAlex: the protocol's searches and citation chasing (snowballing).

Queries are built with pyalex (``Works().search(…).filter_or(…)``); requests go
through a small transport of our own, because pyalex 0.21 always sends them to
``https://api.openalex.org`` (its ``config.openalex_url`` is not used for works) and
we need resumable, checkpointed paging:

- the base URL comes from the ``base_url`` argument, else ``OPENALEX_URL``, else
  ``pyalex.config.openalex_url``, so the same code runs against OpenAlex or the local
  :mod:`review.ui.testserver`;
- cursor paging at the largest page size (``per_page``, default 200; a server that
  refuses it with a 400 naming ``per-page`` is asked again with 100), ``select`` of
  the fields :func:`review.sources.openalex_json.from_openalex` reads (a field the server does not
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
and finds citing works 100 seeds per query (``filter=cites:W1|…|W100``). Cited works
are labelled the same way, with a narrow ``select`` (:data:`LABEL_SELECT`).
"""
from __future__ import annotations

import copy
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pyalex
import requests

from review import __version__
from review.core.errors import OpenAlexError
from review.core.protocol import Search

log = logging.getLogger(__name__)

ENV_URL, ENV_EMAIL, ENV_KEY = "OPENALEX_URL", "OPENALEX_EMAIL", "OPENALEX_API_KEY"
PYALEX_URL = "https://api.openalex.org"  # what pyalex puts in every URL it builds
MAX_IDS = 100  # OpenAlex's limit of OR values in one filter
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

# Top-level fields from_openalex() reads, old (2023) and current schema names both.
SELECT = ("id", "doi", "title", "display_name", "publication_year", "publication_date", "ids", "language", "type",
          "authorships", "abstract_inverted_index", "primary_location", "host_venue", "biblio", "referenced_works",
          "cited_by_count", "concepts", "topics", "primary_topic", "keywords")
# What labelling a cited work needs (``Surname (year)``, title, venue in tooltips).
LABEL_SELECT = ("id", "doi", "title", "display_name", "publication_year", "authorships", "primary_location",
                "cited_by_count")




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
    def url(self, query: pyalex.api.BaseOpenAlex | str, **params: Any) -> str:
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
                    bad = [f for f in self.select
                           if re.search(rf"(?<![\w.]){re.escape(f)}(?![\w.])", msg.split(".")[0])]
                    log.warning("OpenAlex does not accept select field(s) %s; asking without", bad or "(all)")
                    self.select = [f for f in self.select if f not in bad] if bad else None
                elif self.per_page > 100 and ("per-page" in msg or "per_page" in msg):
                    log.warning("OpenAlex refused per-page=%d; using 100", self.per_page)
                    self.per_page = 100
                else:
                    raise

    def _select(self) -> str | None:
        return ",".join(self.select) if self.select else None

    def page(self, query: pyalex.api.BaseOpenAlex, cursor: str = "*", used: Iterable[str] = ()) -> Page:
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

    def pages(self, query: pyalex.api.BaseOpenAlex, cursor: str = "*", fetched: int = 0) -> Iterator[Page]:
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

    def with_select(self, select: Iterable[str] | None) -> Client:
        """A client like this one (same server, secrets, session, retries) asking for ``select`` only;
        it counts its own :attr:`n_requests`."""
        other = copy.copy(self)
        other.select = list(select) if select is not None else None
        other.n_requests = 0
        return other

    def works(self, ids: list[str]) -> list[dict]:
        """The works with these OpenAlex ids, 100 per request (ids OpenAlex does not know are left out)."""
        out: list[dict] = []
        for i in range(0, len(ids), MAX_IDS):
            chunk = ids[i:i + MAX_IDS]
            q = pyalex.Works().filter_or(**{"ids.openalex": chunk})
            data = self._adapting(lambda q=q, chunk=chunk: self.get_json(
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
def build_query(search: Search) -> pyalex.Works:
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
