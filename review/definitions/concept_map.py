"""The concept map: concepts, clusters, dimensions and cited sources as one graph."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from review.core.store import Store
from review.core.text import fold
from review.definitions.cluster import Clustering
from review.definitions.extract import Definition, Lexicon


# -- concept map -----------------------------------------------------------------------------------------
def build_map(definitions: list[Definition], clustering: Clustering | None, table: dict[str, Any],
              lexicon: Lexicon | None = None, labels: dict[str, str] | None = None) -> nx.Graph:
    """Graph of concepts, dimension levels and clusters; edge ``weight`` = definitions connecting the two.

    Node ids: ``concept:<key>``, ``dimension:<dimension>:<level>``, ``cluster:<n>``; node attributes
    ``kind``, ``label``, ``count``; edge attribute ``definitions`` lists the definition ids (comma-separated).
    """
    G = nx.Graph()
    ident = [d.id if d.id is not None else i for i, d in enumerate(definitions)]
    for r in table["rows"]:
        G.add_node(f"concept:{r['concept']}", kind="concept", label=r["label"], count=r["n"])
    edges: dict[tuple[str, str], list[int]] = defaultdict(list)
    for col in table["columns"]:
        dim, level = col.split(":")
        node = f"dimension:{col}"
        n = sum(r["cells"][col]["n"] for r in table["rows"])
        if n:
            G.add_node(node, kind="dimension", label=f"{dim.replace('_', ' ')}: {level.replace('_', ' ')}",
                       dimension=dim, level=level, count=n)
        for r in table["rows"]:
            for i in r["cells"][col]["ids"]:
                edges[(f"concept:{r['concept']}", node)].append(i)
    if clustering is not None:
        for c in clustering.clusters:
            G.add_node(f"cluster:{c.id}", kind="cluster", label=" / ".join(c.terms[:3]) or f"cluster {c.id}",
                       count=c.size, representative=c.representative_sentence)
        for i, c in enumerate(clustering.labels):
            edges[(f"concept:{definitions[i].concept}", f"cluster:{c}")].append(ident[i])
        dim_ids = {f"dimension:{col}": set(i for r in table["rows"] for i in r["cells"][col]["ids"])
                   for col in table["columns"]}
        for i, c in enumerate(clustering.labels):
            for node, ids in dim_ids.items():
                if ident[i] in ids:
                    edges[(f"cluster:{c}", node)].append(ident[i])
    if lexicon is not None:  # a definition of one concept that names another
        patterns = {k: lexicon.pattern(k) for k in lexicon.terms}
        for i, d in enumerate(definitions):
            text = fold(d.sentence)
            for other, p in patterns.items():
                if other != d.concept and p is not None and p.search(text):
                    edges[(f"concept:{d.concept}", f"concept:{other}")].append(ident[i])
    for (a, b), ids in edges.items():
        for node in (a, b):
            if node not in G:
                kind = node.split(":")[0]
                G.add_node(node, kind=kind, label=(labels or {}).get(node.split(":", 1)[1], node.split(":", 1)[1]),
                           count=0)
        if G.has_edge(a, b):
            ids = G.edges[a, b]["ids"] + ids
        uniq = sorted(set(ids))
        G.add_edge(a, b, weight=len(uniq), ids=uniq)
    for _, _, data in G.edges(data=True):
        data["definitions"] = ",".join(str(i) for i in data.pop("ids"))
    return G


def concept_map(store: Store) -> nx.Graph:
    """The concept map of the last definitions run (empty graph if there is none)."""
    data = store.artifact("concept_map")
    if not data:
        return nx.Graph()
    data = dict(data)
    if "links" in data and "edges" not in data:
        data["edges"] = data.pop("links")
    try:
        return nx.node_link_graph(data, edges="edges")
    except TypeError:  # networkx < 3.4
        data["links"] = data.pop("edges")
        return nx.node_link_graph(data)


def _node_link(G: nx.Graph) -> dict[str, Any]:
    try:
        return nx.node_link_data(G, edges="edges")
    except TypeError:  # networkx < 3.4
        data = nx.node_link_data(G)
        data["edges"] = data.pop("links")
        return data
