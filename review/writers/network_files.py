"""Write a science map (:class:`~review.networks.maps.Map`) in the formats other tools read.

- GraphML and GEXF (Gephi, networkx, igraph), attributes of types both formats accept;
- VOSviewer JSON (map and network in one file; https://app.vosviewer.com/docs/file-types/json-file-type/);
- Cytoscape JSON (``networkx.cytoscape_data`` plus node positions);
- a self-contained interactive HTML map (pan, zoom, hover labels, search, cluster
  filter) that works offline: no CDN, no request of any kind (its Content-Security-Policy
  forbids them), every text from records inserted as text, never as markup;
- PNG and SVG figures (matplotlib, no pyplot state): the map, the thematic map and the
  historiograph;
- a CSV table of the nodes.

No writer puts a non-finite number in a file: a node value that is NaN or infinite is
left out (as an unknown one), and a non-finite link strength or position is refused with
``ValueError`` (GraphML readers, Gephi and ``JSON.parse`` cannot read them).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from review.core.settings import NETWORK_FORMATS as FORMATS
from review.networks.build import WORK_KINDS
from review.networks.maps import Map

# Distinct colours for the largest clusters (1 = largest); every smaller cluster is OTHER_COLOR, and the
# legends say so: 85 co-authorship clusters in 20 cycled colours looked like a few big ones.
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#e377c2", "#8c564b", "#bcbd22",
           "#393b79", "#ad494a", "#637939"]
OTHER_COLOR = "#b3b3b3"
HTML_MAX_LINKS = 5000  # links drawn in the HTML map: each node's strongest few, then the strongest overall
TERMINOLOGY = {
    "citation": ("Document", "Documents", "Citation link", "Citation links", "Citations", "Total citation links"),
    "cocitation": ("Cited reference", "Cited references", "Co-citation link", "Co-citation links", "Co-citations",
                   "Total co-citations"),
    "coupling": ("Document", "Documents", "Bibliographic coupling link", "Bibliographic coupling links",
                 "Shared references", "Total shared references"),
    "coauthorship": ("Author", "Authors", "Co-authorship link", "Co-authorship links", "Co-authored documents",
                     "Total co-authored documents"),
    "institutions": ("Organization", "Organizations", "Co-authorship link", "Co-authorship links",
                     "Co-authored documents", "Total co-authored documents"),
    "countries": ("Country", "Countries", "Co-authorship link", "Co-authorship links", "Co-authored documents",
                  "Total co-authored documents"),
    "concepts": ("Term", "Terms", "Co-occurrence link", "Co-occurrence links", "Co-occurrences",
                 "Total co-occurrences"),
}


def color(cluster: int) -> str:
    """The colour of cluster ``cluster``: its own for the :data:`PALETTE` largest, else :data:`OTHER_COLOR`."""
    return PALETTE[cluster - 1] if 0 < cluster <= len(PALETTE) else OTHER_COLOR


def other_clusters(m: Map) -> tuple[int, int]:
    """How many clusters share :data:`OTHER_COLOR`, and how many nodes they hold."""
    k = int(m.clusters.max(initial=0))
    return max(k - len(PALETTE), 0), int((m.clusters > len(PALETTE)).sum())


# -- one table of node attributes shared by all formats ----------------------------------------------
def node_rows(m: Map) -> list[dict[str, Any]]:
    """One dict per node: id, label, cluster, count, position, centralities and known metadata.

    Values are str, int, float or bool only (what GraphML and GEXF accept); unknown ones are left out.
    """
    net = m.network
    rows = []
    for i in range(len(net)):
        k = int(m.clusters[i])
        x, y = float(m.xy[i, 0]), float(m.xy[i, 1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"node {net.ids[i]!r} has no finite position ({x}, {y}); not writing the map")
        row: dict[str, Any] = {"id": net.ids[i], "label": net.labels[i], "cluster": k,
                               "cluster_label": m.cluster_label(k), "count": int(net.counts[i]), "x": x, "y": y}
        for key, v in [*((name, values[i]) for name, values in m.centrality.items()), *net.meta[i].items()]:
            if v is None or v == "" or key.startswith("_"):
                continue
            v = v if isinstance(v, (str, bool)) else int(v) if isinstance(v, (int, np.integer)) else float(v)
            if isinstance(v, float) and not math.isfinite(v):
                continue  # unknown, like None
            row[key] = v
        rows.append(row)
    return rows


def finite_edges(m: Map) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``network.edges()``, refusing a link strength that is NaN or infinite (``ValueError``)."""
    net = m.network
    i, j, c, w = net.edges()
    bad = np.flatnonzero(~np.isfinite(w))
    if len(bad):
        e = bad[0]
        raise ValueError(f"{len(bad)} link strength(s) of the {net.name} network are not finite numbers (first: "
                         f"{net.ids[i[e]]} – {net.ids[j[e]]}: {w[e]}); not writing the map")
    return i, j, c, w


