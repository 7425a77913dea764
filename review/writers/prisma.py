"""PRISMA 2020 flow diagram, counted from the review store only.

Where each number comes from (see :func:`counts`):

- identified: one per row of ``record_sources`` (a record found by two searches counts
  twice, as database hits do), plus one per record with no source row. Databases are
  OpenAlex searches (online or on a snapshot); other methods are citation searching
  (snowball) and imported files.
- duplicates removed: identified − unique records; of these, repeat hits of the same
  stored record across sources, and records the dedup stage marked in ``duplicates``.
- excluded by automation tools: unique records whose current ``prescreen`` decision by
  reviewer ``rules`` is exclude (with the criterion as reason).
- not screened: the rest of the title-abstract pool without any human decision (prioritised
  screening stopped early, or not finished); reported beside the automation exclusions.
- screened, excluded (by criterion), awaiting reconciliation: pool records with human
  title-abstract decisions; the outcome is the reconciled decision where dual screening
  produced one, else the reviewers' common decision (:func:`review.core.queries.final_decisions`).
- sought for retrieval: final title-abstract include or maybe (the full-text pool).
- assessed for eligibility: sought records with a full-text decision; not retrieved:
  sought, not assessed, ``fulltexts.status = 'not_retrieved'``; not yet assessed: the rest.
- reports excluded (by criterion), undecided, and studies included: final full-text decisions.

Every level adds up: identified = duplicates + unique; unique = automation + not screened
+ screened; screened = excluded + awaiting + sought; sought = not retrieved + assessed +
not yet assessed; assessed = excluded + undecided + included.
"""
from __future__ import annotations

import csv
import html
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.core.queries import counts
from review.core.store import Store


def rows(c: dict[str, Any]) -> list[tuple[str, str, int]]:
    """The counts as ``(key, label, n)`` rows (the CSV)."""
    out = [("identified", "Records identified", c["identified"]),
           ("identified.databases", "Records identified from databases", c["identified_databases"])]
    out += [(f"identified.databases.{s['kind']}:{s['name']}", s["label"], s["n"]) for s in c["sources"]
            if s["group"] == "databases"]
    out.append(("identified.other", "Records identified from other methods", c["identified_other"]))
    out += [(f"identified.other.{s['kind']}:{s['name']}", s["label"], s["n"]) for s in c["sources"]
            if s["group"] == "other"]
    out += [("duplicates_removed", "Duplicate records removed", c["duplicates_removed"]),
            ("duplicates_removed.repeat_hits", "Found again by another search or source", c["duplicates_repeat_hits"]),
            ("duplicates_removed.merged", "Merged by deduplication", c["duplicates_merged"]),
            ("excluded_by_automation", "Records marked as ineligible by automation tools", c["excluded_by_automation"])]
    out += [(f"excluded_by_automation.{k}", k, n) for k, n in c["automation_reasons"].items()]
    out += [("not_screened", "Records not screened (prioritised screening stopped or unfinished)", c["not_screened"]),
            ("screened", "Records screened", c["screened"]),
            ("excluded_screening", "Records excluded", c["excluded_screening"])]
    out += [(f"excluded_screening.{k}", k, n) for k, n in c["screening_reasons"].items()]
    out += [("screening_conflicts", "Records awaiting reconciliation of reviewers", c["screening_conflicts"]),
            ("sought", "Reports sought for retrieval", c["sought"]),
            ("not_retrieved", "Reports not retrieved", c["not_retrieved"]),
            ("not_yet_assessed", "Reports not yet assessed", c["not_yet_assessed"]),
            ("assessed", "Reports assessed for eligibility", c["assessed"]),
            ("excluded_full_text", "Reports excluded", c["excluded_full_text"])]
    out += [(f"excluded_full_text.{k}", k, n) for k, n in c["full_text_reasons"].items()]
    out += [("full_text_undecided", "Reports undecided (maybe or awaiting reconciliation)", c["full_text_undecided"]),
            ("included", "Studies included in review", c["included"])]
    return out


# -- layout ---------------------------------------------------------------------------------------------
W, MAIN_X, SIDE_X, BOX_W, PAD, LINE_H, FONT = 900, 70, 500, 370, 10, 17, 13
CHARS = int((BOX_W - 2 * PAD) / (FONT * 0.56))


@dataclass
class Box:
    x: float
    y: float
    lines: list[tuple[str, bool, int]]  # (text, bold, indent level)
    w: float = BOX_W
    fill: str = "#ffffff"

    @property
    def h(self) -> float:
        return 2 * PAD + LINE_H * len(self.lines)


