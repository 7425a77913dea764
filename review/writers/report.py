"""The review report: one self-contained HTML file that works offline.

Sections: protocol summary (with its hash), search log, PRISMA 2020 diagram (inline SVG)
and counts, screening decisions, definitions (clusters and the concept comparison when the
definitions stage has produced them), maps (network figures embedded as data URIs, links
to interactive maps), and the included studies with a BibTeX download.

Every string that comes from a record, the protocol or the store is escaped, and a
Content-Security-Policy forbids scripts and any network access, so a ``<script>`` in a
title is shown as text and never runs.
"""
from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from review import __version__
from review.core.queries import decision_tally, definition_rows
from review.core.store import Store

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
MAX_ROWS = 500  # rows per generic table, so a huge artifact cannot make the page unusable
MAX_IMAGE_BYTES = 8_000_000

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:2px solid #9ec5e8;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:break-word}\
th{background:#eef5fb}
code,.mono{font-family:Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.note{background:#fff8e1;border-left:4px solid #f0c040;padding:.5em 1em}
.muted{color:#666}figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}
.prisma svg{max-width:100%;height:auto}a.button{display:inline-block;padding:.4em .8em;background:#2a6ebb;
color:#fff;border-radius:4px;text-decoration:none}
"""


def e(value: Any) -> str:
    """HTML-escaped text of any value (None → empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s) (never ``javascript:`` or ``data:``), else None."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else None


def _link(url: str | None, text: str) -> str:
    u = safe_url(url)
    return f'<a href="{e(u)}" rel="noopener noreferrer">{e(text)}</a>' if u else e(text)


def table(header: list[str], body: Iterable[Iterable[Any]], raw_cols: set[int] = frozenset()) -> str:
    """An HTML table; cells escaped except the columns in ``raw_cols`` (already-built HTML)."""
    out = ["<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for row in body:
        out.append("<tr>" + "".join(f"<td>{c if i in raw_cols else e(c)}</td>" for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render_value(value: Any, depth: int = 0) -> str:
    """Any JSON value as escaped HTML: lists of objects as tables, objects as key tables."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        cols: list[str] = []
        for v in value[:MAX_ROWS]:
            cols += [k for k in v if k not in cols]
        cols = cols[:12]
        body = [[_cell(v.get(c)) for c in cols] for v in value[:MAX_ROWS]]
        more = f'<p class="muted">{len(value) - MAX_ROWS:,} more rows not shown.</p>' if len(value) > MAX_ROWS else ""
        return table(cols, body) + more
    if isinstance(value, dict) and depth < 2:
        return table(["key", "value"], [[k, render_value(v, depth + 1)] for k, v in list(value.items())[:MAX_ROWS]],
                     raw_cols={1})
    return e(_cell(value))


def _cell(v: Any) -> str:
    if isinstance(v, (dict, list)):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= 300 else s[:300] + "…"
    return "" if v is None else str(v)


def _not_run(what: str, how: str) -> str:
    return f'<p class="note">{e(what)} not run yet: {e(how)}</p>'


# -- sections -------------------------------------------------------------------------------------------
def section_protocol(store: Store, protocol) -> str:
    p = protocol
    out = [f"<p>Protocol <code>{e(p.id)}</code>, hash <code>{e(p.hash)}</code>"
           + (f", file <code>{e(p.path)}</code>" if p.path else "") + ".</p>"]
    if p.questions:
        out.append("<h3>Questions</h3><ol>" + "".join(f"<li>{e(q)}</li>" for q in p.questions) + "</ol>")
    if p.concepts:
        out.append("<h3>Concepts</h3>" + table(
            ["concept", "terms", "related"],
            [[c.label or c.key, "; ".join(f"{lang}: {', '.join(ts)}" for lang, ts in c.terms.items()),
              ", ".join(c.related)] for c in p.concepts]))
    if p.searches:
        out.append("<h3>Searches</h3>" + table(
            ["name", "query", "years", "types", "languages"],
            [[s.name, s.query, f"{s.from_year or ''}–{s.to_year or ''}" if (s.from_year or s.to_year) else "",
              ", ".join(s.types), ", ".join(s.languages)] for s in p.searches]))
    if p.criteria:
        out.append("<h3>Eligibility criteria</h3>" + table(
            ["name", "kind", "description", "applied"],
            [[c.name, c.kind, c.description, "automatically" if (c.automatic and c.has_rule) else "by reviewers"]
             for c in p.criteria]))
    others = [r for r in store.protocols() if r["hash"] != p.hash]
    if others:
        out.append("<p class='muted'>Earlier protocol versions in this store: "
                   + ", ".join(f"<code>{e(r['hash'])}</code> ({e(r['loaded_at'])})" for r in others) + "</p>")
    return "".join(out)


def section_search_log(store: Store) -> str:
    runs = store.runs()
    if not runs:
        return _not_run("Searches", "`review run PROTOCOL` or `review search PROTOCOL`")
    body = []
    for r in runs:
        query = _json(r["query"])
        if isinstance(query, dict):
            text = query.get("query") or query.get("search") or ""
            rest = {k: v for k, v in query.items() if k not in ("query", "name") and v not in (None, [], "")}
            query = f"{text}  {json.dumps(rest, ensure_ascii=False)}" if rest else text
        versions = _json(r["tool_versions"]) or {}
        body.append([r["id"], r["kind"], r["label"], _cell(query), _time(r["started_at"]), _time(r["finished_at"]),
                     r["status"], r["n_records"], "; ".join(f"{k} {v}" for k, v in versions.items())
                     if isinstance(versions, dict) else _cell(versions), (r["protocol_hash"] or "")[:12]])
    return table(["run", "kind", "label", "query", "started (UTC)", "finished (UTC)", "status", "records",
                  "tool versions", "protocol"], body)


def _time(ts: str | None) -> str:
    return (ts or "")[:19].replace("T", " ")


def section_prisma(numbers: dict[str, Any]) -> str:
    from review.writers.prisma import rows, svg

    return (f'<figure class="prisma" id="prisma-diagram">{svg(numbers)}</figure>'
            "<details><summary>Counts (as in prisma.csv)</summary>"
            + table(["key", "label", "n"], rows(numbers)) + "</details>")


def section_screening(store: Store) -> str:
    agg = decision_tally(store)
    if not agg:
        return _not_run("Screening", "screen with `review screen` or the screening notebook")
    return table(["stage", "reviewer", "include", "maybe", "exclude"],
                 [[s, rv, d.get("include", 0), d.get("maybe", 0), d.get("exclude", 0)] for (s, rv), d in agg.items()])


def _clusters_html(data: dict[str, Any]) -> str:
    head = (f"<p>{e(data['k'])} cluster(s) ({e(data.get('method', ''))}; k chosen by {e(data.get('criterion', ''))}"
            + (f", silhouette {data['silhouette']:.3f}" if isinstance(data.get("silhouette"), (int, float)) else "")
            + ")." + (f" {e(data['note'])}" if data.get("note") else "") + "</p>")
    body = [[c["id"], c["size"], ", ".join(c.get("terms", [])[:10]),
             ", ".join(f"{k} {v}" for k, v in (c.get("concepts") or {}).items()),
             "–".join(str(y) for y in (c.get("year_range") or []) if y is not None),
             c.get("representative_sentence", "")]
            for c in data["clusters"]]
    return head + table(["cluster", "definitions", "distinctive terms", "concepts", "years",
                         "representative definition"], body)


def _comparison_html(data: dict[str, Any]) -> str:
    cols = data["columns"]
    out = []
    for dim in dict.fromkeys(c.split(":")[0] for c in cols):
        dcols = [c for c in cols if c.startswith(dim + ":")]
        body = [[r.get("label") or r["concept"], r["n"]]
                + ["–" if r["cells"][c]["share"] is None else f"{r['cells'][c]['share']:.0%} ({r['cells'][c]['n']})"
                   for c in dcols] for r in data["rows"]]
        out.append(f"<h4>{e(dim.replace('_', ' '))}</h4>"
                   + table(["concept", "n"] + [c.split(":", 1)[1].replace("_", " ") for c in dcols], body))
    return ("<p class='muted'>Share of each concept's definitions that mention the dimension level (n).</p>"
            + "".join(out))


def _artifact_html(data: Any, special) -> str:
    try:
        return special(data)
    except (KeyError, TypeError, AttributeError, ValueError):  # another shape than expected: show it as it is
        return render_value(data)


def _embeddable(png: Path, out_dir: Path | None) -> bool:
    """A PNG file the report may embed: inside the review's output folder (after links are resolved), not too big."""
    if out_dir is None or png.suffix.lower() != ".png" or not png.is_file():
        return False
    if not png.resolve().is_relative_to(out_dir.resolve()):
        return False
    return png.stat().st_size <= MAX_IMAGE_BYTES


def _images(folder: Path | None, out_dir: Path | None) -> str:
    if not folder or not folder.is_dir():
        return ""
    return "".join(_img(png) for png in sorted(folder.glob("*.png")) if _embeddable(png, out_dir))


def _img(png: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{e(png.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(png.stem)}</figcaption></figure>")


def section_definitions(store: Store, out_dir: Path | None) -> str:
    out = []
    clusters, comparison = store.artifact("definition_clusters"), store.artifact("concept_comparison")
    if clusters is not None:
        out.append("<h3>Clusters of definitions</h3>" + _artifact_html(clusters, _clusters_html))
    if comparison is not None:
        out.append("<h3>Concept comparison</h3>" + _artifact_html(comparison, _comparison_html))
    out.append(_images(out_dir / "definitions" if out_dir else None, out_dir))
    defs = sorted(definition_rows(store), key=lambda d: (d["concept"], d["year"] is not None, d["year"] or 0, d["id"]))
    if defs:
        by: dict[str, list[Any]] = {}
        for d in defs:
            by.setdefault(d["concept"], []).append(d)
        out.append("<h3>Definitions found, per concept</h3>")
        for concept, ds in by.items():
            out.append(f"<details><summary>{e(concept)} ({len(ds):,} definitions)</summary>" + table(
                ["year", "record", "definition", "cites"],
                [[d["year"], d["record_id"], d["sentence"], d["cited"]] for d in ds[:MAX_ROWS]]) + "</details>")
    if not "".join(out):
        return _not_run("The definitions stage", "`review run PROTOCOL --stages definitions`")
    if clusters is None and comparison is None:
        out.insert(0, _not_run("Definition clustering and the concept comparison", "the definitions stage"))
    return "".join(out)


def section_maps(store: Store, out_dir: Path | None, report_dir: Path) -> str:
    out = []
    for name, art in store.artifacts("network:"):
        if not isinstance(art, dict):
            continue
        kind = name.split(":", 1)[1]
        part = [f"<h3>{e(kind.capitalize())} network</h3><p>{e(art.get('nodes', '?'))} nodes, "
                f"{e(art.get('links', '?'))} links, {e(len(art.get('clusters') or []))} clusters "
                f"({e(art.get('record_set', ''))} records).</p>"]
        files = {k: Path(v) for k, v in (art.get("files") or {}).items() if isinstance(v, str)}
        for f in files.values():  # a path in the store names any file: embed only the review's own figures
            if _embeddable(f, out_dir):
                part.append(_img(f))
        links = [f for f in files.values() if f.suffix == ".html" and f.is_file()]
        if links:
            part.append("<p>Interactive map (open next to this report): " + ", ".join(
                f'<a href="{e(_relative(f, report_dir))}">{e(f.name)}</a>' for f in links) + "</p>")
        if art.get("clusters"):
            part.append("<details><summary>Clusters</summary>" + render_value(art["clusters"]) + "</details>")
        if art.get("key_references"):
            part.append("<details><summary>Key references</summary>" + render_value(art["key_references"])
                        + "</details>")
        out.append("".join(part))
    return "".join(out) or _not_run("The networks stage", "`review run PROTOCOL --stages networks`")


def _relative(path: Path, start: Path) -> str:
    import os

    return quote(Path(os.path.relpath(path.resolve(), start.resolve())).as_posix())


def section_included(store: Store, numbers: dict[str, Any]) -> str:
    from review.core.queries import included_ids
    from review.writers.bibliography import store_keys, to_bibtex

    ids = numbers["included_ids"]
    label = "Studies included (final full-text decision)"
    if not ids:
        ids = included_ids(store, "title_abstract")
        label = "Records included at title-abstract screening (full texts not yet assessed)"
    if not ids:
        return _not_run("Screening with included studies", "no record has a final include decision yet")
    records = list(store.records(ids))
    keys = store_keys(store, records)
    bib = base64.b64encode(to_bibtex(records, keys).encode("utf-8")).decode("ascii")
    body = []
    for r in records:
        doi = _link(f"https://doi.org/{quote(r.doi, safe='/:;()._-')}", r.doi) if r.doi else ""
        authors = ", ".join(a.name for a in r.authors[:3]) + (" et al." if len(r.authors) > 3 else "")
        body.append([e(keys[r.id]), e(authors), e(r.year or ""), _link(r.url, r.title) if r.url else e(r.title),
                     e(r.venue), doi])
    return (f"<p>{e(label)}: {len(records):,}. "
            f'<a class="button" download="included.bib" href="data:application/x-bibtex;charset=utf-8;base64,{bib}">'
            "Download BibTeX</a></p>"
            + table(["key", "authors", "year", "title", "venue", "DOI"], body, raw_cols={0, 1, 2, 3, 4, 5}))


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


# -- the page -----------------------------------------------------------------------------------------
def build(store: Store, protocol, out_dir: str | Path | None = None, report_dir: str | Path | None = None,
          numbers: dict[str, Any] | None = None) -> str:
    """The report as HTML text.

    ``out_dir``: the review's output folder (network figures are looked for in ``out_dir/networks``);
    ``report_dir``: where the file will be written (for relative links).
    """
    from review.core.queries import counts

    numbers = numbers if numbers is not None else counts(store)
    out_dir = Path(out_dir) if out_dir else None
    report_dir = Path(report_dir) if report_dir else (out_dir or Path.cwd())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [("protocol", "Protocol", section_protocol(store, protocol)),
                ("search-log", "Search log", section_search_log(store)),
                ("prisma", "PRISMA 2020 flow diagram", section_prisma(numbers)),
                ("screening", "Screening decisions", section_screening(store)),
                ("definitions", "Definitions and concepts", section_definitions(store, out_dir)),
                ("maps", "Maps", section_maps(store, out_dir, report_dir)),
                ("included", "Included studies", section_included(store, numbers))]
    nav = " · ".join(f'<a href="#{sid}">{e(title)}</a>' for sid, title, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{e(title)}</h2>{content}</section>' for sid, title, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(protocol.title or protocol.id)}: review report</title><style>{STYLE}</style></head><body>"
            f"<h1>{e(protocol.title or protocol.id)}</h1>"
            f'<p class="muted">Review report generated {e(generated)} by review {e(__version__)} from '
            f"<code>{e(store.path.name)}</code>.</p><nav>{nav}</nav>{body}</body></html>\n")


def write(store: Store, protocol, path: str | Path, out_dir: str | Path | None = None,
          numbers: dict[str, Any] | None = None) -> Path:
    """Write the report to ``path`` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build(store, protocol, out_dir, path.parent, numbers), encoding="utf-8")
    return path