def to_networkx(m: Map):
    """A networkx (Di)Graph with every node attribute of :func:`node_rows`; links carry ``weight``
    (normalised strength) and ``count`` (raw)."""
    import networkx as nx

    net = m.network
    g = nx.DiGraph() if net.directed else nx.Graph()
    g.graph.update({"kind": net.kind, "norm": net.norm, "count": net.count_name})
    for row in node_rows(m):
        g.add_node(row["id"], **{k: v for k, v in row.items() if k != "id"})
    for i, j, c, w in zip(*finite_edges(m)):
        g.add_edge(net.ids[i], net.ids[j], weight=float(w), count=int(c))
    return g


# GraphML and GEXF are streamed as text (about 10x faster than building an ElementTree for the
# tens of thousands of links a map has); both are re-read by networkx in the tests.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(value: Any) -> str:
    """Text for an XML attribute value: characters XML cannot hold dropped, the rest escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return html.escape(_NOT_XML.sub("", str(value)), quote=True)


def _attribute_types(rows: list[dict[str, Any]], skip: tuple[str, ...]) -> dict[str, str]:
    """Attribute name → GraphML type, in first-seen order (a name mixing int and float is a double)."""
    kinds: dict[str, str] = {}
    for row in rows:
        for k, v in row.items():
            if k in skip:
                continue
            t = "boolean" if isinstance(v, bool) else "long" if isinstance(v, int) else \
                "double" if isinstance(v, float) else "string"
            old = kinds.get(k)
            kinds[k] = t if old in (None, t) else "double" if {old, t} == {"long", "double"} else "string"
    return kinds


def write_graphml(m: Map, path: str | Path) -> Path:
    """GraphML with every node attribute of :func:`node_rows`; links with ``weight`` and ``count``."""
    net = m.network
    rows = node_rows(m)
    types = _attribute_types(rows, ("id",))
    keys = {name: f"d{k}" for k, name in enumerate(types)}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
                 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://graphml."
                 "graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n")
        for name, t in types.items():
            fh.write(f'<key id="{keys[name]}" for="node" attr.name="{_x(name)}" attr.type="{t}"/>\n')
        fh.write('<key id="ew" for="edge" attr.name="weight" attr.type="double"/>\n'
                 '<key id="ec" for="edge" attr.name="count" attr.type="long"/>\n')
        fh.write(f'<graph edgedefault="{"directed" if net.directed else "undirected"}">\n')
        for row in rows:
            data = "".join(f'<data key="{keys[k]}">{_x(v)}</data>' for k, v in row.items() if k != "id")
            fh.write(f'<node id="{_x(row["id"])}">{data}</node>\n')
        ids = [_x(x) for x in net.ids]
        for i, j, c, w in zip(*finite_edges(m)):
            fh.write(f'<edge source="{ids[i]}" target="{ids[j]}"><data key="ew">{float(w)!r}</data>'
                     f'<data key="ec">{int(c)}</data></edge>\n')
        fh.write("</graph>\n</graphml>\n")
    return Path(path)


def write_gexf(m: Map, path: str | Path) -> Path:
    """GEXF 1.2 (Gephi) with Gephi's ``viz`` position, colour and size per node; links weighted by
    the normalised strength, with the raw ``count`` as attribute."""
    net = m.network
    rows = node_rows(m)
    types = {k: {"long": "long", "double": "double", "boolean": "boolean"}.get(t, "string")
             for k, t in _attribute_types(rows, ("id", "label")).items()}
    ids = {name: str(k) for k, name in enumerate(types)}
    top = max((int(c) for c in net.counts), default=1) or 1
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("<?xml version='1.0' encoding='utf-8'?>\n<gexf xmlns=\"http://www.gexf.net/1.2draft\" "
                 "xmlns:viz=\"http://www.gexf.net/1.2draft/viz\" version=\"1.2\">\n<meta><creator>review</creator>"
                 "</meta>\n")
        fh.write(f'<graph defaultedgetype="{"directed" if net.directed else "undirected"}" mode="static">\n'
                 '<attributes class="node" mode="static">\n')
        for name, t in types.items():
            fh.write(f'<attribute id="{ids[name]}" title="{_x(name)}" type="{t}"/>\n')
        fh.write('</attributes>\n<attributes class="edge" mode="static">\n'
                 '<attribute id="count" title="count" type="long"/>\n</attributes>\n<nodes>\n')
        for row in rows:
            values = "".join(f'<attvalue for="{ids[k]}" value="{_x(v)}"/>' for k, v in row.items() if k in ids)
            hexa = color(row["cluster"])
            r, g, b = int(hexa[1:3], 16), int(hexa[3:5], 16), int(hexa[5:7], 16)
            size = 5.0 + 25.0 * (row["count"] / top) ** 0.5
            fh.write(f'<node id="{_x(row["id"])}" label="{_x(row["label"])}"><attvalues>{values}</attvalues>'
                     f'<viz:color r="{r}" g="{g}" b="{b}" a="1.0"/><viz:size value="{size:.3f}"/>'
                     f'<viz:position x="{row["x"] * 1000:.3f}" y="{row["y"] * 1000:.3f}" z="0.0"/></node>\n')
        fh.write("</nodes>\n<edges>\n")
        node_ids = [_x(x) for x in net.ids]
        for e, (i, j, c, w) in enumerate(zip(*finite_edges(m))):
            fh.write(f'<edge id="{e}" source="{node_ids[i]}" target="{node_ids[j]}" weight="{float(w)!r}">'
                     f'<attvalues><attvalue for="count" value="{int(c)}"/></attvalues></edge>\n')
        fh.write("</edges>\n</graph>\n</gexf>\n")
    return Path(path)


def write_cytoscape(m: Map, path: str | Path) -> Path:
    """Cytoscape JSON (``elements``: nodes and edges; reads with Cytoscape and ``nx.cytoscape_graph``)."""
    import networkx as nx

    data = nx.cytoscape_data(to_networkx(m), name="label", ident="id")
    for node in data["elements"]["nodes"]:
        node["position"] = {"x": node["data"]["x"] * 1000, "y": -node["data"]["y"] * 1000}
    Path(path).write_text(json.dumps(data, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return Path(path)


def write_csv(m: Map, path: str | Path) -> Path:
    rows = node_rows(m)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    return Path(path)


# -- VOSviewer ---------------------------------------------------------------------------------------
def _description(row: dict[str, Any], item: str) -> str:
    """VOSviewer renders an item's description as HTML: every value is escaped."""
    e = html.escape
    parts = [f"<div class='description_heading'>{e(item)}</div>",
             f"<div class='description_label'>{e(row.get('title') or row['label'])}</div>"]
    if row.get("known") is False:
        parts.append(f"<div class='description_text'>OpenAlex id {e(row['id'])}</div>")
    bits = [str(row[k]) for k in ("authors", "venue", "year") if row.get(k)]
    if bits:
        parts.append(f"<div class='description_text'>{e(' · '.join(bits))}</div>")
    return "".join(parts)


