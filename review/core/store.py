"""The project store: one SQLite file per review.

Every stage reads from and writes to it, so a review can stop and resume at any
stage. Tables:

- ``records``: the normalised record (``data``, JSON of :class:`~review.core.records.Record`)
  beside the verbatim source payload (``raw``), with a few indexed columns.
- ``record_sources``: every time a record came from a source (search run, file);
  PRISMA's "records identified per source" is counted from here.
- ``runs`` and ``checkpoints``: search, snowball and import runs with their query,
  protocol hash, tool versions and resumable cursor state.
- ``events``: append-only log of every stage outcome (dedup merges, automatic
  exclusions, ...). PRISMA counts are computed from it.
- ``decisions``: append-only screening decisions (a later row for the same
  record, stage and reviewer supersedes an earlier one; ``undo`` retracts).
- ``duplicates`` / ``dedup_pairs``: which record is a duplicate of which, and the
  "maybe" pairs awaiting a human.
- ``fulltexts``: full texts the user added (path, extracted text).
- ``definitions``: definitional sentences extracted from records.
- ``artifacts``: named JSON results of later stages (clusters, networks, ...).
- ``cited_works``: what OpenAlex said about works the records cite (title, authors,
  year), to label them in maps. They are not records of the review: dedup, screening
  and PRISMA never see them.

One writer at a time: commands that run stages hold an advisory lock on ``<store>.lock``
(:meth:`Store.writing`) for as long as they run, so a second ``review run`` on the same store
waits a few seconds and then refuses, naming the process that holds it. Whoever takes the lock
marks the runs left ``running`` by a process that is gone as ``interrupted`` (they resume from
their checkpoint). Screening decisions do not need the lock: each is its own transaction, and
several reviewers may screen at once. ``Store(path, readonly=True)`` reads a store on
read-only media (nothing is written, not even the WAL mode).

Secrets (API key, e-mail) are never passed to this module.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from review.core.errors import StoreBusyError, StoreError
from review.core.records import Record

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; running one command at a time is up to the user
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 3  # 2: cited_works; 3: embeddings (an older store gains the tables when opened for writing)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS protocols (
    hash TEXT PRIMARY KEY, path TEXT, text TEXT NOT NULL, loaded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,              -- search | snowball | import | snapshot | dedup | ...
    label TEXT NOT NULL,             -- search name, file path, ...
    query TEXT,                      -- JSON: what was asked
    protocol_hash TEXT,
    tool_versions TEXT,              -- JSON
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',   -- running | done | failed | interrupted
    n_records INTEGER,
    n_requests INTEGER,
    info TEXT                        -- JSON: counts, errors, skipped entries
);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,             -- JSON
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    openalex_id TEXT, doi TEXT, pmid TEXT,
    title TEXT NOT NULL DEFAULT '', year INTEGER,
    data TEXT NOT NULL,              -- JSON of Record
    raw TEXT,                        -- verbatim source payload (OpenAlex JSON, RIS entry, ...)
    raw_format TEXT,
    added_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_doi ON records(doi);
CREATE INDEX IF NOT EXISTS records_oa ON records(openalex_id);
CREATE TABLE IF NOT EXISTS record_sources (
    record_id TEXT NOT NULL REFERENCES records(id),
    run_id INTEGER REFERENCES runs(id),
    kind TEXT NOT NULL, name TEXT NOT NULL, locator TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL,
    PRIMARY KEY (record_id, kind, name, locator));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL, stage TEXT NOT NULL, kind TEXT NOT NULL,
    record_id TEXT, run_id INTEGER, actor TEXT, protocol_hash TEXT,
    data TEXT);
CREATE INDEX IF NOT EXISTS events_stage ON events(stage, kind);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL REFERENCES records(id),
    stage TEXT NOT NULL,             -- prescreen | title_abstract | full_text | reconciled_...
    reviewer TEXT NOT NULL,
    decision TEXT NOT NULL,          -- include | exclude | maybe | undo
    criterion TEXT, note TEXT, protocol_hash TEXT,
    ts TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_rec ON decisions(stage, reviewer, record_id);
CREATE TABLE IF NOT EXISTS duplicates (
    record_id TEXT PRIMARY KEY REFERENCES records(id),
    canonical_id TEXT NOT NULL REFERENCES records(id),
    score REAL, method TEXT, run_id INTEGER, ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dedup_pairs (
    a TEXT NOT NULL, b TEXT NOT NULL, score REAL,
    status TEXT NOT NULL DEFAULT 'maybe',      -- maybe | same | different
    decided_by TEXT, ts TEXT NOT NULL, info TEXT,
    PRIMARY KEY (a, b));
CREATE TABLE IF NOT EXISTS fulltexts (
    record_id TEXT PRIMARY KEY REFERENCES records(id),
    path TEXT, text TEXT, status TEXT NOT NULL,  -- retrieved | not_retrieved
    ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS definitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL REFERENCES records(id),
    concept TEXT NOT NULL, sentence TEXT NOT NULL,
    field TEXT NOT NULL,             -- title | abstract | fulltext
    position INTEGER, pattern TEXT, cited TEXT, lang TEXT,
    run_id INTEGER, ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS artifacts (
    name TEXT PRIMARY KEY, kind TEXT, data TEXT NOT NULL, protocol_hash TEXT, ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cited_works (
    id TEXT PRIMARY KEY,             -- OpenAlex id (W...) of a cited work, never a row of records
    found INTEGER NOT NULL,          -- 0: looked up, OpenAlex did not return it
    data TEXT,                       -- JSON: title, year, authors, venue, doi, cited_by_count
    ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings (
    record_id TEXT NOT NULL REFERENCES records(id),
    model TEXT NOT NULL,             -- the embedding model's name
    text_hash TEXT NOT NULL,         -- of the embedded text: a record whose text changed is embedded again
    vector BLOB NOT NULL,            -- float32, little-endian
    ts TEXT NOT NULL,
    PRIMARY KEY (record_id, model));
"""




