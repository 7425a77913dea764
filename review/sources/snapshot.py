"""Streaming reader for OpenAlex works on disk.

Reads JSON arrays, JSON Lines, API pages (``{"results": [...]}``), ``.gz`` files
and ``.zip`` archives of any of those (the SYNERGY ``works_1.zip`` files and the
OpenAlex snapshot's ``part_*.gz`` layout), one work at a time, so a large file
never has to fit in memory at once.
"""
from __future__ import annotations

import gzip
import io
import itertools
import json
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from review.core.errors import SnapshotError
from review.core.protocol import Search
from review.core.records import Record, Source
from review.core.search_query import matches, parse
from review.core.text import fold
from review.sources.openalex_json import from_openalex


def iter_works(path: str | Path) -> Iterator[tuple[str, dict]]:
    """Yield ``(locator, work)`` for every OpenAlex work in ``path``.

    ``locator`` is ``member:line`` (zip) or ``line``, or ``member#index`` for
    JSON arrays, so every work can be traced to its place in the file.
    """
    path = Path(path)
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and _looks_like_works(p.name):
                for loc, w in iter_works(p):
                    yield f"{p.relative_to(path)}:{loc}", w
        return
    if not path.exists():
        raise SnapshotError(f"{path}: file not found")
    try:
        yield from _iter_file(path)
    except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as e:
        raise SnapshotError(f"{path}: damaged or truncated compressed file ({e}); copy or download it again") from None
    except RecursionError:
        raise SnapshotError(f"{path}: JSON nested too deeply to be OpenAlex works") from None


def _iter_file(path: Path) -> Iterator[tuple[str, dict]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = sorted((m for m in zf.namelist() if _looks_like_works(m)), key=_natural)
            for m in members:
                with zf.open(m) as fh:
                    for loc, w in _iter_stream(fh, f"{path}!{m}", m):
                        yield f"{m}{loc}", w
        return
    with open(path, "rb") as raw:
        magic = raw.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        inner = path.name[:-3] if path.name.endswith(".gz") else path.name
        yield from _iter_stream(fh, str(path), inner)


def read_records(path: str | Path, name: str | None = None) -> Iterator[tuple[Record, dict]]:
    """Yield ``(record, raw_work)`` for every work in a snapshot file."""
    name = name or str(path)
    for loc, work in iter_works(path):
        try:
            yield from_openalex(work, Source("snapshot", name, loc)), work
        except ValueError as e:
            raise SnapshotError(f"{path}{loc if loc.startswith(':') else ':' + loc}: {e}") from None


def _looks_like_works(name: str) -> bool:
    low = name.lower()
    return not low.endswith("/") and any(low.endswith(s) for s in (".json", ".jsonl", ".ndjson", ".gz", ".json.gz"))


def _natural(name: str) -> list:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _iter_stream(fh: IO[bytes], where: str, name: str) -> Iterator[tuple[str, dict]]:
    buf = io.BufferedReader(fh) if not isinstance(fh, io.BufferedReader) else fh
    if buf.peek(2)[:2] == b"\x1f\x8b":
        yield from _iter_stream(gzip.GzipFile(fileobj=buf), where, name)
        return
    first = buf.readline()
    try:
        if first.lstrip().startswith(b"{") and _is_object(first):
            lines = itertools.chain([first], buf)
            for lineno, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise SnapshotError(f"{where}:{lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
                if not isinstance(obj, dict):
                    raise SnapshotError(f"{where}:{lineno}: expected a JSON object per line, got {type(obj).__name__}")
                if isinstance(obj.get("results"), list):  # an API page saved on one line
                    for i, w in enumerate(obj["results"]):
                        yield f":{lineno}#{i}", w
                else:
                    yield f":{lineno}", obj
        else:
            text = io.TextIOWrapper(io.BufferedReader(_Prefixed(first, buf)), encoding="utf-8")
            yield from _iter_json_document(text, where)
    except UnicodeDecodeError as e:
        raise SnapshotError(f"{where}: not UTF-8 ({e.reason}); OpenAlex files are UTF-8") from None


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


class _Prefixed(io.RawIOBase):
    """A byte stream that yields ``prefix`` and then the rest of ``rest``."""

    def __init__(self, prefix: bytes, rest: IO[bytes]):
        self.prefix, self.rest = prefix, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.prefix:
            n = min(len(b), len(self.prefix))
            b[:n], self.prefix = self.prefix[:n], self.prefix[n:]
            return n
        data = self.rest.read(len(b))
        b[: len(data)] = data
        return len(data)


def _iter_json_document(text: IO[str], where: str) -> Iterator[tuple[str, dict]]:
    """Stream the objects of a JSON array (or of an API page's ``results``) without loading the file whole."""
    dec = json.JSONDecoder()
    buf = ""
    pos = 0
    eof = False

    def fill() -> bool:
        nonlocal buf, pos, eof
        chunk = text.read(1 << 20)
        if not chunk:
            eof = True
            return False
        buf = buf[pos:] + chunk
        pos = 0
        return True

    def skip_ws() -> None:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or not fill():
                return

    fill()
    skip_ws()
    if buf[pos:pos + 1] == "{":
        # An API page {"meta":..., "results":[...]} or a single work: small enough to parse whole.
        while fill():
            pass
        try:
            obj = json.loads(buf[pos:])
        except json.JSONDecodeError as e:
            raise SnapshotError(f"{where}: invalid JSON at line {e.lineno}, column {e.colno} ({e.msg})") from None
        items = obj.get("results") if isinstance(obj.get("results"), list) else [obj]
        for i, w in enumerate(items):
            yield f"#{i}", w
        return
    if buf[pos:pos + 1] != "[":
        raise SnapshotError(f"{where}: expected a JSON array of works, JSON Lines or an API page")
    pos += 1
    i = 0
    while True:
        skip_ws()
        if pos >= len(buf):
            raise SnapshotError(f"{where}: file ends inside the JSON array after {i} works (truncated?)")
        if buf[pos] == "]":
            return
        if buf[pos] == "," and i > 0:
            pos += 1
            skip_ws()
        while True:
            try:
                obj, end = dec.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as e:
                if eof or not fill():
                    raise SnapshotError(f"{where}: invalid JSON in work #{i} ({e.msg}); the file may be truncated") \
                        from None
        if not isinstance(obj, dict):
            raise SnapshotError(f"{where}: item #{i} of the array is a {type(obj).__name__}, expected a work object")
        pos = end
        yield f"#{i}", obj
        i += 1


def record_matches(rec: Record, search: Search, node=None, folded: str | None = None) -> bool:
    """Whether a record satisfies a search's text and filters.

    Unknown values (no year, type or language in the record) pass a filter:
    the 2023 OpenAlex schema has no ``language``, and excluding on a missing
    field would silently drop records.
    """
    if search.from_year and rec.year and rec.year < search.from_year:
        return False
    if search.to_year and rec.year and rec.year > search.to_year:
        return False
    if search.types and rec.type and rec.type not in search.types:
        return False
    if search.languages and rec.language and rec.language not in search.languages:
        return False
    return matches(node if node is not None else parse(search.query), folded if folded is not None else fold(rec.text))