def vosviewer_json(m: Map) -> dict[str, Any]:
    """The map as a VOSviewer JSON document: ``config`` (terminology), and ``network`` with
    ``items`` (id, label, description, url, x, y, cluster, weights, scores), ``links``
    (source_id, target_id, strength = raw count) and ``clusters`` (cluster, label)."""
    net = m.network
    item, items, link, links_, strength, total = TERMINOLOGY.get(net.kind, TERMINOLOGY["concepts"])
    out_items = []
    for row in node_rows(m):
        entry: dict[str, Any] = {
            "id": row["id"], "label": row["label"], "description": _description(row, item),
            "x": round(row["x"], 6), "y": round(row["y"], 6), "cluster": min(max(row["cluster"], 1), 1000),
            "weights": {"Links": int(row["links"]), "Total link strength": float(row["total_link_strength"]),
                        net.count_name: int(row["count"])},
            "scores": {}}
        if row.get("doi"):
            entry["url"] = "https://doi.org/" + row["doi"]
        if net.kind in WORK_KINDS or "title" in row:
            if row.get("year"):
                entry["scores"]["Pub. year"] = int(row["year"])
        elif row.get("avg_year"):
            entry["scores"]["Avg. pub. year"] = round(float(row["avg_year"]), 2)
        out_items.append(entry)
    out_links = [{"source_id": net.ids[i], "target_id": net.ids[j], "strength": float(c)}
                 for i, j, c, _ in zip(*finite_edges(m))]
    k = int(m.clusters.max(initial=0))
    return {"config": {"terminology": {"item": item, "items": items, "link": link, "links": links_,
                                       "link_strength": strength, "total_link_strength": total}},
            "network": {"items": out_items, "links": out_links,
                        "clusters": [{"cluster": c, "label": m.cluster_label(c)} for c in range(1, min(k, 1000) + 1)]}}


