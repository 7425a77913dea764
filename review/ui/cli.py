"""Command line: ``review COMMAND …``. Thin: parse arguments, call the library, print.

What ``review --help`` shows is :data:`DESCRIPTION` and :data:`EPILOG`.

User errors (a bad protocol, file or input) print one line ``error: …`` and exit 2.

Adding a command: write ``cmd_<name>(args) -> int`` below and register it in
:func:`build_parser` with ``_command(sub, "<name>", cmd_<name>, "help")``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from review import pipeline
from review.core.errors import ReviewError
from review.core.protocol import Protocol
from review.core.protocol import load as load_protocol
from review.core.protocol import loads as loads_protocol
from review.core.settings import IMPORT_FORMATS
from review.core.store import Store, writable

EXIT_USER_ERROR = 2


class UsageError(ReviewError):
    """A command used wrongly; the message says how to use it."""


# -- opening a review ------------------------------------------------------------------------
_OPENED: list[Store] = []  # closed when the command ends (their writer lock with them)


def open_review(args: argparse.Namespace, create: bool = False, lock: bool = False,
                readonly: bool | None = False) -> tuple[Protocol, Store]:
    """The protocol and store a command works on.

    From ``--protocol`` (its ``[source] store``, or ``--store``), or from ``--store``
    alone (the protocol text saved in the store), or the only store in ``reviews/``.

    ``lock``: hold the store's writer lock for the whole command (commands that run stages);
    a second such command on the same store waits a few seconds, then refuses naming this one.
    ``readonly``: open without writing anything (True), or only when the store cannot be
    written, e.g. on read-only media (None). A protocol of another review than the store's
    is refused unless ``args.force`` (``review init --force``).
    """
    protocol_path = getattr(args, "protocol", None)
    store_path = getattr(args, "store", None)
    protocol = None
    if protocol_path:
        protocol = load_protocol(protocol_path)
        pipeline.check(protocol)  # every stage's settings, before anything is written
        path = Path(store_path) if store_path else protocol.store
        if not create and not path.exists():
            raise UsageError(f"{path}: no review store yet; create it with `review init {protocol_path}` "
                             f"or `review run {protocol_path}`")
    else:
        if not store_path:
            found = sorted(Path("reviews").glob("*.sqlite"))
            if len(found) != 1:
                raise UsageError("name the review: --protocol PROTOCOL.toml or --store STORE.sqlite"
                                 + (f" (found {len(found)} stores in reviews/)" if found else ""))
            store_path = found[0]
        path = Path(store_path)
        if not path.exists():
            raise UsageError(f"{store_path}: review store not found; create one with `review init PROTOCOL.toml`")
    if readonly is None:
        readonly = not writable(path)
    store = Store(path, readonly=readonly)
    _OPENED.append(store)
    if lock:
        store.acquire_writer(f"review {getattr(args, 'command', '')}".strip())
    if protocol is not None:
        if not readonly:
            store.bind_protocol(protocol.id, protocol.hash, protocol.text, str(Path(protocol_path).resolve()),
                                force=getattr(args, "force", False))
        return protocol, store
    h = store.meta("protocol_hash")
    row = store.protocol(h) if h else None
    if row is None:
        raise UsageError(f"{store_path}: the store has no protocol; run "
                         f"`review init PROTOCOL.toml --store {store_path}`")
    # checked when it was bound to the store; stages check what only they know when they run
    return loads_protocol(row["text"], row["path"]), store


# -- commands ---------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    protocol, store = open_review(args, create=True, lock=True)
    print(f"review '{protocol.id}' (protocol {protocol.hash}) → {store.path}")
    print(f"next: `review run {args.protocol}` (searches, deduplication, rule pre-screen, definitions, maps, "
          "exports and report)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    protocol, store = open_review(args, create=True, lock=True)
    out = Path(args.out) if args.out else Path("out") / protocol.id
    summary = pipeline.run(store, protocol, snapshot=args.snapshot, stages=args.stages,
                           progress=not args.quiet, out_dir=out)
    print(pipeline.format_outcome(store, summary, args.protocol, out))
    return 0


def _search_lines(result: dict) -> list[str]:
    """One line per search (and snowballing) of a search-stage result."""
    lines = []
    for name, r in (result.get("searches") or {}).items():
        if r.get("skipped"):
            lines.append(f"search {name!r}: {r.get('n_records')} record(s), found before (run {r['run_id']}); "
                         "not repeated")
        else:
            how = " (resumed)" if r.get("resumed") else ""
            lines.append(f"search {name!r}: {r.get('n_records')} record(s), {r.get('new_records', 0)} new to the store"
                         + (f", {r['requests']} request(s)" if "requests" in r else "") + how
                         + (" — capped: more exist" if r.get("capped") else ""))
    sb = result.get("snowball")
    if sb:
        lines.append(_snowball_line(sb))
    return lines


def _snowball_line(r: dict) -> str:
    if r.get("skipped"):
        return f"snowballing: {r.get('new_records')} record(s), done before (run {r['run_id']}); not repeated"
    phases = ", ".join(f"{k} {r[k]}" for k in ("backward", "forward") if k in r)
    return (f"snowballing from {r.get('seeds')} seed(s): {r.get('new_records')} record(s)"
            + (f" ({phases})" if phases else "") + (f", {r['not_found']} not found" if r.get("not_found") else "")
            + (" — capped at max_records" if r.get("capped") else ""))


def cmd_search(args: argparse.Namespace) -> int:
    from review.stages import search

    protocol, store = open_review(args, create=True, lock=True)
    result = search.run(store, protocol, progress=not args.quiet, snapshot=args.snapshot)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("\n".join(_search_lines(result)))
    print(f"{store.count_records()} record(s) in {store.path}; next: `review dedup --store {store.path}`, "
          f"or `review run {args.protocol}` for every stage")
    return 0


def cmd_snowball(args: argparse.Namespace) -> int:
    from review.core.settings import SnowballSettings
    from review.stages import search as openalex

    protocol, store = open_review(args, lock=True)
    sb = protocol.config.snowball or SnowballSettings()
    result = openalex.snowball(
        store, backward=not args.no_backward and sb.backward, forward=not args.no_forward and sb.forward,
        depth=args.depth if args.depth is not None else sb.depth,
        max_records=args.max_records if args.max_records is not None else sb.max_records,
        progress=not args.quiet, protocol_hash=protocol.hash)
    print(json.dumps(result, indent=2) if args.json else _snowball_line(result))
    return 0


def cmd_serve_openalex(args: argparse.Namespace) -> int:
    from review.ui.testserver import serve

    serve(args.path, port=args.port, host=args.host)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    protocol, store = open_review(args, readonly=True)
    print(pipeline.format_summary(store, {}))
    holder = store.lock_holder()
    if holder is not None:
        print(f"in use: pid {holder.get('pid', '?')} is running `{holder.get('command', 'review')}` on this store")
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
    model = r["model"]["ranker"]
    if r["unlabelled"]:
        where = r["unlabelled"]
        print(f"left out {len(where)} record{'s' * (len(where) > 1)} without a label (empty or NA): "
              + ", ".join(where[:5]) + (f" and {len(where) - 5} more" if len(where) > 5 else ""), file=sys.stderr)
    print(f"simulated: every record of {r['dataset']} screened in the model's order after the priors "
          f"({model['classifier']} ranker, query {model['query']}; decisions revealed from the labels)")
    for run in r.get("runs", [r]):
        print(f"{r['dataset']}: N={run['n']} R={run['r']} (priors left out: {', '.join(run['priors'])}; "
              f"seed {run['seed']})")
        print(f"recall@10%: {run['recall_at_10']:.3f}  WSS@95: {run['wss_95']:.3f}  ATD: {run['atd']:.3f}")
        stop = run["stop"]
        print(f"stop rule ({stop['rule']}): would stop after {stop['screened']} of {run['n']} records, estimated "
              f"recall >= {stop['estimated_recall']:.2f}, true recall {stop['recall']:.2f}")
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
EMBEDDING_WEIGHT = 0.15


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

    protocol, store = open_review(args, lock=True)
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
    if args.action == "missing":
        if args.file:
            raise UsageError("review fulltext missing RECORD_ID --reason TEXT takes no FILE")
        r = definitions.mark_not_retrieved(store, args.record_id, args.reason or "")
        print(f"{r['record_id']}: full text recorded as not retrievable ({r['reason']}); PRISMA counts it under "
              f"'Reports not retrieved'. If you find it later: `review fulltext add {r['record_id']} FILE`")
        return 0
    if not args.file:
        raise UsageError("review fulltext add RECORD_ID FILE: name the full text (.pdf or .txt)")
    r = definitions.add_fulltext(store, args.record_id, args.file)
    print(f"{r['record_id']}: full text from {r['path']} ({r['chars']} characters, {r['sentences']} sentences)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from review.stages import export

    protocol, store = open_review(args, readonly=None)
    r = export.export(store, args.out, args.format, args.select, abstract=not args.no_abstract,
                      unicode=not args.ascii)
    print(f"{r['n']} record(s) → {r['path']} ({r['format']})"
          + (f"; {r['not_in_store']} selected work(s) are not records of this review and were left out"
             if r["not_in_store"] else ""))
    return 0


def cmd_prisma(args: argparse.Namespace) -> int:
    from review.core import queries as prisma_queries
    from review.writers import prisma

    protocol, store = open_review(args, readonly=True)
    c = prisma_queries.counts(store)
    paths = prisma.write(store, args.out, numbers=c)
    for key, label, n in prisma.rows(c):
        if "." not in key:
            print(f"{label:<68} {n:>8,}")
    print("→ " + ", ".join(str(p) for p in paths.values()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from review.writers import report

    protocol, store = open_review(args, readonly=None)
    out = Path(args.out) if args.out else Path("out") / protocol.id / "report.html"
    print(f"report → {report.write(store, protocol, out, out_dir=out.parent)}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from review.core import queries as networks_queries
    from review.stages import networks

    protocol, store = open_review(args, lock=True)
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
    from review.sources.importers import write_problems
    from review.stages import search as importers

    protocol, store = open_review(args, create=True)
    r = importers.import_files(store, args.files, format=args.format, lenient=args.lenient,
                               columns=_column_mapping(args.column), encoding=args.encoding,
                               protocol_hash=protocol.hash, strict=args.strict)
    problems_file = Path("out") / protocol.id / "import_problems.csv"
    n_problems = write_problems(problems_file, r["results"])
    for f in r["files"]:
        print(f"{f['file']}: {f['records']} record(s) read ({f['new']} new), {f['skipped']} skipped, "
              f"{f['problems']} problem(s) [{f['format']}]")
        _print_problems(f["skipped_entries"], f["problem_entries"])
    print(f"{r['records']} records read, {n_problems} problems" + (f" (see {problems_file})" if n_problems else ""))
    return 0


def _print_problems(skipped: list[dict], dropped: list[dict], limit: int = 20) -> None:
    lines = [f"  skipped {s['file']}:{s['locator']}: {s['reason']}" for s in skipped] + \
        [f"  {p['file']}:{p['line']}: " + (f"record {p['record']}" if p["record"] else p.get("action", ""))
         + (f", field {p['field']}" if p["field"] else "") + f": {p['reason']}" for p in dropped]
    for line in lines[:limit]:
        print(line)
    if len(lines) > limit:
        print(f"  … and {len(lines) - limit} more")


def cmd_dedup(args: argparse.Namespace) -> int:
    from review.stages import dedup

    if args.files:
        if not args.out:
            raise UsageError("file mode needs an output folder: review dedup FILE [FILE...] --out DIR")
        r = dedup.dedup_files(args.files, args.out, format=args.format, lenient=args.lenient,
                              columns=_column_mapping(args.column), encoding=args.encoding, progress=not args.quiet,
                              strict=args.strict)
        _print_problems(r["skipped_entries"], r["problem_entries"])
        print(f"{r['records']} records read, {r['problems']} problems"
              + (f" (see {r['problems_file']})" if r["problems"] else ""))
        print(f"{r['records']} records: {r['unique']} unique, {r['duplicates']} duplicates in {r['groups']} groups, "
              f"{r['maybe_pairs']} pairs to check → {r['out']}/duplicate_groups.csv, maybe_pairs.csv, records.csv")
        return 0
    protocol, store = open_review(args, lock=not args.review)
    if args.review:
        if not args.reviewer:
            raise UsageError("review dedup --review needs --reviewer NAME")
        c = dedup.review_queue(store, args.reviewer, sys.stdin, sys.stdout)
        print(f"\n{c['same']} same, {c['different']} different, {c['skipped']} skipped; "
              f"{len(dedup.maybe_pairs(store, with_records=False))} pair(s) still open")
        return 0
    r = dedup.run(store, protocol, progress=not args.quiet)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['records']} records: {r['unique']} unique, {r['duplicates']} duplicates ({r['new_duplicates']} new) "
          f"in {r['groups']} groups; {r['maybe_pairs_open']} uncertain pair(s) to decide"
          + (f": `review dedup --review --store {store.path} --reviewer NAME`" if r["maybe_pairs_open"] else ""))
    return 0


# -- parser -----------------------------------------------------------------------------------
DESCRIPTION = """\
review: systematic literature reviews from a protocol file, offline-first and resumable.

