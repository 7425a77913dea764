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

from review.core.protocol import Protocol
from review.core.errors import ProtocolError
from review.core.protocol import load as load_protocol
from review.core.protocol import loads as loads_protocol
from review.core.store import Store
from review.core.errors import StoreError

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
    from review import pipeline

    protocol, store = open_review(args, create=True)
    summary = pipeline.run(store, protocol, snapshot=args.snapshot, stages=args.stages,
                           progress=not args.quiet, out_dir=args.out)
    print(pipeline.format_summary(store, summary))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from review.stages import search

    protocol, store = open_review(args, create=True)
    result = search.run(store, protocol, progress=not args.quiet, snapshot=args.snapshot)
    print(json.dumps(result, indent=2))
    return 0


def cmd_snowball(args: argparse.Namespace) -> int:
    from review.stages import search as openalex

    protocol, store = open_review(args)
    cfg = {**protocol.snowball}
    for key in ("depth", "max_records"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    result = openalex.snowball(
        store, backward=not args.no_backward and cfg.get("backward", True),
        forward=not args.no_forward and cfg.get("forward", True),
        depth=cfg.get("depth", 1), max_records=cfg.get("max_records", 5000), progress=not args.quiet,
        protocol_hash=protocol.hash)
    print(json.dumps(result, indent=2))
    return 0


def cmd_serve_openalex(args: argparse.Namespace) -> int:
    from review.ui.testserver import serve

    serve(args.path, port=args.port, host=args.host)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from review import pipeline

    protocol, store = open_review(args)
    print(pipeline.format_summary(store, {}))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from review.stages.screening import run_dataset

    seeds = parse_seeds(args.seeds) if args.seeds else [args.seed]
    plot = args.plot or (Path(args.out).with_suffix(".png") if args.out else f"{Path(args.dataset).stem}_recall.png")
    features = None
    if args.embeddings:
        from review.screening.features import TextFeatures

        features = TextFeatures(embedding_weight=EMBEDDING_WEIGHT)
    r = run_dataset(args.dataset, prior_included=args.prior_included, prior_excluded=args.prior_excluded,
                    seeds=seeds, out=args.out, progress=not args.quiet, plot=plot, features=features)
    for run in r.get("runs", [r]):
        print(f"{r['dataset']}: N={run['n']} R={run['r']} (priors left out: {', '.join(run['priors'])}; "
              f"seed {run['seed']})")
        print(f"recall@10%: {run['recall_at_10']:.3f}  WSS@95: {run['wss_95']:.3f}  ATD: {run['atd']:.3f}")
    if "summary" in r:
        print(f"over {len(seeds)} seeds, mean ± sd (min–max): " + "  ".join(
            f"{label}: {m['mean']:.3f} ± {m['sd']:.3f} ({m['min']:.3f}–{m['max']:.3f})"
            for label, m in zip(("recall@10%", "WSS@95", "ATD"), r["summary"].values())))
    if args.out:
        print(f"order → {args.out}" + (" (one file per seed)" if len(seeds) > 1 else "")
              + f"; metrics and model → {Path(args.out).with_suffix('.json')}")
    print(f"recall curve → {r['plot']}")
    return 0


#: ``review simulate --embeddings``: weight of the sentence-embedding block, chosen leave-one-dataset-out
EMBEDDING_WEIGHT = 0.25


def parse_seeds(text: str) -> list[int]:
    """``"1-5"`` → ``[1, 2, 3, 4, 5]``; ``"1,3,7"`` → ``[1, 3, 7]``."""
    out: list[int] = []
    try:
        for part in text.split(","):
            a, _, b = part.strip().partition("-")
            out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected a range like 1-5 or a list like 1,2,3") from None
    if not out:
        raise UsageError(f"--seeds {text!r}: no seed given")
    return out


def cmd_screen(args: argparse.Namespace) -> int:
    from review.screening import session as screen_session
    from review.ui import terminal as screen_terminal

    protocol, store = open_review(args)
    session = screen_session.ScreeningSession(store, protocol, args.reviewer, stage=args.stage)
    screen_terminal.screen_terminal(session, sys.stdin)
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    from review.screening import reviewers as screen

    protocol, store = open_review(args)
    if args.resolve:
        rid, decision = args.resolve
        screen.resolve(store, rid, decision, stage=args.stage, criterion=args.criterion, note=args.note,
                       protocol=protocol)
        print(f"{rid}: {decision} (reconciled)")
        return 0
    items = screen.conflicts(store, args.stage)
    for c in items:
        ds = "; ".join(f"{rv}: {d['decision']}" + (f" ({d['criterion']})" if d["criterion"] else "")
                       for rv, d in c["decisions"].items())
        print(f"{c['record_id']}  {c['title'][:70]}  — {ds}")
    print(f"{len(items)} conflict(s) at {args.stage}")
    return 0


def cmd_kappa(args: argparse.Namespace) -> int:
    from review.screening import reviewers as screen
    from review.screening import rules as screen_rules

    protocol, store = open_review(args)
    for stage in [args.stage] if args.stage else list(screen_rules.STAGES):
        k = screen.kappa(store, stage)
        for pair in k["pairs"]:
            kv = "undefined" if pair["kappa"] is None else f"{pair['kappa']:.3f}"
            print(f"{stage}: {' vs '.join(pair['reviewers'])}: kappa {kv} on {pair['n']} records"
                  + (f", agreement {pair['agreement']:.1%}" if pair["agreement"] is not None else ""))
        if not k["pairs"]:
            print(f"{stage}: fewer than two reviewers have decisions")
    return 0


def cmd_definitions(args: argparse.Namespace) -> int:
    from review.definitions.cluster import Clustering
    from review.stages import definitions
    from review.writers.definitions import format_clusters

    protocol, store = open_review(args)
    out = Path(args.out) if args.out else Path("out") / protocol.id / "definitions"
    result = definitions.run(store, protocol, progress=not args.quiet, out_dir=out)
    clustering = Clustering.from_dict(store.artifact("definition_clusters"))
    print(f"{result['definitions']} definitions in {result['records']} records: "
          + ", ".join(f"{k} {v}" for k, v in result["by_concept"].items()))
    print(format_clusters(clustering, {c.key: c.label for c in protocol.concepts}))
    print(f"files → {out}: " + ", ".join(Path(f).name for f in result["files"].values()))
    return 0


def cmd_fulltext(args: argparse.Namespace) -> int:
    from review.stages import definitions

    protocol, store = open_review(args)
    r = definitions.add_fulltext(store, args.record_id, args.file)
    print(f"{r['record_id']}: full text from {r['path']} ({r['chars']} characters, {r['sentences']} sentences)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from review.stages import export

    protocol, store = open_review(args)
    r = export.export(store, args.out, args.format, args.select, abstract=not args.no_abstract,
                      unicode=not args.ascii)
    print(f"{r['n']} record(s) → {r['path']} ({r['format']})"
          + (f"; {r['not_in_store']} selected work(s) are not records of this review and were left out"
             if r["not_in_store"] else ""))
    return 0


def cmd_prisma(args: argparse.Namespace) -> int:
    from review.core import queries as prisma_queries
    from review.writers import prisma

    protocol, store = open_review(args)
    c = prisma_queries.counts(store)
    paths = prisma.write(store, args.out, numbers=c)
    for key, label, n in prisma.rows(c):
        if "." not in key:
            print(f"{label:<68} {n:>8,}")
    print("→ " + ", ".join(str(p) for p in paths.values()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from review.writers import report

    protocol, store = open_review(args)
    out = Path(args.out) if args.out else Path("out") / protocol.id / "report.html"
    print(f"report → {report.write(store, protocol, out, out_dir=out.parent)}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from review.core import queries as networks_queries
    from review.stages import networks

    protocol, store = open_review(args)
    out = Path(args.out) if args.out else Path("out") / protocol.id / "networks"
    records = networks_queries.select_records(store, included="title_abstract" if args.included else None)
    result = networks.map_kind(store, protocol, args.kind, out, records=records,
                               record_set="included" if args.included else "all", min_count=args.min_count,
                               norm=args.norm, max_nodes=args.max_nodes, top=args.top)
    print(networks.format_result(result, top=args.top))
    print(f"\nfiles → {out}: " + ", ".join(Path(f).name for f in result["files"].values()))
    return 0


def _column_mapping(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        field, sep, name = item.partition("=")
        if not sep or not field.strip() or not name.strip():
            raise UsageError(f"--column {item!r}: expected FIELD=HEADER, e.g. --column title='Article Title'")
        out[field.strip()] = name.strip()
    return out


def cmd_import(args: argparse.Namespace) -> int:
    from review.stages import search as importers

    protocol, store = open_review(args, create=True)
    r = importers.import_files(store, args.files, format=args.format, lenient=args.lenient,
                               columns=_column_mapping(args.column), encoding=args.encoding,
                               protocol_hash=protocol.hash)
    for f in r["files"]:
        print(f"{f['file']}: {f['records']} record(s) read ({f['new']} new), {f['skipped']} skipped [{f['format']}]")
        for s in f["skipped_entries"]:
            print(f"  skipped {s['file']}:{s['locator']}: {s['reason']}")
    return 0


def cmd_dedup(args: argparse.Namespace) -> int:
    from review.stages import dedup

    if args.files:
        if not args.out:
            raise UsageError("file mode needs an output folder: review dedup FILE [FILE...] --out DIR")
        r = dedup.dedup_files(args.files, args.out, format=args.format, lenient=args.lenient,
                              columns=_column_mapping(args.column), encoding=args.encoding, progress=not args.quiet)
        for s in r["skipped_entries"]:
            print(f"skipped {s['file']}:{s['locator']}: {s['reason']}")
        print(f"{r['records']} records: {r['unique']} unique, {r['duplicates']} duplicates in {r['groups']} groups, "
              f"{r['maybe_pairs']} pairs to check → {r['out']}/duplicate_groups.csv, maybe_pairs.csv, records.csv")
        return 0
    protocol, store = open_review(args)
    if args.review:
        if not args.reviewer:
            raise UsageError("review dedup --review needs --reviewer NAME")
        c = dedup.review_queue(store, args.reviewer, sys.stdin, sys.stdout)
        print(f"\n{c['same']} same, {c['different']} different, {c['skipped']} skipped; "
              f"{len(dedup.maybe_pairs(store, with_records=False))} pair(s) still open")
        return 0
    print(json.dumps(dedup.run(store, protocol, progress=not args.quiet), indent=2))
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

    p = _command(sub, "serve-openalex", cmd_serve_openalex, "serve OpenAlex works from a file on this machine "
                 "(offline development and tests: set OPENALEX_URL to the printed address)", review=False)
    p.add_argument("path", metavar="PATH", help="OpenAlex works: JSON array, JSON Lines, .gz or .zip "
                   "(e.g. bib/synergy_openalex.jsonl.gz)")
    p.add_argument("--port", type=int, default=8000, help="default 8000; 0 picks a free port")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")

    p = _command(sub, "status", cmd_status, "counts per stage")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p = _command(sub, "simulate", cmd_simulate, "simulate prioritised screening on a labelled dataset", review=False)
    p.add_argument("dataset", metavar="DATASET", help="SYNERGY folder (works_1.zip + labels.csv), a CSV/TSV/Excel "
                   "table (title, abstract, label_included|included|label; any record id) or a RIS file with a "
                   "'label_included: 0/1' note per reference")
    p.add_argument("--prior-included", type=int, default=1, help="included records known at the start (default 1)")
    p.add_argument("--prior-excluded", type=int, default=1, help="excluded records known at the start (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed for drawing the priors and for the model")
    p.add_argument("--seeds", metavar="1-5", help="several runs (a range 1-5 or a list 1,2,3): each seed draws its "
                   "own priors; prints each run and the mean and spread")
    p.add_argument("--out", metavar="ORDER.csv", help="write the screening order: rank,record_id,prior "
                   "(and ORDER.json: metrics and model configuration)")
    p.add_argument("--plot", metavar="CURVE.png", help="recall curve (default: next to --out, else "
                   "DATASET_recall.png here)")
    p.add_argument("--embeddings", action="store_true", help="add sentence embeddings (all-MiniLM-L6-v2, weight "
                   f"{EMBEDDING_WEIGHT}; needs review[embeddings]; ~10-20 records/s once per record on 2 cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    p = _command(sub, "screen", cmd_screen, "screen records in the terminal (keys i/e/m/u/q from stdin)")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--reviewer", "-r", required=True, help="your name (reviewers screen blind to each other)")
    p.add_argument("--stage", default="title_abstract", choices=["title_abstract", "full_text"])

    p = _command(sub, "conflicts", cmd_conflicts, "list (or --resolve) disagreements between reviewers")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--stage", default="title_abstract", choices=["title_abstract", "full_text"])
    p.add_argument("--resolve", nargs=2, metavar=("RECORD_ID", "DECISION"), help="settle one record: include/exclude/maybe")
    p.add_argument("--criterion", help="reason for --resolve (a criterion name of the protocol)")
    p.add_argument("--note", help="note for --resolve")

    p = _command(sub, "kappa", cmd_kappa, "Cohen's kappa between reviewers per stage")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--stage", choices=["title_abstract", "full_text"])

    p = _command(sub, "definitions", cmd_definitions,
                 "extract, cluster and compare definitions of the protocol's concepts; write table, figure, concept map")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--out", metavar="DIR", help="output folder (default out/<protocol id>/definitions)")

    p = _command(sub, "fulltext", cmd_fulltext, "add a record's full text (PDF or .txt) for definition extraction")
    p.add_argument("action", choices=["add"])
    p.add_argument("record_id", metavar="RECORD_ID", help="record id (e.g. W2741809807) or DOI")
    p.add_argument("file", metavar="FILE", help="full text: .pdf or .txt (UTF-8)")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")

    p = _command(sub, "export", cmd_export, "export records as BibTeX, RIS or CSL-JSON")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--format", "-f", default="bibtex", choices=["bibtex", "ris", "csljson"])
    p.add_argument("--select", default="all", metavar="WHICH",
                   help="all (unique records), included, key-references[:KIND], cluster:[KIND:]N (default: all)")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    p.add_argument("--no-abstract", action="store_true", help="leave abstracts out")
    p.add_argument("--ascii", action="store_true", help="BibTeX: write non-ASCII letters as LaTeX accents")

    p = _command(sub, "prisma", cmd_prisma, "PRISMA 2020 flow diagram (SVG, PNG) and counts (CSV) from the store")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--out", "-o", required=True, metavar="DIR")

    p = _command(sub, "report", cmd_report, "write the review report: one self-contained HTML file")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--out", "-o", metavar="FILE", help="default out/<protocol id>/report.html")

    p = _command(sub, "network", cmd_network, "build, cluster and export a citation, co-authorship or subject network; "
                 "print its key references and clusters")
    p.add_argument("kind", metavar="KIND", help="citation, cocitation, coupling, coauthorship, institutions, countries, "
                   "concepts (the subjects the records carry), topics, keywords or terms")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--min-count", type=int, metavar="N", help="minimum occurrences of a node (coupling: shared "
                   "references of a link); default from [networks], else 2 for cocitation/concepts, 1 otherwise")
    p.add_argument("--norm", choices=["association", "cosine", "jaccard", "none"],
                   help="link normalisation (default association strength)")
    p.add_argument("--max-nodes", type=int, metavar="N", help="keep the N nodes with most link strength (default 1000)")
    p.add_argument("--included", action="store_true", help="only records included at title-abstract screening")
    p.add_argument("--top", type=int, default=20, metavar="N", help="key references and nodes to list (default 20)")
    p.add_argument("--out", "-o", metavar="DIR", help="output folder (default out/<protocol id>/networks)")

    p = _command(sub, "import", cmd_import, "import RIS, BibTeX, CSV or OpenAlex files into the review store")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--format", "-f", choices=["ris", "bibtex", "csv", "openalex"], help="default: from the file")
    p.add_argument("--lenient", action="store_true", help="skip malformed entries (listed) instead of stopping")
    p.add_argument("--column", action="append", metavar="FIELD=HEADER", help="CSV column for a field (repeatable)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of the files (default utf-8)")

    p = _command(sub, "dedup", cmd_dedup, "remove duplicates in the store (or in FILEs with --out DIR); "
                 "--review to decide the uncertain pairs")
    p.add_argument("files", nargs="*", metavar="FILE", help="deduplicate these files without a review store")
    p.add_argument("--out", "-o", metavar="DIR", help="file mode: folder for duplicate_groups.csv, maybe_pairs.csv, "
                   "records.csv")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL")
    p.add_argument("--review", action="store_true", help="decide 'maybe' pairs: s(ame)/d(ifferent)/k(skip)/q(uit)")
    p.add_argument("--reviewer", "-r", help="your name, for --review")
    p.add_argument("--format", "-f", choices=["ris", "bibtex", "csv", "openalex"], help="file mode: input format")
    p.add_argument("--lenient", action="store_true", help="file mode: skip malformed entries (listed)")
    p.add_argument("--column", action="append", metavar="FIELD=HEADER", help="file mode: CSV column for a field")
    p.add_argument("--encoding", default="utf-8", help="file mode: text encoding (default utf-8)")
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