def write_vosviewer(m: Map, path: str | Path) -> Path:
    Path(path).write_text(json.dumps(vosviewer_json(m), ensure_ascii=False, separators=(",", ":"), allow_nan=False),
                          encoding="utf-8")
    return Path(path)


# -- interactive HTML --------------------------------------------------------------------------------
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src '@SCRIPT_HASH@'; \
style-src '@STYLE_HASH@'; img-src data:; base-uri 'none'; form-action 'none'">
<title>@TITLE@</title>
<style>@CSS@</style>
</head>
<body>
<main><canvas id="map" aria-label="network map"></canvas><div id="tip" hidden></div></main>
<aside>
<h1>@TITLE@</h1>
<p class="meta">@SUBTITLE@</p>
<input id="search" type="search" placeholder="Find a label" aria-label="find a node by its label">
<div id="legend"></div>
<div id="details"><p class="hint">Hover a node for its label, click it for details. Drag to pan, scroll to zoom, \
click a cluster to show it alone, Esc to reset.</p></div>
</aside>
<script type="application/json" id="network-data">@DATA@</script>
<script>@JS@</script>
</body>
</html>
"""


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def json_for_script(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` escaped, so no
    record text can close the element or open a comment."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)  # JSON.parse has no Infinity
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def html_payload(m: Map, max_links: int = HTML_MAX_LINKS, per_node: int = 5) -> dict[str, Any]:
    """Nodes, links and clusters for the HTML map (all text as data, shown as text by the page)."""
    net = m.network
    shown = ("title", "authors", "venue", "year", "in_set", "avg_year")
    nodes = []
    for row in node_rows(m):
        info = [[net.count_name, row["count"]], ["Links", row["links"]],
                ["Total link strength", round(row["total_link_strength"], 3)]]
        info += [[k.replace("_", " ").capitalize(), round(row[k], 1) if isinstance(row[k], float) else row[k]]
                 for k in shown if k in row]
        node = {"id": row["id"], "label": row["label"], "x": round(row["x"], 5), "y": round(row["y"], 5),
                "size": row["count"], "cluster": row["cluster"], "doi": row.get("doi", ""), "info": info}
        if row.get("known") is False:  # no visible label; the tooltip says what it is
            node.update(label="", tip=f"{row['label']}: {row['id']}")
        nodes.append(node)
    i, j, _, w = finite_edges(m)
    chosen: set[int] = set()
    if len(w):
        order = np.argsort(-w, kind="stable")
        seen = np.zeros(len(net), dtype=np.int64)
        backbone = []
        for e in order:  # each node's strongest links first, so every node keeps a link
            if seen[i[e]] < per_node or seen[j[e]] < per_node:
                backbone.append(int(e))
                seen[i[e]] += 1
                seen[j[e]] += 1
        chosen = set(backbone[:max_links])
        for e in order:  # then the strongest of the rest
            if len(chosen) >= max_links:
                break
            chosen.add(int(e))
    keep = sorted(chosen)
    links = [[int(i[e]), int(j[e]), round(float(w[e]), 5)] for e in keep]
    k = int(m.clusters.max(initial=0))
    sizes = np.bincount(m.clusters, minlength=k + 1)
    clusters = [{"cluster": c_, "label": m.cluster_label(c_), "color": color(c_), "size": int(sizes[c_])}
                for c_ in range(1, k + 1)]
    return {"kind": net.kind, "directed": net.directed, "nodes": nodes, "links": links, "clusters": clusters}


def write_html(m: Map, path: str | Path, title: str = "") -> Path:
    """A self-contained interactive map (one file, no network access needed or allowed)."""
    net = m.network
    js = resources.files("review").joinpath("assets/network_map.js").read_text(encoding="utf-8")
    css = resources.files("review").joinpath("assets/network_map.css").read_text(encoding="utf-8")
    title = title or f"{net.name} network"
    subtitle = (f"{len(net)} nodes, {net.n_links} links, {int(m.clusters.max(initial=0))} clusters; "
                f"{net.info.get('records', '?')} records; normalisation: {net.norm}")
    values = {"SCRIPT_HASH": _csp_hash(js), "STYLE_HASH": _csp_hash(css), "CSS": css, "JS": js,
              "TITLE": html.escape(title), "SUBTITLE": html.escape(subtitle), "DATA": json_for_script(html_payload(m))}
    page = re.sub(r"@([A-Z_]+)@", lambda t: values[t.group(1)], _PAGE)  # one pass: inserted text is not re-read
    Path(path).write_text(page, encoding="utf-8")
    return Path(path)


# -- figures -----------------------------------------------------------------------------------------
def _plain(text: str) -> str:
    """Text matplotlib shows as is (a ``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def _figure(width: float = 10, height: float = 8):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer to measure labels with (see _place_labels)
    return fig


# where a label may go, in points from its point: above, below, right, left, the diagonals, then farther out
_OFFSETS = ((0, 4, "center", "bottom"), (0, -4, "center", "top"), (5, 0, "left", "center"),
            (-5, 0, "right", "center"), (4, 3, "left", "bottom"), (-4, 3, "right", "bottom"),
            (4, -3, "left", "top"), (-4, -3, "right", "top"), (0, 14, "center", "bottom"),
            (0, -14, "center", "top"), (4, 12, "left", "bottom"), (-4, 12, "right", "bottom"),
            (4, -12, "left", "top"), (-4, -12, "right", "top"))


def _place_labels(fig, ax, xy: np.ndarray, texts: list[str], fontsize: float = 7, pad: float = 1.5,
                  radius: np.ndarray | None = None, avoid: tuple = ()) -> int:
    """Label points in the order given (most important first), each at the first place of :data:`_OFFSETS`
    (beyond the point's marker ``radius``, in points) where it overlaps no label placed before nor an
    artist of ``avoid``, and stays inside the axes; a label that fits nowhere is left out, as VOSviewer
    does. Returns how many were drawn.

    Measured after the layout is fixed, so the boxes are the final ones (labels are kept out of the layout).
    """
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed = [a.get_window_extent(renderer).padded(pad) for a in avoid]
    radius = np.zeros(len(texts)) if radius is None else np.asarray(radius, dtype=float)
    for (x, y), text, r in zip(xy, texts, radius):
        for dx, dy, ha, va in _OFFSETS:
            off = (dx + r * np.sign(dx) * (0.7 if dy else 1.0), dy + r * np.sign(dy) * (0.7 if dx else 1.0))
            t = ax.annotate(_plain(text), (x, y), xytext=off, textcoords="offset points", ha=ha, va=va,
                            fontsize=fontsize, zorder=3, annotation_clip=False)
            t.set_in_layout(False)
            box = t.get_window_extent(renderer).padded(pad)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
            t.remove()
    return len(placed) - len(avoid)


def _cluster_legend(ax, m: Map, shown: int = len(PALETTE), **where: Any) -> None:
    """Legend of the coloured clusters, and one grey entry for all the smaller ones."""
    k = int(m.clusters.max(initial=0))
    handles = [ax.scatter([], [], c=color(c), s=30, label=_plain(f"{c}: {m.cluster_label(c)}"))
               for c in range(1, min(k, shown) + 1)]
    n_other, nodes = other_clusters(m)
    if n_other:
        handles.append(ax.scatter([], [], c=OTHER_COLOR, s=30, label=f"other: {n_other} smaller clusters "
                                  f"({nodes} nodes), grey"))
    if handles:
        ax.legend(handles=handles, fontsize=7, frameon=False, **where)


def write_figure(m: Map, path: str | Path, labels: int = 30, max_links: int = 3000) -> Path:
    """The map as a static figure (format by suffix: .png, .svg, .pdf); see :func:`map_figure`."""
    map_figure(m, labels, max_links).savefig(path)
    return Path(path)


def map_figure(m: Map, labels: int = 30, max_links: int = 3000):
    """The map as a matplotlib Figure: nodes coloured by cluster (the largest :data:`PALETTE` ones, the
    rest grey), at most ``labels`` labels that overlap nothing, the legend below the map."""
    from matplotlib.collections import LineCollection

    net = m.network
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_axis_off()
    i, j, _, w = finite_edges(m)
    if len(w):
        order = np.argsort(-w, kind="stable")[:max_links]
        segs = np.stack([m.xy[i[order]], m.xy[j[order]]], axis=1)
        ax.add_collection(LineCollection(segs, colors="#999999", linewidths=0.4,
                                         alpha=np.clip(0.1 + 0.5 * w[order] / w.max(), 0, 1), zorder=1))
    top = max(int(net.counts.max(initial=1)), 1)
    sizes = 10 + 250 * np.sqrt(net.counts / top)
    grey = m.clusters > len(PALETTE)  # small clusters under the coloured ones
    for part in (grey, ~grey):
        ax.scatter(m.xy[part, 0], m.xy[part, 1], s=sizes[part], c=[color(int(c)) for c in m.clusters[part]],
                   alpha=0.85, edgecolors="white", linewidths=0.5, zorder=2)
    ax.set_title(_plain(f"{net.name} network: {len(net)} nodes, {int(m.clusters.max(initial=0))} clusters"))
    # below the map, never over a cluster
    _cluster_legend(ax, m, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2)
    ax.margins(0.05)
    # a work the store knows nothing about has no visible label; each coloured cluster's largest node first
    known = [int(k) for k in np.argsort(-net.counts, kind="stable") if net.meta[k].get("known", True)]
    firsts = sorted({int(m.clusters[k]): k for k in reversed(known) if m.clusters[k] <= len(PALETTE)}.values(),
                    key=known.index)
    chosen = list(dict.fromkeys([*firsts, *known]))[:labels]
    _place_labels(fig, ax, m.xy[chosen], [net.labels[k] for k in chosen], radius=np.sqrt(sizes[chosen]) / 2)
    return fig


def write_thematic_map(tm: list[dict[str, Any]], path: str | Path, labels: int = 20) -> Path:
    """The thematic map as a figure file; see :func:`thematic_figure`."""
    thematic_figure(tm, labels).savefig(path)
    return Path(path)


def thematic_figure(tm: list[dict[str, Any]], labels: int = 20):
    """Centrality × density scatter of the clusters, split in quadrants at the medians; the ``labels``
    largest clusters are labelled where their labels overlap nothing."""
    fig = _figure(8, 7)
    ax = fig.add_subplot()
    c = np.array([t["centrality"] for t in tm])
    d = np.array([t["density"] for t in tm])
    s = np.array([t["size"] for t in tm])
    area = 40 + 400 * np.sqrt(s / max(s.max(), 1))
    ax.scatter(c, d, s=area, c=[color(t["cluster"]) for t in tm], alpha=0.7, zorder=2)
    ax.axvline(np.median(c), color="#777777", lw=0.8, ls="--")
    ax.axhline(np.median(d), color="#777777", lw=0.8, ls="--")
    quadrants = [ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=9, color="#555555",
                         style="italic")
                 for x, y, ha, va, text in ((0.99, 0.99, "right", "top", "motor themes"),
                                            (0.01, 0.99, "left", "top", "niche themes"),
                                            (0.01, 0.01, "left", "bottom", "emerging or declining"),
                                            (0.99, 0.01, "right", "bottom", "basic themes"))]
    ax.set_xlabel("centrality (links to other clusters)")
    ax.set_ylabel("density (internal links per node)")
    ax.margins(0.12)
    order = np.argsort(-s, kind="stable")[:labels]
    drawn = _place_labels(fig, ax, np.column_stack([c, d])[order], [tm[i]["label"] for i in order], fontsize=8,
                          radius=np.sqrt(area[order]) / 2, avoid=quadrants)
    note = "" if drawn == len(tm) else f" (labels: {drawn} of the {len(tm)} clusters, largest first)"
    ax.set_title("Thematic map" + note)
    return fig