@dataclass
class Layout:
    boxes: list[Box] = field(default_factory=list)
    arrows: list[tuple[float, float, float, float]] = field(default_factory=list)
    phases: list[tuple[float, float, str]] = field(default_factory=list)  # (y0, y1, label)
    height: float = 0


def _n(v: int) -> str:
    return f"(n\u00a0=\u00a0{v:,})"  # no-break spaces: a count is never wrapped apart


def _wrap(text: str, bold: bool = False, indent: int = 0) -> list[tuple[str, bool, int]]:
    width = CHARS - 3 * indent
    return [(ln, bold, indent if i == 0 else indent + 1)
            for i, ln in enumerate(textwrap.wrap(text, width) or [""])]


def layout(c: dict[str, Any]) -> Layout:
    """Boxes, arrows and phase bands of the flow diagram for counts ``c``."""
    ident = _wrap(f"Records identified {_n(c['identified'])}", True)
    for group, title in (("databases", "Databases"), ("other", "Other methods")):
        srcs = [s for s in c["sources"] if s["group"] == group]
        if srcs or group == "databases":
            ident += _wrap(f"{title} {_n(c['identified_' + group])}:", False, 0)
            for s in srcs:
                ident += _wrap(f"{s['label']} {_n(s['n'])}", False, 1)
    removed = _wrap("Records removed before screening:", True)
    removed += _wrap(f"Duplicate records {_n(c['duplicates_removed'])}")
    removed += _wrap(f"found again by another search {_n(c['duplicates_repeat_hits'])}", False, 1)
    removed += _wrap(f"merged by deduplication {_n(c['duplicates_merged'])}", False, 1)
    removed += _wrap(f"Marked as ineligible by automation tools {_n(c['excluded_by_automation'])}")
    for k, n in c["automation_reasons"].items():
        removed += _wrap(f"{k} {_n(n)}", False, 1)
    if c["not_screened"]:
        removed += _wrap(f"Not screened: prioritised screening stopped or unfinished {_n(c['not_screened'])}")

    ex = _wrap(f"Records excluded {_n(c['excluded_screening'])}", True)
    for k, n in c["screening_reasons"].items():
        ex += _wrap(f"{k} {_n(n)}", False, 1)
    if c["screening_conflicts"]:
        ex += _wrap(f"Awaiting reconciliation of reviewers {_n(c['screening_conflicts'])}", True)
    nr = _wrap(f"Reports not retrieved {_n(c['not_retrieved'])}", True)
    if c["not_yet_assessed"]:
        nr += _wrap(f"Reports not yet assessed {_n(c['not_yet_assessed'])}", True)
    fx = _wrap(f"Reports excluded {_n(c['excluded_full_text'])}", True)
    for k, n in c["full_text_reasons"].items():
        fx += _wrap(f"{k} {_n(n)}", False, 1)
    if c["full_text_undecided"]:
        fx += _wrap(f"Undecided (maybe) or awaiting reconciliation {_n(c['full_text_undecided'])}", True)

    rows_ = [("Identification", ident, removed),
             ("Screening", _wrap(f"Records screened {_n(c['screened'])}", True), ex),
             ("Screening", _wrap(f"Reports sought for retrieval {_n(c['sought'])}", True), nr),
             ("Screening", _wrap(f"Reports assessed for eligibility {_n(c['assessed'])}", True), fx),
             ("Included", _wrap(f"Studies included in review {_n(c['included'])}", True)
              + _wrap(f"Reports of included studies {_n(c['included'])}", True), None)]
    lay, y, gap = Layout(), 20.0, 36.0
    prev: Box | None = None
    bands: list[list[Any]] = []
    for phase, main_lines, side_lines in rows_:
        main = Box(MAIN_X, y, main_lines)
        side = Box(SIDE_X, y, side_lines) if side_lines else None
        row_h = max(main.h, side.h if side else 0)
        main.y = y + (row_h - main.h) / 2
        lay.boxes.append(main)
        if side:
            side.y = y + (row_h - side.h) / 2
            side.fill = "#f6f6f6"
            lay.boxes.append(side)
            lay.arrows.append((main.x + main.w, main.y + main.h / 2, side.x, side.y + side.h / 2))
        if prev is not None:
            lay.arrows.append((main.x + main.w / 2, prev.y + prev.h, main.x + main.w / 2, main.y))
        if bands and bands[-1][2] == phase:
            bands[-1][1] = y + row_h
        else:
            bands.append([y, y + row_h, phase])
        prev, y = main, y + row_h + gap
    min_band = 80  # room for the rotated phase label
    lay.phases = [(a, b, p) if b - a >= min_band else ((a + b - min_band) / 2, (a + b + min_band) / 2, p)
                  for a, b, p in bands]
    lay.height = y - gap + 20
    return lay


