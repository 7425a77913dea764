"""Command line: ``review COMMAND …``. Thin: parse arguments, call the library, print.

User errors (a bad protocol, file or input) print one line ``error: …`` and exit 2.

Adding a command: write ``cmd_<name>(args) -> int`` below and register it in
:func:`build_parser` with ``_command(sub, "<name>", cmd_<name>, "help")``.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Callable

from .protocol import Protocol, ProtocolError, load as load_protocol, loads as loads_protocol
from .store import Store, StoreError

EXIT_USER_ERROR = 2


class UsageError(ValueError):
    """A command used wrongly; the message says how to use it."""


# -- opening a review ------------------------------------------------------------------------
def open_review(args: argparse.Namespace, create: bool = False) -> tuple[Protocol, Store]:
    """The protocol and store a command works on.

    From ``--protocol`` (its ``[source] store``, or ``--store``), or from ``--store``
    alone (the protocol text saved in the store), or the only store in ``reviews/``.
    """
    protocol_path = getattr(args, "protocol", None)
    store_path = getattr(args, "store", None)
    if protocol_path:
        protocol = load_protocol(protocol_path)
        path = Path(store_path) if store_path else protocol.store
        if not create and not path.exists():
            raise UsageError(f"{path}: no review store yet; create it with `review init {protocol_path}` "
                             f"or `review run {protocol_path}`")
        store = Store(path)
        store.add_protocol(protocol.hash, protocol.text, str(Path(protocol_path).resolve()))
        return protocol, store
    if not store_path:
        found = sorted(Path("reviews").glob("*.sqlite"))
        if len(found) != 1:
            raise UsageError("name the review: --protocol PROTOCOL.toml or --store STORE.sqlite"
                             + (f" (found {len(found)} stores in reviews/)" if found else ""))
        store_path = found[0]
    if not Path(store_path).exists():
        raise UsageError(f"{store_path}: review store not found; create one with `review init PROTOCOL.toml`")
    store = Store(store_path)
    h = store.meta("protocol_hash")
    row = store.query("SELECT text, path FROM protocols WHERE hash=?", (h,)) if h else []
    if not row:
        raise UsageError(f"{store_path}: the store has no protocol; run `review init PROTOCOL.toml --store {store_path}`")
    return loads_protocol(row[0]["text"], row[0]["path"]), store


# -- commands ---------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    protocol, store = open_review(args, create=True)
    print(f"review '{protocol.id}' (protocol {protocol.hash}) → {store.path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from . import pipeline

    protocol, store = open_review(args, create=True)
    summary = pipeline.run(store, protocol, snapshot=args.snapshot, stages=args.stages,
                           progress=not args.quiet, out_dir=args.out)
    print(pipeline.format_summary(store, summary))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from . import search

    protocol, store = open_review(args, create=True)
    result = search.run(store, protocol, progress=not args.quiet, snapshot=args.snapshot)
    print(json.dumps(result, indent=2))
    return 0


def cmd_snowball(args: argparse.Namespace) -> int:
    from . import openalex

    protocol, store = open_review(args)
    cfg = {**protocol.snowball}
    for key in ("depth", "max_records"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    result = openalex.snowball(
        store, backward=not args.no_backward and cfg.get("backward", True),
        forward=not args.no_forward and cfg.get("forward", True),
        depth=cfg.get("depth", 1), max_records=cfg.get("max_records", 5000), progress=not args.quiet)
    print(json.dumps(result, indent=2))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from . import pipeline

    protocol, store = open_review(args)
    print(pipeline.format_summary(store, {}))
    return 0


# -- parser -----------------------------------------------------------------------------------
def _command(sub, name: str, func: Callable[[argparse.Namespace], int], help: str,
             review: bool = True) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(func=func)
    if review:
        p.add_argument("--store", "-s", metavar="STORE", help="review store (.sqlite); default: the protocol's")
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="review", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__import__('review').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = _command(sub, "init", cmd_init, "create a review store for a protocol")
    p.add_argument("protocol", metavar="PROTOCOL", help="protocol file (.toml)")

    p = _command(sub, "run", cmd_run, "run every stage of a review (resumable: finished work is kept)")
    p.add_argument("protocol", metavar="PROTOCOL", help="protocol file (.toml)")
    p.add_argument("--snapshot", metavar="FILE", help="search this OpenAlex snapshot file offline instead of the API")
    p.add_argument("--stages", metavar="LIST", type=lambda s: s.split(","), help="comma-separated stages to run")
    p.add_argument("--out", metavar="DIR", help="output folder (default out/<protocol id>)")

    p = _command(sub, "search", cmd_search, "run the protocol's searches (OpenAlex, or --snapshot offline)")
    p.add_argument("protocol", metavar="PROTOCOL", help="protocol file (.toml)")
    p.add_argument("--snapshot", metavar="FILE", help="search this OpenAlex snapshot file offline")

    p = _command(sub, "snowball", cmd_snowball, "citation chasing on OpenAlex: backward and forward")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--depth", type=int)
    p.add_argument("--max-records", dest="max_records", type=int)
    p.add_argument("--no-backward", action="store_true")
    p.add_argument("--no-forward", action="store_true")

    p = _command(sub, "status", cmd_status, "counts per stage")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``review`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, StoreError, ProtocolError, OSError, sqlite3.DatabaseError) as e:
        msg = str(e) or type(e).__name__
        if isinstance(e, OSError) and e.filename:
            msg = f"{e.filename}: {e.strerror}"
        print(f"error: {msg}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
