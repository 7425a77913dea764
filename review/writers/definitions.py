"""Files of the definitions stage: definitions.csv, clusters.md, comparison tables and heatmap."""
from __future__ import annotations

import csv
import html
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from review.definitions.cluster import Clustering
from review.definitions.extract import Definition


def write_csv(definitions: list[Definition], path: str | Path) -> Path:
    """Definitions as CSV (one row per definition, with its id for tracing; ``score`` is the model's probability and
    ``pattern`` why the sentence was taken: hand pattern, score and the features that raised it most)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = ["id", "concept", "record_id", "year", "field", "position", "score", "pattern", "lang", "cited", "sentence"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for d in definitions:
            w.writerow(asdict(d))
    return path


def write_comparison(table: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """The comparison as CSV, Markdown, trace JSON (cell → definition ids) and a heatmap (PNG, SVG)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "comparison.csv", "md": out / "comparison.md", "trace": out / "comparison_trace.json",
             "png": out / "comparison.png", "svg": out / "comparison.svg"}
    cols = table["columns"]
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["concept", "label", "definitions"] + [f"{c} share" for c in cols] + [f"{c} n" for c in cols])
        for r in table["rows"]:
            w.writerow([r["concept"], r["label"], r["n"]]
                       + ["" if r["cells"][c]["share"] is None else r["cells"][c]["share"] for c in cols]
                       + [r["cells"][c]["n"] for c in cols])
    lines = ["# Concept comparison", "",
             "Share of each concept's definitions that mention an indicator of the dimension level "
             "(n = number of definitions). Indicators: `comparison_trace.json` (`indicators`); the definitions "
             "behind each cell: `comparison_trace.json` (`cells`).", ""]
    for dim in dict.fromkeys(c.split(":")[0] for c in cols):
        dcols = [c for c in cols if c.startswith(dim + ":")]
        lines += [f"## {dim.replace('_', ' ')}", "",
                  "| concept | n | " + " | ".join(c.split(":")[1].replace("_", " ") for c in dcols) + " |",
                  "|---|---:|" + "---:|" * len(dcols)]
        for r in table["rows"]:
            cells = [("–" if r["cells"][c]["share"] is None else f"{r['cells'][c]['share']:.0%} ({r['cells'][c]['n']})")
                     for c in dcols]
            lines.append(f"| {_md(r['label'])} | {r['n']} | " + " | ".join(cells) + " |")
        lines.append("")
    paths["md"].write_text("\n".join(lines), encoding="utf-8")
    trace = {"indicators": table["indicators"],
             "cells": {r["concept"]: {c: r["cells"][c]["ids"] for c in cols if r["cells"][c]["ids"]}
                       for r in table["rows"]},
             "terms": {r["concept"]: {c: r["cells"][c]["terms"] for c in cols if r["cells"][c]["terms"]}
                       for r in table["rows"]}}
    paths["trace"].write_text(json.dumps(trace, ensure_ascii=False, indent=1), encoding="utf-8")
    heatmap(table, paths["png"], paths["svg"])
    return paths


def _md(text: str) -> str:
    """Text for a Markdown line or table cell: HTML escaped (Markdown viewers render inline HTML)."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def heatmap(table: dict[str, Any], *paths: str | Path) -> None:
    """Concepts × dimension levels heatmap (share of definitions), saved to each path (PNG, SVG, …)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols, rows = table["columns"], table["rows"]
    data = np.array([[np.nan if r["cells"][c]["share"] is None else r["cells"][c]["share"] for c in cols]
                     for r in rows],
                    dtype=float).reshape(len(rows), len(cols))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(cols) + 2.5), max(2.0, 0.5 * len(rows) + 2.2)))
    im = ax.imshow(np.nan_to_num(data, nan=0.0), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), [c.split(":")[1].replace("_", " ") for c in cols], rotation=60, ha="right",
                  fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{r['label']} (n={r['n']})" for r in rows], fontsize=9)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not math.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.0%}", ha="center", va="center", fontsize=6,
                        color="white" if data[i, j] > 0.6 else "black")
    start = 0
    for dim in dict.fromkeys(c.split(":")[0] for c in cols):
        width = sum(1 for c in cols if c.startswith(dim + ":"))
        if start:
            ax.axvline(start - 0.5, color="grey", linewidth=1)
        ax.text(start + width / 2 - 0.5, -0.7, dim.replace("_", " "), ha="center", va="bottom", fontsize=8)
        start += width
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="share of definitions")
    ax.set_title("How each concept is defined", pad=22)
    fig.tight_layout()
    for p in paths:
        fig.savefig(p, dpi=150, metadata={"Date": None} if str(p).endswith(".svg") else None)
    plt.close(fig)


def format_clusters(clustering: Clustering, labels: dict[str, str] | None = None, markdown: bool = False,
                    width: int = 160) -> str:
    """Clusters as text (or Markdown): size, distinctive terms, concept and year mix, representative definition."""
    labels = labels or {}
    head = (f"{clustering.k} cluster(s) of definitions ({clustering.method}; "
            f"silhouette {clustering.silhouette if clustering.silhouette is not None else 'n/a'}); "
            f"k: {clustering.criterion}")
    lines = [f"# Clusters of definitions\n\n{head}\n" if markdown else head]
    if clustering.note:
        lines.append(f"note: {clustering.note}")
    for c in clustering.clusters:
        mix = ", ".join(f"{labels.get(k, k)} {n}" for k, n in c.concepts.items())
        years = f"{c.year_range[0]}–{c.year_range[1]}" if c.year_range[0] else "years unknown"
        rep = c.representative_sentence if markdown else _short(c.representative_sentence, width)
        if markdown:
            lines += [f"## Cluster {c.id}: {_md(', '.join(c.terms)) or '(no terms)'}", "",
                      f"- {c.size} definitions; concepts: {_md(mix)}; {years}", f"- representative: {_md(rep)}", ""]
        else:
            lines += [f"[{c.id}] {c.size:>4} defs | {', '.join(c.terms) or '(no terms)'}",
                      f"       concepts: {mix} | {years}", f"       e.g.: {rep}"]
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