A protocol (.toml) states the review: its concepts, searches, criteria and settings. Every
command reads and writes one SQLite store per review (default reviews/<id>.sqlite), so work
can stop at any point and resume; finished work is never redone."""

EPILOG = """\
start:
  review run protocols/demo.toml     every stage on the shipped offline corpus (~1 min)
  review status --store reviews/demo.sqlite
then screen in JupyterLab (notebooks/02_screening.ipynb) or with `review screen`, and
`review run` again to bring the counts, PRISMA diagram, exports and report up to date.

`review COMMAND --help` explains a command. Errors print one line `error: ...` (exit 2)."""
PROTOCOL_HELP = "protocol file (.toml); default: the protocol saved in --store"
STAGE_HELP = "screening stage (default title_abstract)"

def _command(sub, name: str, func: Callable[[argparse.Namespace], int], help: str,
             review: bool = True) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(func=func)
    if review:
        p.add_argument("--store", "-s", metavar="STORE", help="review store (.sqlite); default: the protocol's")
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="review", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__import__('review').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = _command(sub, "init", cmd_init, "create a review store for a protocol")
    p.add_argument("protocol", metavar="PROTOCOL", help="protocol file (.toml)")
    p.add_argument("--force", action="store_true", help="bind an existing store of another review (another "
                   "protocol id) to this protocol; its records and decisions stay")

    p = _command(sub, "run", cmd_run, "run every stage of a review (resumable: finished work is kept)")
    p.add_argument("protocol", metavar="PROTOCOL", help="protocol file (.toml)")
    p.add_argument("--snapshot", metavar="FILE", help="search this OpenAlex snapshot file offline instead of the API")
    p.add_argument("--stages", metavar="LIST", type=lambda s: s.split(","), help="comma-separated stages to run")
    p.add_argument("--out", metavar="DIR", help="output folder (default out/<protocol id>)")

    p = _command(sub, "search", cmd_search, "run the protocol's searches (OpenAlex, or --snapshot offline)")
    p.add_argument("protocol", metavar="PROTOCOL", help="protocol file (.toml)")
    p.add_argument("--snapshot", metavar="FILE", help="search this OpenAlex snapshot file offline")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = _command(sub, "snowball", cmd_snowball, "citation chasing on OpenAlex: backward and forward")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--depth", type=int, metavar="N",
                   help="citation steps from the seeds (default from [snowball], else 1)")
    p.add_argument("--max-records", dest="max_records", type=int, metavar="N",
                   help="stop after N new records (default from [snowball])")
    p.add_argument("--no-backward", action="store_true", help="do not follow the seeds' references")
    p.add_argument("--no-forward", action="store_true", help="do not follow the works citing the seeds")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = _command(sub, "serve-openalex", cmd_serve_openalex, "serve OpenAlex works from a file on this machine "
                 "(offline development and tests: set OPENALEX_URL to the printed address)", review=False)
    p.add_argument("path", metavar="PATH", help="OpenAlex works: JSON array, JSON Lines, .gz or .zip "
                   "(e.g. bib/synergy_openalex.jsonl.gz)")
    p.add_argument("--port", type=int, default=8000, help="default 8000; 0 picks a free port")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")

    p = _command(sub, "status", cmd_status, "the review's counts (as in the PRISMA diagram) and the store's; "
                 "reads only, also from read-only media")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
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
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--reviewer", "-r", required=True, help="your name (reviewers screen blind to each other)")
    p.add_argument("--stage", default="title_abstract", choices=["title_abstract", "full_text"], help=STAGE_HELP)

    p = _command(sub, "conflicts", cmd_conflicts, "list (or --resolve) disagreements between reviewers")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--stage", default="title_abstract", choices=["title_abstract", "full_text"], help=STAGE_HELP)
    p.add_argument("--resolve", nargs=2, metavar=("RECORD_ID", "DECISION"),
                   help="settle one record: include/exclude/maybe")
    p.add_argument("--criterion", help="reason for --resolve (a criterion name of the protocol)")
    p.add_argument("--note", help="note for --resolve")

    p = _command(sub, "kappa", cmd_kappa, "Cohen's kappa between reviewers per stage")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--stage", choices=["title_abstract", "full_text"], help="one stage (default: both)")

    p = _command(sub, "definitions", cmd_definitions,
                 "extract, cluster and compare definitions of the protocol's concepts; "
                 "write table, figure, concept map")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--out", metavar="DIR", help="output folder (default out/<protocol id>/definitions)")

    p = _command(sub, "fulltext", cmd_fulltext, "add a record's full text (PDF or .txt), or record that it "
                 "cannot be had (PRISMA's 'reports not retrieved')")
    p.add_argument("action", choices=["add", "missing"], help="add: store FILE as the record's full text; "
                   "missing: the full text cannot be retrieved (give --reason)")
    p.add_argument("record_id", metavar="RECORD_ID", help="record id (e.g. W2741809807) or DOI")
    p.add_argument("file", metavar="FILE", nargs="?", help="add: the full text, .pdf or .txt (UTF-8)")
    p.add_argument("--reason", metavar="TEXT", help="missing: why, e.g. 'not held by the library'")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)

    p = _command(sub, "export", cmd_export, "export records as BibTeX, RIS or CSL-JSON")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--format", "-f", default="bibtex", choices=["bibtex", "ris", "csljson"], help="default bibtex")
    p.add_argument("--select", default="all", metavar="WHICH",
                   help="all (unique records), included, key-references[:KIND], cluster:[KIND:]N (default: all)")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--no-abstract", action="store_true", help="leave abstracts out")
    p.add_argument("--ascii", action="store_true", help="BibTeX: write non-ASCII letters as LaTeX accents")

    p = _command(sub, "prisma", cmd_prisma, "PRISMA 2020 flow diagram (SVG, PNG) and counts (CSV) from the store")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="folder for prisma.svg, prisma.png, prisma.csv")

    p = _command(sub, "report", cmd_report, "write the review report: one self-contained HTML file")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--out", "-o", metavar="FILE", help="default out/<protocol id>/report.html")

    p = _command(sub, "network", cmd_network, "build, cluster and export a citation, co-authorship or subject network; "
                 "print its key references (citation kinds) or top nodes, and its clusters")
    p.add_argument("kind", metavar="KIND",
                   help="citation, cocitation, coupling, coauthorship, institutions, countries, "
                   "concepts (the subjects the records carry), topics, keywords or terms")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--min-count", type=int, metavar="N", help="minimum occurrences of a node (coupling: shared "
                   "references of a link); default from [networks], else 2 for cocitation/concepts, 1 otherwise")
    p.add_argument("--norm", choices=["association", "cosine", "jaccard", "none"],
                   help="link normalisation (default association strength)")
    p.add_argument("--max-nodes", type=int, metavar="N", help="keep the N nodes with most link strength (default 1000)")
    p.add_argument("--included", action="store_true", help="only records included at title-abstract screening")
    p.add_argument("--top", type=int, default=20, metavar="N", help="key references and nodes to list (default 20)")
    p.add_argument("--out", "-o", metavar="DIR", help="output folder (default out/<protocol id>/networks)")

    p = _command(sub, "import", cmd_import, "import RIS, BibTeX, CSV, OpenAlex, Web of Science, PubMed or EndNote "
                 "XML files into the review store")
    p.add_argument("files", nargs="+", metavar="FILE", help="files to import (format from the suffix, or --format)")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--format", "-f", choices=IMPORT_FORMATS, help="default: from the file")
    p.add_argument("--lenient", action="store_true", help="skip malformed entries (listed) instead of stopping")
    p.add_argument("--strict", action="store_true", help="refuse a file for one malformed field (default: drop "
                   "the field, keep the record, list it)")
    p.add_argument("--column", action="append", metavar="FIELD=HEADER", help="CSV column for a field (repeatable)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of the files (default utf-8)")

    p = _command(sub, "dedup", cmd_dedup, "remove duplicates in the store (or in FILEs with --out DIR); "
                 "--review to decide the uncertain pairs")
    p.add_argument("files", nargs="*", metavar="FILE", help="deduplicate these files without a review store")
    p.add_argument("--out", "-o", metavar="DIR", help="file mode: folder for duplicate_groups.csv, maybe_pairs.csv, "
                   "records.csv")
    p.add_argument("--protocol", "-p", metavar="PROTOCOL", help=PROTOCOL_HELP)
    p.add_argument("--review", action="store_true", help="decide 'maybe' pairs: s(ame)/d(ifferent)/k(skip)/q(uit)")
    p.add_argument("--reviewer", "-r", help="your name, for --review")
    p.add_argument("--format", "-f", choices=IMPORT_FORMATS, help="file mode: input format")
    p.add_argument("--lenient", action="store_true", help="file mode: skip malformed entries (listed)")
    p.add_argument("--strict", action="store_true", help="file mode: refuse a file for one malformed field")
    p.add_argument("--column", action="append", metavar="FIELD=HEADER", help="file mode: CSV column for a field")
    p.add_argument("--encoding", default="utf-8", help="file mode: text encoding (default utf-8)")
    p.add_argument("--json", action="store_true", help="store mode: print the result as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``review`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (ReviewError, OSError) as e:
        msg = str(e) or type(e).__name__
        if isinstance(e, OSError) and e.filename:
            msg = f"{e.filename}: {e.strerror}"
        print(f"error: {msg}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        while _OPENED:
            _OPENED.pop().close()


if __name__ == "__main__":
    sys.exit(main())