def write_historiograph(h: dict[str, Any], path: str | Path) -> Path:
    """Most locally cited works by year with their citation links; main paths in red."""
    fig = _figure(12, 7)
    ax = fig.add_subplot()
    nodes = [n for n in h["nodes"] if n.get("year")]
    years = sorted({n["year"] for n in nodes})
    gap = max((years[-1] - years[0]) / 10, 1) if years else 1  # room for a label, in years
    row_end: list[float] = []
    pos = {}
    for n in nodes:  # sorted by year: each goes to the lowest row where its label fits
        row = next((r for r, end in enumerate(row_end) if end <= n["year"] - gap), len(row_end))
        if row == len(row_end):
            row_end.append(n["year"])
        else:
            row_end[row] = n["year"]
        pos[n["id"]] = (n["year"], row)
    on_path = {(u, v) for p in h["main_paths"] for u, v in zip(p, p[1:])}
    for u, v in h["links"]:
        if u in pos and v in pos:
            red = (u, v) in on_path
            ax.annotate("", pos[v], pos[u], arrowprops={"arrowstyle": "->", "color": "#d62728" if red else "#bbbbbb",
                                                      "lw": 1.4 if red else 0.5})
    top = max((n["local_citations"] for n in nodes), default=1) or 1
    for n in nodes:
        x, y = pos[n["id"]]
        ax.scatter([x], [y], s=20 + 200 * (n["local_citations"] / top), color="#1f77b4", zorder=2)
        ax.annotate(_plain(n["label"]), (x, y), fontsize=6, xytext=(0, 5), textcoords="offset points", ha="center")
    ax.set_yticks([])
    if years:
        ax.set_xticks(years)
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.set_title("Historiograph: most locally cited works; main paths in red")
    fig.savefig(path)
    return Path(path)