def svg(c: dict[str, Any]) -> str:
    """The diagram as standalone SVG text (every label escaped)."""
    lay = layout(c)
    e = lambda s: html.escape(str(s), quote=True)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{lay.height:.0f}" '
           f'viewBox="0 0 {W} {lay.height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="{FONT}" '
           'role="img" aria-labelledby="prisma-title">',
           '<title id="prisma-title">PRISMA 2020 flow diagram</title>',
           '<defs><marker id="prisma-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
           f'<rect x="0" y="0" width="{W}" height="{lay.height:.0f}" fill="#ffffff"/>']
    for y0, y1, label in lay.phases:
        cx, cy = 32, (y0 + y1) / 2
        out.append(f'<rect x="20" y="{y0:.1f}" width="26" height="{y1 - y0:.1f}" rx="4" fill="#9ec5e8"/>')
        out.append(f'<text x="{cx}" y="{cy:.1f}" transform="rotate(-90 {cx} {cy:.1f})" text-anchor="middle" '
                   f'dominant-baseline="central" font-weight="bold">{e(label)}</text>')
    for b in lay.boxes:
        out.append(f'<rect x="{b.x}" y="{b.y:.1f}" width="{b.w}" height="{b.h:.1f}" fill="{b.fill}" '
                   'stroke="#333" stroke-width="1.2"/>')
        for i, (text, bold, indent) in enumerate(b.lines):
            ty = b.y + PAD + LINE_H * (i + 0.75)
            weight = ' font-weight="bold"' if bold else ""
            out.append(f'<text x="{b.x + PAD + 14 * indent}" y="{ty:.1f}"{weight}>{e(text)}</text>')
    for x1, y1, x2, y2 in lay.arrows:
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#333" stroke-width="1.2" '
                   'marker-end="url(#prisma-arrow)"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def png(c: dict[str, Any], path: str | Path, scale: float = 2.0) -> Path:
    """The same diagram drawn with matplotlib to a PNG (``scale`` × the SVG's pixel size)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, Rectangle

    lay = layout(c)
    dpi = 100 * scale
    fig = Figure(figsize=(W / 100, lay.height / 100), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, W)
    ax.set_ylim(lay.height, 0)
    ax.axis("off")
    pt = FONT * 72 / 100  # px at 100 dpi → points
    for y0, y1, label in lay.phases:
        ax.add_patch(FancyBboxPatch((20, y0), 26, y1 - y0, boxstyle="round,pad=0,rounding_size=4",
                                    facecolor="#9ec5e8", edgecolor="none"))
        ax.text(33, (y0 + y1) / 2, label, rotation=90, ha="center", va="center", fontsize=pt, fontweight="bold")
    for b in lay.boxes:
        ax.add_patch(Rectangle((b.x, b.y), b.w, b.h, facecolor=b.fill, edgecolor="#333", linewidth=1.2 * 0.72))
        for i, (text, bold, indent) in enumerate(b.lines):
            ax.text(b.x + PAD + 14 * indent, b.y + PAD + LINE_H * (i + 0.75), text, fontsize=pt,
                    fontweight="bold" if bold else "normal", va="baseline", ha="left")
    for x1, y1, x2, y2 in lay.arrows:
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1),
                    arrowprops={"arrowstyle": "-|>", "color": "#333", "lw": 1.2 * 0.72, "shrinkA": 0, "shrinkB": 0})
    path = Path(path)
    fig.savefig(path, dpi=dpi, facecolor="white")
    return path


def write(store: Store, out_dir: str | Path, numbers: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``prisma.svg``, ``prisma.png`` and ``prisma.csv`` to ``out_dir``; returns their paths.

    ``numbers``: the result of :func:`counts`, if already computed.
    """
    c = numbers if numbers is not None else counts(store)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"svg": out / "prisma.svg", "png": out / "prisma.png", "csv": out / "prisma.csv"}
    paths["svg"].write_text(svg(c), encoding="utf-8")
    png(c, paths["png"])
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "label", "n"])
        w.writerows(rows(c))
    return paths