def now() -> str:
    """UTC timestamp with microseconds, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dumps(obj: Any) -> str | None:
    return None if obj is None else json.dumps(obj, ensure_ascii=False, sort_keys=True)


class Store:
    """A review's SQLite store.

    Parameters
    ----------
    path : str or Path
        The store file; created with the current schema if missing.
    timeout : float
        Seconds a writer waits for another process's lock before giving up.
    """

    def __init__(self, path: str | os.PathLike, timeout: float = 60.0, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._lock_file: Any = None
        self._lock_depth = 0
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, expected a review store file (.sqlite)")
        try:
            if readonly:
                if not self.path.is_file():
                    raise StoreError(f"{self.path}: review store not found")
                self.conn = self._connect_readonly(timeout)
                self._check_schema_version()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._init_schema()
        except sqlite3.DatabaseError as e:
            if "readonly" in str(e) or (self.path.exists() and not writable(self.path)):
                raise StoreError(f"{self.path}: the store is read-only (read-only media or no write permission); "
                                 "status, export, report and prisma can read it; to change it, copy it to a "
                                 "writable folder and pass --store COPY") from e
            raise StoreError(f"{self.path}: not a usable review store ({e}). "
                             "Use another path or restore a backup.") from e

    # -- basics -------------------------------------------------------------------------
    def _connect_readonly(self, timeout: float) -> sqlite3.Connection:
        """A connection that never writes: ``mode=ro``, and ``immutable=1`` where the WAL's shared memory
        cannot be made (a read-only folder)."""
        uri = self.path.resolve().as_uri() + "?mode=ro"
        for extra in ("", "&immutable=1"):
            conn = sqlite3.connect(uri + extra, uri=True, timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            try:
                conn.execute("PRAGMA query_only=ON")
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError:
                conn.close()
                if extra:
                    raise
        raise AssertionError("unreachable")

    def _check_schema_version(self) -> int | None:
        """The store's schema version (None for a new file); an error for a newer one than this code reads."""
        row = None
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            if self.readonly:
                raise StoreError(f"{self.path}: not a review store (no meta table); name the review's .sqlite file") \
                    from None
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema version {row[0]}, this version of review reads version "
                f"{SCHEMA_VERSION}. Open it with the matching version of review, or start a new store."
            )
        return int(row[0]) if row is not None else None

    def _init_schema(self) -> None:
        version = self._check_schema_version()
        with self.transaction():
            for stmt in _statements(SCHEMA):
                self.conn.execute(stmt)
            self.conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?), ('created_at', ?)",
                (str(SCHEMA_VERSION), now()),
            )
            if version is not None and version < SCHEMA_VERSION:  # migrated: SCHEMA added the new tables
                self.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.conn.close()
        if self._lock_file is not None:
            self._lock_depth = 1
            self.release_writer()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; nested calls join the outer transaction.

        A write lock held by another process is waited for (busy timeout) and the
        begin retried, so "database is locked" does not reach the user.
        """
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; this command cannot change the store")
        if self.conn.in_transaction:
            yield self.conn
            return
        for attempt in range(20):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise StoreError(f"{self.path}: another process holds the write lock for too long; try again.")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # -- one writer at a time ---------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        """The advisory lock file next to the store: ``<store>.lock``."""
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def writing(self, command: str, wait: float = 5.0) -> Iterator[Store]:
        """Hold the store's writer lock for the block (re-entrant); see :meth:`acquire_writer`."""
        self.acquire_writer(command, wait)
        try:
            yield self
        finally:
            self.release_writer()

    def acquire_writer(self, command: str, wait: float = 5.0) -> None:
        """Take the store's writer lock (``flock`` on :attr:`lock_path`), waiting up to ``wait`` seconds.

        Re-entrant: nested calls only count. The lock goes with the process: a killed process
        releases it. On taking it, runs left ``running`` by a process that is gone are marked
        ``interrupted``.

        Raises
        ------
        StoreBusyError
            Another process holds the lock; the message names it (pid, command) and what to do.
        """
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; this command cannot change the store")
        self._lock_depth += 1
        if self._lock_depth > 1 or fcntl is None:
            return
        try:
            f = open(self.lock_path, "a+", encoding="utf-8")
        except OSError as e:
            self._lock_depth -= 1
            raise StoreError(f"{self.lock_path}: cannot create the store's lock file ({e.strerror}); "
                             "the store's folder must be writable to change the store") from e
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    holder = _holder_of(f)
                    f.close()
                    self._lock_depth -= 1
                    raise StoreBusyError(self._busy_message(holder)) from None
                time.sleep(0.1)
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "command": command, "since": now()}) + "\n")
        f.flush()
        self._lock_file = f
        self.mark_interrupted_runs()

    def release_writer(self) -> None:
        """Give back one level of :meth:`acquire_writer`; the lock is released at the last."""
        if self._lock_depth == 0:
            return
        self._lock_depth -= 1
        if self._lock_depth == 0 and self._lock_file is not None:
            f, self._lock_file = self._lock_file, None
            try:
                f.truncate(0)
                fcntl.flock(f, fcntl.LOCK_UN)
            finally:
                f.close()

    def lock_holder(self) -> dict[str, Any] | None:
        """``{"pid", "command", "since"}`` of the process holding the writer lock, or None if nobody does."""
        if fcntl is None or not self.lock_path.is_file():
            return None
        if self._lock_file is not None:
            return _holder_of(self._lock_file)
        try:
            with open(self.lock_path, encoding="utf-8") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError:
                    return _holder_of(f) or {}
                fcntl.flock(f, fcntl.LOCK_UN)
                return None
        except OSError:
            return None

    def _busy_message(self, holder: dict[str, Any] | None) -> str:
        pid = (holder or {}).get("pid")
        who = (f"pid {pid}, `{holder.get('command', 'review')}` since {str(holder.get('since', '?'))[:19]} UTC"
               if pid else "another process")
        stop = f"if that process hangs, stop it (kill {pid}) and " if pid else "if it hangs, stop it and "
        return (f"{self.path}: in use by another review command ({who}); wait until it finishes and run "
                f"your command again, or {stop}run it again: finished work is kept")

    def mark_interrupted_runs(self) -> list[int]:
        """Mark ``running`` runs whose process is gone as ``interrupted``; returns their ids.

        A run's process is in its ``process`` checkpoint; a run of this process, or of another
        live process (library use without the lock), is left alone.
        """
        gone = []
        for row in self.conn.execute("SELECT id FROM runs WHERE status='running' ORDER BY id").fetchall():
            pid = (self.checkpoint(row[0], "process") or {}).get("pid")
            if pid is None or (pid != os.getpid() and not _alive(pid)):
                gone.append(int(row[0]))
        if gone:
            with self.transaction():
                for rid in gone:
                    self.conn.execute("UPDATE runs SET status='interrupted', finished_at=? WHERE id=?", (now(), rid))
                    self.log("runs", "interrupted", run_id=rid,
                             data={"reason": "its process ended before the run finished"})
        return gone

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        return self.conn.execute(sql, tuple(params)).fetchall()

    def meta(self, key: str, value: str | None = None) -> str | None:
        """Get (or with ``value``, set) a key in the ``meta`` table."""
        if value is not None:
            with self.transaction():
                self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
            return value
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # -- protocols and runs --------------------------------------------------------------
    def add_protocol(self, hash_: str, text: str, path: str | None = None) -> None:
        """Keep a protocol version and make it the store's current one (a change of version is logged)."""
        previous = self.meta("protocol_hash")
        with self.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO protocols(hash, path, text, loaded_at) VALUES (?,?,?,?)",
                (hash_, path, text, now()),
            )
            if previous != hash_:
                self.meta("protocol_hash", hash_)
                if previous is not None:
                    self.log("protocol", "changed", protocol_hash=hash_,
                             data={"from": previous, "to": hash_, "path": path})

    def review_id(self) -> str | None:
        """The id of the review (protocol ``id``) this store belongs to; None for a new store."""
        h = self.meta("protocol_hash")
        row = self.protocol(h) if h else None
        if row is None:
            return None
        import tomllib

        try:
            rid = tomllib.loads(row["text"]).get("id")
        except (tomllib.TOMLDecodeError, TypeError):
            return None
        return rid if isinstance(rid, str) else None

    def bind_protocol(self, review_id: str, hash_: str, text: str, path: str | None = None,
                      force: bool = False) -> None:
        """:meth:`add_protocol`, refusing a protocol of another review unless ``force``.

        A new version of the same review (same ``id``) is fine and is logged; a store of another
        review is rebound only with ``force`` (logged as ``protocol``/``rebound``).

        Raises
        ------
        StoreError
            The store belongs to another review and ``force`` is not set.
        """
        current = self.review_id()
        if current is not None and current != review_id:
            if not force:
                where = f" ({path})" if path else ""
                raise StoreError(f"{self.path}: this store belongs to review {current!r}, not {review_id!r}{where}; "
                                 f"use the store of review {review_id!r} (or a new --store path), or rebind this one "
                                 "with `review init PROTOCOL --store STORE --force` (its records and decisions stay)")
            self.log("protocol", "rebound", protocol_hash=hash_, data={"from_review": current, "to_review": review_id})
        self.add_protocol(hash_, text, path)

    def start_run(self, kind: str, label: str, query: Any = None, protocol_hash: str | None = None,
                  tool_versions: dict | None = None) -> int:
        """Open a run and return its id."""
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO runs(kind, label, query, protocol_hash, tool_versions, started_at) VALUES (?,?,?,?,?,?)",
                (kind, label, _dumps(query), protocol_hash, _dumps(tool_versions), now()),
            )
            run_id = int(cur.lastrowid)
            self.set_checkpoint(run_id, "process", {"pid": os.getpid()})
            return run_id

    def find_run(self, kind: str, label: str, query: Any = None,
                 protocol_hash: str | None = None) -> sqlite3.Row | None:
        """The latest run with this kind, label, query and protocol hash (to resume or skip it)."""
        return self.conn.execute(
            "SELECT * FROM runs WHERE kind=? AND label=? AND query IS ? AND protocol_hash IS ?"
            " ORDER BY id DESC LIMIT 1",
            (kind, label, _dumps(query), protocol_hash),
        ).fetchone()

    def finish_run(self, run_id: int, status: str = "done", n_records: int | None = None,
                   n_requests: int | None = None, info: Any = None) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE runs SET finished_at=?, status=?, n_records=?, n_requests=?, info=? WHERE id=?",
                (now(), status, n_records, n_requests, _dumps(info), run_id),
            )

    def runs(self, kind: str | None = None) -> list[sqlite3.Row]:
        if kind:
            return self.query("SELECT * FROM runs WHERE kind=? ORDER BY id", (kind,))
        return self.query("SELECT * FROM runs ORDER BY id")

    def set_checkpoint(self, run_id: int, key: str, value: Any) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO checkpoints(run_id, key, value, updated_at) VALUES (?,?,?,?)",
                (run_id, key, _dumps(value), now()),
            )

    def checkpoint(self, run_id: int, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM checkpoints WHERE run_id=? AND key=?", (run_id, key)).fetchone()
        return json.loads(row[0]) if row else None

    # -- records -------------------------------------------------------------------------
    def add_records(self, records: Iterable[Record], run_id: int | None = None,
                    raws: Iterable[Any] | None = None, raw_format: str | None = None) -> int:
        """Insert records (or add a source to ones already stored) in one transaction.

        A record already in the store keeps its data; the new source is added to
        ``record_sources`` and to the record's ``sources`` list. Returns how many
        records were new.
        """
        records = list(records)
        raws = list(raws) if raws is not None else [None] * len(records)
        new = 0
        ts = now()
        with self.transaction():
            for rec, raw in zip(records, raws):
                row = self.conn.execute("SELECT data FROM records WHERE id=?", (rec.id,)).fetchone()
                if row is None:
                    raw_text = raw if isinstance(raw, str) or raw is None else json.dumps(raw, ensure_ascii=False)
                    self.conn.execute(
                        "INSERT INTO records(id, openalex_id, doi, pmid, title, year, data, raw, raw_format, added_at,"
                        " updated_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (rec.id, rec.openalex_id, rec.doi, rec.pmid, rec.title, rec.year,
                         _dumps(rec.to_dict()), raw_text, raw_format, ts, ts),
                    )
                    new += 1
                else:
                    stored = Record.from_dict(json.loads(row[0]))
                    added = [s for s in rec.sources if s not in stored.sources]
                    if added:
                        stored.sources.extend(added)
                        self.conn.execute("UPDATE records SET data=?, updated_at=? WHERE id=?",
                                          (_dumps(stored.to_dict()), ts, rec.id))
                for s in rec.sources:
                    self.conn.execute(
                        "INSERT OR IGNORE INTO record_sources(record_id, run_id, kind, name, locator, added_at)"
                        " VALUES (?,?,?,?,?,?)",
                        (rec.id, run_id, s.kind, s.name, s.locator, ts),
                    )
        return new

    def update_record(self, rec: Record) -> None:
        """Replace a stored record's normalised data (e.g. after a dedup merge)."""
        with self.transaction():
            self.conn.execute(
                "UPDATE records SET openalex_id=?, doi=?, pmid=?, title=?, year=?, data=?, updated_at=? WHERE id=?",
                (rec.openalex_id, rec.doi, rec.pmid, rec.title, rec.year, _dumps(rec.to_dict()), now(), rec.id),
            )

    def record(self, record_id: str) -> Record | None:
        row = self.conn.execute("SELECT data FROM records WHERE id=?", (record_id,)).fetchone()
        return Record.from_dict(json.loads(row[0])) if row else None

    def raw(self, record_id: str) -> Any:
        """The verbatim source payload of a record (parsed JSON for OpenAlex)."""
        row = self.conn.execute("SELECT raw, raw_format FROM records WHERE id=?", (record_id,)).fetchone()
        if not row or row[0] is None:
            return None
        return json.loads(row[0]) if row[1] == "openalex" else row[0]

    def records(self, ids: Iterable[str] | None = None, unique: bool = False) -> Iterator[Record]:
        """Stored records in insertion order (or those with ``ids``).

        ``unique=True`` leaves out records marked as duplicates of another.
        """
        if ids is not None:
            for i in ids:
                r = self.record(i)
                if r is not None:
                    yield r
            return
        sql = "SELECT data FROM records"
        if unique:
            sql += " WHERE id NOT IN (SELECT record_id FROM duplicates)"
        for (data,) in self.conn.execute(sql + " ORDER BY rowid"):
            yield Record.from_dict(json.loads(data))

    def record_ids(self, unique: bool = False) -> list[str]:
        sql = "SELECT id FROM records"
        if unique:
            sql += " WHERE id NOT IN (SELECT record_id FROM duplicates)"
        return [r[0] for r in self.conn.execute(sql + " ORDER BY rowid")]

    def count_records(self, unique: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM records"
        if unique:
            sql += " WHERE id NOT IN (SELECT record_id FROM duplicates)"
        return int(self.conn.execute(sql).fetchone()[0])

    # -- events and decisions ------------------------------------------------------------
    def log(self, stage: str, kind: str, record_id: str | None = None, data: Any = None,
            run_id: int | None = None, actor: str | None = None, protocol_hash: str | None = None) -> int:
        """Append an event; returns its id."""
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO events(ts, stage, kind, record_id, run_id, actor, protocol_hash, data)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (now(), stage, kind, record_id, run_id, actor, protocol_hash, _dumps(data)),
            )
            return int(cur.lastrowid)

    def events(self, stage: str | None = None, kind: str | None = None) -> list[sqlite3.Row]:
        sql, params = "SELECT * FROM events WHERE 1=1", []
        if stage:
            sql += " AND stage=?"
            params.append(stage)
        if kind:
            sql += " AND kind=?"
            params.append(kind)
        return self.query(sql + " ORDER BY id", params)

    def add_decision(self, record_id: str, decision: str, reviewer: str, stage: str = "title_abstract",
                     criterion: str | None = None, note: str | None = None,
                     protocol_hash: str | None = None) -> int:
        """Write one screening decision durably and return its id.

        The row is committed before this returns, so a caller may show it as saved. A
        decision written on its own is also synced to disk (``synchronous=FULL`` for its
        commit, about 3 ms): a human's click survives power loss, not only a crash.
        Decisions written inside a caller's transaction are synced with it.
        """
        if decision not in ("include", "exclude", "maybe", "undo"):
            raise ValueError(f"decision must be include, exclude, maybe or undo, not {decision!r}")
        alone = not self.conn.in_transaction
        if alone:
            self.conn.execute("PRAGMA synchronous=FULL")
        try:
            with self.transaction():
                cur = self.conn.execute(
                    "INSERT INTO decisions(record_id, stage, reviewer, decision, criterion, note, protocol_hash, ts)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (record_id, stage, reviewer, decision, criterion, note, protocol_hash, now()),
                )
                return int(cur.lastrowid)
        except sqlite3.IntegrityError:
            raise StoreError(f"{self.path}: no record {record_id!r} in this store; "
                             "decide on a stored record id (see `review status`)") from None
        finally:
            if alone:
                self.conn.execute("PRAGMA synchronous=NORMAL")

    def current_decisions(self, stage: str = "title_abstract", reviewer: str | None = None) -> dict:
        """Latest decision per record (per reviewer, or ``{(record, reviewer): row}`` if ``reviewer`` is None).

        A latest ``undo`` removes the record's decision.
        """
        sql = ("SELECT d.* FROM decisions d JOIN (SELECT MAX(id) AS id FROM decisions WHERE stage=?"
               " GROUP BY record_id, reviewer) m ON d.id = m.id")
        params: list[Any] = [stage]
        if reviewer is not None:
            sql += " WHERE d.reviewer=?"
            params.append(reviewer)
        out: dict = {}
        for row in self.conn.execute(sql + " ORDER BY d.id", params):
            if row["decision"] == "undo":
                continue
            out[row["record_id"] if reviewer is not None else (row["record_id"], row["reviewer"])] = row
        return out

    # -- artifacts ------------------------------------------------------------------------
    def put_artifact(self, name: str, data: Any, kind: str | None = None, protocol_hash: str | None = None) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO artifacts(name, kind, data, protocol_hash, ts) VALUES (?,?,?,?,?)",
                (name, kind, _dumps(data), protocol_hash, now()),
            )

    def artifact(self, name: str) -> Any:
        row = self.conn.execute("SELECT data FROM artifacts WHERE name=?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def artifacts(self, prefix: str = "") -> list[tuple[str, Any]]:
        """``(name, data)`` of the artifacts whose name starts with ``prefix``, oldest first."""
        rows = self.conn.execute("SELECT name, data FROM artifacts WHERE substr(name, 1, ?) = ? ORDER BY ts, name",
                                 (len(prefix), prefix)).fetchall()
        return [(r[0], json.loads(r[1]) if r[1] else None) for r in rows]

    # -- cited works (labels for maps; not records) -----------------------------------------------
    def put_cited_works(self, works: dict[str, dict[str, Any] | None]) -> None:
        """Keep what OpenAlex said about cited works: ``{id: light metadata}``, None for an id it did not return."""
        ts = now()
        with self.transaction():
            self.conn.executemany("INSERT OR REPLACE INTO cited_works(id, found, data, ts) VALUES (?,?,?,?)",
                                  [(k, int(v is not None), _dumps(v), ts) for k, v in works.items()])

    def cited_works(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``{id: metadata}`` of the cited works OpenAlex returned (all of them, or those among ``ids``)."""
        if ids is None:
            rows = self.conn.execute("SELECT id, data FROM cited_works WHERE found=1").fetchall()
        else:
            rows = self._rows_among("SELECT id, data FROM cited_works WHERE found=1 AND id IN ({})", ids)
        return {r[0]: json.loads(r[1]) for r in rows}

    def cited_work_ids(self) -> set[str]:
        """Ids of every cited work already looked up, found or not."""
        return {r[0] for r in self.conn.execute("SELECT id FROM cited_works")}

    def put_embeddings(self, model: str, rows: Iterable[tuple[str, str, Any]]) -> None:
        """Keep sentence embeddings: ``rows`` of ``(record_id, text_hash, vector)`` (a 1-d float array)."""
        ts = now()
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO embeddings(record_id, model, text_hash, vector, ts) VALUES (?,?,?,?,?)",
                [(rid, model, h, np.asarray(v, dtype="<f4").tobytes(), ts) for rid, h, v in rows])

    def embeddings(self, model: str, ids: Iterable[str]) -> dict[str, tuple[str, np.ndarray]]:
        """``{record_id: (text_hash, vector)}`` of the stored embeddings of ``model`` among ``ids``."""
        if not self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='embeddings'").fetchone():
            return {}  # a version-2 store opened read-only: nothing stored yet
        rows = self._rows_among("SELECT record_id, text_hash, vector FROM embeddings WHERE model=? AND record_id "
                                "IN ({})", ids, model)
        return {rid: (h, np.frombuffer(blob, dtype="<f4")) for rid, h, blob in rows}

    def _rows_among(self, sql: str, ids: Iterable[str], *params: Any) -> list[sqlite3.Row]:
        """Rows of ``sql`` (``params``, then ``IN ({})`` filled with ``ids``), 500 ids a query (SQLite's limit
        on parameters)."""
        ids, rows = list(ids), []
        for a in range(0, len(ids), 500):
            chunk = ids[a:a + 500]
            rows += self.conn.execute(sql.format(",".join("?" * len(chunk))), [*params, *chunk]).fetchall()
        return rows

    # -- protocols and runs -------------------------------------------------------------------
    def protocol(self, hash_: str) -> sqlite3.Row | None:
        """The stored protocol version ``hash_`` (``text``, ``path``, ``loaded_at``)."""
        return self.conn.execute("SELECT * FROM protocols WHERE hash=?", (hash_,)).fetchone()

    def protocols(self) -> list[sqlite3.Row]:
        """Every protocol version loaded into this store, oldest first."""
        return self.conn.execute("SELECT * FROM protocols ORDER BY loaded_at").fetchall()

    def run(self, run_id: int) -> sqlite3.Row:
        """One row of the run log."""
        return self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()

    def reopen_run(self, run_id: int) -> None:
        """Mark an unfinished (failed, interrupted) run as running again, by this process; it resumes
        from its checkpoint."""
        with self.transaction():
            self.conn.execute("UPDATE runs SET status='running', finished_at=NULL WHERE id=?", (run_id,))
            self.set_checkpoint(run_id, "process", {"pid": os.getpid()})

    def run_record_ids(self, run_id: int, name: str | None = None) -> set[str]:
        """Ids of the records a run brought (optionally only those it brought under source ``name``)."""
        sql, params = "SELECT DISTINCT record_id FROM record_sources WHERE run_id=?", [run_id]
        if name:
            sql += " AND name=?"
            params.append(name)
        return {r[0] for r in self.conn.execute(sql, params)}

    def record_id_by_doi(self, doi: str) -> str | None:
        row = self.conn.execute("SELECT id FROM records WHERE doi=? ORDER BY rowid LIMIT 1", (doi,)).fetchone()
        return row[0] if row else None

    # -- duplicates -------------------------------------------------------------------------------
    def duplicates(self) -> dict[str, str]:
        """``{record id: canonical record id}`` of every record marked as a duplicate."""
        return dict(self.conn.execute("SELECT record_id, canonical_id FROM duplicates").fetchall())

    def mark_duplicate(self, record_id: str, canonical_id: str, method: str, score: float | None = None,
                       run_id: int | None = None) -> None:
        """Record ``record_id`` as a duplicate of ``canonical_id`` (replacing an earlier mark)."""
        with self.transaction():
            self.conn.execute("INSERT OR REPLACE INTO duplicates(record_id, canonical_id, score, method, run_id, ts)"
                              " VALUES (?,?,?,?,?,?)", (record_id, canonical_id, score, method, run_id, now()))

    def dedup_pairs(self, statuses: Iterable[str] | None = None) -> list[sqlite3.Row]:
        """Pairs the dedup stage kept (``a < b``, ``score``, ``status``, ``info``), best score first."""
        sql, params = "SELECT * FROM dedup_pairs", []
        if statuses is not None:
            statuses = list(statuses)
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            params = statuses
        return self.conn.execute(sql + " ORDER BY score DESC, a, b", params).fetchall()

    def add_dedup_pair(self, a: str, b: str, status: str, score: float | None = None, info: str = "",
                       decided_by: str | None = None) -> None:
        """Keep a pair (``maybe``), or a human decision on it (``same``/``different``, replacing the pair's status)."""
        with self.transaction():
            self.conn.execute("INSERT INTO dedup_pairs(a, b, score, status, decided_by, ts, info)"
                              " VALUES (?,?,?,?,?,?,?)"
                              " ON CONFLICT(a, b) DO UPDATE SET status=excluded.status, decided_by=excluded.decided_by,"
                              " ts=excluded.ts", (a, b, score, status, decided_by, now(), info))

    # -- full texts and definitions ---------------------------------------------------------------
    def set_fulltext(self, record_id: str, path: str | None, text: str | None, status: str = "retrieved") -> None:
        """Keep a record's full text (``retrieved``) or that it cannot be had (``not_retrieved``), replacing an
        earlier row."""
        if status not in ("retrieved", "not_retrieved"):
            raise ValueError(f"full-text status must be retrieved or not_retrieved, not {status!r}")
        with self.transaction():
            self.conn.execute("INSERT OR REPLACE INTO fulltexts(record_id, path, text, status, ts) VALUES (?,?,?,?,?)",
                              (record_id, path, text, status, now()))

    def mark_not_retrieved(self, record_id: str, reason: str, actor: str | None = None) -> None:
        """Record that a record's full text cannot be had, and why (event ``fulltext``/``not_retrieved``), at once."""
        with self.transaction():
            self.set_fulltext(record_id, None, None, status="not_retrieved")
            self.log("fulltext", "not_retrieved", record_id=record_id, actor=actor, data={"reason": reason})

    def fulltext_status(self, record_id: str) -> str | None:
        """``retrieved``, ``not_retrieved`` or None (nothing recorded) for one record."""
        row = self.conn.execute("SELECT status FROM fulltexts WHERE record_id=?", (record_id,)).fetchone()
        return row[0] if row else None

    def not_retrieved_ids(self) -> set[str]:
        """Records whose full text was recorded as not retrievable."""
        return {r[0] for r in self.conn.execute("SELECT record_id FROM fulltexts WHERE status='not_retrieved'")}

    def fulltexts(self) -> dict[str, str]:
        """``{record id: text}`` of the retrieved full texts."""
        return dict(self.conn.execute("SELECT record_id, text FROM fulltexts WHERE status='retrieved'"
                                      " AND text IS NOT NULL").fetchall())

    def replace_definitions(self, label: str, run_id: int, rows: Iterable[tuple]) -> list[int]:
        """Store a definitions run's rows and drop the earlier runs' rows of ``label``; returns the new row ids.

        Each row: ``(record_id, concept, sentence, field, position, pattern, cited, lang)``.
        """
        ts, ids = now(), []
        with self.transaction():
            self.conn.execute("DELETE FROM definitions WHERE run_id IN (SELECT id FROM runs WHERE kind='definitions'"
                              " AND label=?) AND run_id != ?", (label, run_id))
            for row in rows:
                cur = self.conn.execute(
                    "INSERT INTO definitions(record_id, concept, sentence, field, position, pattern, cited, lang,"
                    " run_id, ts) VALUES (?,?,?,?,?,?,?,?,?,?)", (*row, run_id, ts))
                ids.append(int(cur.lastrowid))
        return ids

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def writable(path: str | os.PathLike) -> bool:
    """Whether a store file and its folder can be written (False on read-only media or without permission)."""
    path = Path(path)
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _holder_of(f) -> dict[str, Any] | None:
    """What a lock file says about its holder (``pid``, ``command``, ``since``), or None."""
    try:
        f.seek(0)
        data = json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; split instead (no ';' inside our DDL strings).
    out = []
    for part in script.split(";"):
        lines = [ln.split("--")[0] for ln in part.splitlines()]
        stmt = "\n".join(lines).strip()
        if stmt:
            out.append(stmt)
    return out
