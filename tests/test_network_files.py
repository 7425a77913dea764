"""Exports of a map: each re-read by its reader's format; the HTML map escaped and rendered offline."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from review.networks import build as N_build
from review.networks import maps as M
from review.sources.snapshot import read_records
from review.stages import networks as N
from review.writers import network_files as E

DATA = Path(__file__).resolve().parent / "data" / "networks"
HOSTILE = '<script>alert(1)</script> </script><!-- $x$ & "q"'
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def records():
    recs = [r for r, _ in read_records(DATA / "works.jsonl.gz")]
    recs[0].title = HOSTILE  # the most locally cited work: a node of every work network
    recs[0].authors[0].name = "Eve <img src=x onerror=alert(2)>"
    recs[1].title = "Vertical\x0btab, ümlaut & co"  # a character XML cannot hold
    return recs


@pytest.fixture(scope="module")
def result(records):
    return N.analyse(records, "citation", top=10)


@pytest.fixture(scope="module")
def out(result, tmp_path_factory):
    d = tmp_path_factory.mktemp("maps")
    files = E.export(result["map"], d, title="Citations <b>of</b> the set", extras=result)
    return d, files


def test_graphml_and_gexf_read_back(result, out):
    m = result["map"]
    _, files = out
    rows = {r["id"]: r for r in E.node_rows(m)}
    rows[m.network.ids[1]]["title"] = "Verticaltab, ümlaut & co"
    weights = {(m.network.ids[i], m.network.ids[j]): (int(c), float(w)) for i, j, c, w in zip(*m.network.edges())}
    for f in ("graphml", "gexf"):
        g = nx.read_graphml(files[f]) if f == "graphml" else nx.read_gexf(files[f])
        assert g.is_directed()
        assert set(g.nodes) == set(rows) and g.number_of_edges() == m.network.n_links
        for node, d in g.nodes(data=True):
            d = {k: v for k, v in d.items() if k != "viz"}
            assert d == {k: v for k, v in rows[node].items() if k != "id"}, node  # every attribute, typed
        for u, v, d in g.edges(data=True):
            assert (int(d["count"]), float(d["weight"])) == weights[(u, v)]
        assert HOSTILE in {d.get("title") for _, d in g.nodes(data=True)}
    gexf = nx.read_gexf(files["gexf"])
    viz = gexf.nodes[m.network.ids[0]]["viz"]
    assert viz["position"]["x"] == pytest.approx(m.xy[0, 0] * 1000, abs=1e-3) and viz["size"] > 0


def test_cytoscape_reads_back(result, out):
    _, files = out
    data = json.loads(files["cytoscape"].read_text())
    g = nx.cytoscape_graph(data)
    assert g.number_of_nodes() == len(result["map"].network)
    assert all("position" in n for n in data["elements"]["nodes"])


def check_vosviewer(doc: dict) -> None:
    """The documented VOSviewer JSON schema (app.vosviewer.com/docs/file-types/json-file-type), by hand."""
    assert set(doc) <= {"network", "config", "info"} and isinstance(doc["network"], dict)
    net = doc["network"]
    assert set(net) <= {"items", "links", "clusters"}
    ids = set()
    for it in net["items"]:
        assert isinstance(it["id"], (str, int)) and it["id"] not in ids
        ids.add(it["id"])
        assert isinstance(it["label"], str)
        for key, kind in (("description", str), ("url", str)):
            assert key not in it or isinstance(it[key], kind)
        for key in ("x", "y"):
            assert isinstance(it[key], float)
        assert isinstance(it["cluster"], int) and 1 <= it["cluster"] <= 1000
        assert all(isinstance(k, str) and isinstance(v, (int, float)) and v >= 0 for k, v in it["weights"].items())
        assert all(isinstance(k, str) and isinstance(v, (int, float)) for k, v in it["scores"].items())
    for ln in net["links"]:
        assert ln["source_id"] in ids and ln["target_id"] in ids
        assert isinstance(ln["strength"], float) and ln["strength"] >= 0
    for c in net.get("clusters", []):
        assert isinstance(c["cluster"], int) and 1 <= c["cluster"] <= 1000 and isinstance(c["label"], str)
    for key in doc.get("config", {}).get("terminology", {}).values():
        assert isinstance(key, str)


def test_vosviewer_json_matches_the_schema(result, out):
    _, files = out
    doc = json.loads(files["vosviewer"].read_text())
    check_vosviewer(doc)
    items = {it["id"]: it for it in doc["network"]["items"]}
    m = result["map"]
    assert len(items) == len(m.network) and len(doc["network"]["links"]) == m.network.n_links
    hostile = next(it for it in items.values() if "alert(1)" in it["description"])
    assert "<script>" not in hostile["description"] and "&lt;script&gt;" in hostile["description"]
    assert "<img" not in hostile["description"]


def test_vosviewer_json_of_every_kind(records):
    for kind in ("cocitation", "coauthorship", "concepts"):
        net = N_build.build(records, kind, max_nodes=150)
        check_vosviewer(E.vosviewer_json(M.make_map(net, records)))


def test_html_escapes_record_text_and_needs_no_network(out):
    d, files = out
    page = files["html"].read_text()
    assert "<script>alert" not in page and "<img src=x" not in page and "<!-- $x$" not in page
    assert len(re.findall(r"<script\b", page)) == 2  # the data block and our renderer, nothing else
    assert "<title>Citations &lt;b&gt;of&lt;/b&gt; the set</title>" in page
    data = re.search(r'<script type="application/json" id="network-data">(.*?)</script>', page, re.S).group(1)
    payload = json.loads(data)
    assert HOSTILE in {n["info"][3][1] for n in payload["nodes"] if len(n["info"]) > 3}  # the title, unchanged
    markup = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    assert not re.search(r"\b(?:src|href)\s*=", markup)  # no markup that loads anything
    js = page[page.rindex("<script>"):]
    assert not re.search(r"fetch\(|XMLHttpRequest|WebSocket|import\(|\.src\b|new Image", js)  # nor script
    assert "default-src 'none'" in page and "script-src 'sha256-" in page


def test_figures_are_written(out):
    d, files = out
    for key in ("png", "thematic_map_png", "historiograph_png"):
        assert files[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for key in ("svg", "thematic_map_svg", "historiograph_svg"):
        root = ET.parse(files[key]).getroot()
        assert root.tag.endswith("svg")
    assert files["csv"].read_text(encoding="utf-8").splitlines()[0].startswith("id,label,cluster")
    summary = json.loads(files["summary"].read_text())
    assert summary["historiograph"]["main_paths"] and "map" not in summary


def test_export_refuses_unknown_formats(result, tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        E.export(result["map"], tmp_path, formats=["pdf"])


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (/usr/bin/chromium; CI installs Debian's chromium)")
def test_html_renders_in_headless_chromium_without_network(out, tmp_path):
    d, files = out
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1200,800"]
    url = files["html"].resolve().as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    n_nodes = len(json.loads(files["vosviewer"].read_text())["network"]["items"])
    assert f'data-rendered="{n_nodes}"' in dom  # the renderer ran and drew every node
    assert dom.count('class="swatch"') >= 2  # the cluster legend was built
    assert "<script>alert" not in dom and "<img" not in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    from matplotlib.image import imread

    img = imread(shot)[:, :, :3]
    canvas = img[:, : int(img.shape[1] * 0.7)]  # left of the side panel
    assert canvas.std() > 0.02 and len(np.unique(canvas.reshape(-1, 3), axis=0)) > 20  # something was drawn


def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_never_cited_works_give_finite_weights_in_every_format(tmp_path):
    # issue #13 item 3: a work with no citations made cosine coupling weights inf (GraphML "inf", HTML "Infinity")
    from review.core.records import Record

    recs = [Record(id="W1", title="One", year=2001, referenced_works=["a", "b", "c"], cited_by_count=0),
            Record(id="W2", title="Two", year=2002, referenced_works=["a", "b"], cited_by_count=0),
            Record(id="W3", title="Three", year=2003, referenced_works=["b", "c", "d"], cited_by_count=7)]
    for kind in ("coupling", "citation"):
        result = N.analyse(recs if kind == "coupling" else [*recs, Record(id="W4", referenced_works=["W1", "W2"])],
                           kind, norm="cosine", evolution=False)
        files = E.export(result["map"], tmp_path / kind, extras=result)
        page = files["html"].read_text(encoding="utf-8")
        payload = _strict_json(re.search(r'id="network-data">(.*?)</script>', page, re.S).group(1))
        assert payload["links"] and all(0 < w <= 1 for _, _, w in payload["links"])
        g = nx.read_graphml(files["graphml"])
        assert all(0 < d["weight"] <= 1 for _, _, d in g.edges(data=True))
        for f in ("vosviewer", "cytoscape", "summary"):
            _strict_json(files[f].read_text(encoding="utf-8"))


def test_writers_refuse_infinite_links_and_leave_out_nan_values(records, tmp_path):
    net = N_build.build(records, "coupling", max_nodes=40)
    m = M.make_map(net, records)
    m.centrality["pagerank"][0] = np.nan
    rows = E.node_rows(m)
    assert "pagerank" not in rows[0] and "pagerank" in rows[1]
    _strict_json(E.write_vosviewer(m, tmp_path / "v.json").read_text())
    m.network.strength.data[3] = np.inf
    for fmt in ("graphml", "gexf", "cytoscape", "vosviewer", "html", "png"):
        with pytest.raises(ValueError, match="not finite"):
            E.export(m, tmp_path / fmt, formats=[fmt])


def test_cited_works_unknown_to_the_store_have_no_id_as_visible_label(records, tmp_path):
    # issue #13 item 16: 675 of 1,000 co-citation nodes were labelled with bare OpenAlex ids
    from review.networks.build import UNKNOWN_WORK

    result = N.analyse(records, "cocitation", max_nodes=300, evolution=False)
    m = result["map"]
    in_set = {r.id for r in records}
    outside = [k for k, x in enumerate(m.network.ids) if x not in in_set]
    assert outside and not any(re.fullmatch(r"W\d+", label) for label in m.network.labels)
    assert all(m.network.labels[k] == UNKNOWN_WORK for k in outside)
    rows = E.node_rows(m)
    assert all(rows[k]["known"] is False for k in outside) and all("known" not in rows[k] for k in range(len(rows))
                                                                  if k not in outside)
    page = E.write_html(m, tmp_path / "m.html").read_text(encoding="utf-8")
    nodes = json.loads(re.search(r'id="network-data">(.*?)</script>', page, re.S).group(1))["nodes"]
    for k in outside:  # nothing drawn on the map; the tooltip says what it is, with the id
        assert nodes[k]["label"] == "" and nodes[k]["tip"] == f"{UNKNOWN_WORK}: {m.network.ids[k]}"
    refs = result["key_references"]["cited"]
    assert all(r["label"] == UNKNOWN_WORK and r["known"] is False for r in refs if r["id"] not in in_set)
    text = N.format_result(result, top=50)
    assert not re.search(r"\b\d+\s+W\d+\b", text)  # the terminal names unknown works too, with the id after


def _label_boxes(fig, ax):
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in ax.texts if t.get_text()], ax.get_window_extent(renderer), renderer


def _disjoint(boxes):
    return not any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])


def test_map_figure_labels_do_not_overlap_and_the_legend_is_below_the_map(records):
    # issue #13 item 17: overlapping labels, a legend drawn over a cluster, 85 clusters in 12 legend colours
    from matplotlib.colors import to_hex

    m = M.make_map(N_build.build(records, "coauthorship", max_nodes=400), records)
    k = int(m.clusters.max())
    assert k > len(E.PALETTE) + 3  # many small clusters, as co-authorship maps have
    fig = E.map_figure(m, labels=40)
    ax = fig.axes[0]
    boxes, frame, renderer = _label_boxes(fig, ax)
    assert len(boxes) >= 10 and _disjoint(boxes)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)
    legend = ax.get_legend()
    assert legend.get_window_extent(renderer).y1 <= frame.y0 + 1  # below the map, not over it
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == len(E.PALETTE) + 1
    n_other = k - len(E.PALETTE)
    assert texts[-1].startswith(f"other: {n_other} smaller clusters ({int((m.clusters > len(E.PALETTE)).sum())} nodes)")
    colours = {}
    for points in ax.collections[1:3]:  # grey ones first, the coloured ones on top
        for x, face in zip(points.get_offsets(), points.get_facecolors()):
            colours[tuple(np.round(x, 9))] = to_hex(face)
    by_node = [colours[tuple(np.round(xy, 9))] for xy in m.xy]
    for c in range(1, k + 1):
        members = {by_node[i] for i in np.flatnonzero(m.clusters == c)}
        assert members == {E.PALETTE[c - 1] if c <= len(E.PALETTE) else E.OTHER_COLOR}, c


def test_thematic_map_labels_do_not_overlap(records):
    net = N_build.build(records, "coauthorship", max_nodes=400)
    tm = M.thematic_map(M.make_map(net, records))
    assert len(tm) > 25
    fig = E.thematic_figure(tm)
    ax = fig.axes[0]
    boxes, frame, _ = _label_boxes(fig, ax)
    labels = [t for t in ax.texts if t.get_text() in {c["label"] for c in tm}]
    assert 5 <= len(labels) <= 20 and _disjoint(boxes)  # quadrant names included
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)
    assert f"of the {len(tm)} clusters" in ax.get_title()