# -- everything ---------------------------------------------------------------------------------------
def export(m: Map, out_dir: str | Path, formats: tuple[str, ...] | list[str] = FORMATS, title: str = "",
           extras: dict[str, Any] | None = None, stem: str | None = None) -> dict[str, Path]:
    """Write the map in ``formats`` to ``out_dir`` as ``<stem>.<ext>`` (stem: the kind asked for, so
    ``terms`` does not overwrite ``concepts``); with
    ``extras`` (from :func:`review.stages.networks.analyse`) also the thematic map and historiograph
    figures and a JSON summary. Returns ``{format: path}``."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format {unknown[0]!r}; use any of {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or m.network.name
    writers = {"graphml": (write_graphml, ".graphml"), "gexf": (write_gexf, ".gexf"),
               "vosviewer": (write_vosviewer, "_vosviewer.json"), "cytoscape": (write_cytoscape, "_cytoscape.cyjs"),
               "csv": (write_csv, "_nodes.csv")}
    files: dict[str, Path] = {}
    for f in formats:
        if f in writers:
            func, suffix = writers[f]
            files[f] = func(m, out / f"{stem}{suffix}")
        elif f == "html":
            files[f] = write_html(m, out / f"{stem}.html", title=title)
        elif f in ("png", "svg"):
            files[f] = write_figure(m, out / f"{stem}.{f}")
    extras = extras or {}
    for f in [f for f in formats if f in ("png", "svg")]:
        if len(extras.get("thematic_map") or []) >= 2:
            files[f"thematic_map_{f}"] = write_thematic_map(extras["thematic_map"], out / f"{stem}_thematic_map.{f}")
        if (extras.get("historiograph") or {}).get("nodes"):
            files[f"historiograph_{f}"] = write_historiograph(extras["historiograph"],
                                                              out / f"{stem}_historiograph.{f}")
    if extras:
        summary = {k: v for k, v in extras.items() if k != "map"}
        path = out / f"{stem}_summary.json"
        path.write_text(json.dumps(_finite(summary), ensure_ascii=False, indent=1, default=_default, allow_nan=False),
                        encoding="utf-8")
        files["summary"] = path
    return files


def _finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float (numpy's too) replaced by None (JSON ``null``)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not math.isfinite(obj):
        return None
    return obj


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-able: {type(o).__name__}")
