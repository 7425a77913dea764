"""Bibliometric networks of the review's records, built with sparse matrix products.

Every network comes from a binary *incidence* matrix ``B`` (works × items: the
references a work cites, its authors, its subjects). Co-occurrence of items is
``BᵀB``, coupling of works is ``BBᵀ``; both are computed as scipy sparse
products, never with pairwise Python loops.

========================  ===========================  ===================================================
kind                      nodes                        link weight (raw)
========================  ===========================  ===================================================
``citation``              works of the set             1 if one cites the other (directed, citing → cited)
``cocitation``            references cited by the set  works citing both
``coupling``              works of the set             references shared
``coauthorship``          authors                      works written together
``institutions``          institutions                 works with authors from both
``countries``             countries                    works with authors from both
``concepts``              subjects                     works with both (OpenAlex topics, keywords or
                                                       concepts — whichever the records carry — else
                                                       terms from titles and abstracts)
``topics`` / ``keywords`` subjects of that field       as ``concepts``, field forced
``terms``                 title/abstract terms         as ``concepts``
========================  ===========================  ===================================================

``min_count``: a node needs at least this many occurrences (a reference cited by
``min_count`` works of the set; an author, institution, country or subject on
``min_count`` works). For ``coupling`` it is the minimum number of shared
references of a link. ``citation`` ignores it. Nodes left without any link are
dropped; then the ``max_nodes`` nodes with the largest total link strength are
kept (as VOSviewer's "number of items to select").

Normalisation of link weights (van Eck & Waltman 2009; VOSviewer):

- ``association``: ``a_ij · 2m / (k_i k_j)``, ``k_i`` the total link strength of
  node ``i`` and ``2m = Σ k_i`` (VOSviewer's association strength; van Eck & Waltman
  2009 allow the total co-occurrences of an item for its size).
- ``cosine``: ``a_ij / sqrt(s_i s_j)`` (Salton's cosine).
- ``jaccard``: ``a_ij / (s_i + s_j − a_ij)``.
- ``none``: raw counts.

``s_i`` (:attr:`Network.sizes`) is the size of node ``i``'s set in the set-theoretic
sense, so that ``a_ij ≤ min(s_i, s_j)`` and both measures stay within [0, 1]:

========================  ==========================================================
kind                      ``s_i``
========================  ==========================================================
``cocitation``            works of the set citing the reference
``coupling``              references of the work (all of them, shared or not)
``citation``              citation links of the work within the set (citing or cited)
co-authorship kinds       works of the author, institution or country
subject kinds             works carrying the subject or term
========================  ==========================================================

A node's displayed size (:attr:`Network.counts`) may be something else: global citations
for ``coupling``, local citations for ``citation`` (as VOSviewer shows them).
"""
from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

from review.core.errors import NetworkError
from review.core.queries import Lookup
from review.core.records import Record
from review.core.settings import NETWORK_KINDS as KINDS
from review.core.settings import NETWORK_NORMS as NORMS
from review.core.text import fold
from review.networks.terms import extract_terms

SUBJECT_FIELDS = ("topics", "keywords", "concepts")  # preference order when coverage ties
UNKNOWN_WORK = "cited work (not in the store)"  # label of a work the store knows nothing about; ids stay out of labels
UNTITLED_WORK = "untitled work"
WORK_KINDS = ("citation", "coupling")  # kinds whose nodes are works of the set





@dataclass
class Network:
    """A bibliometric network held as sparse matrices.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    ids, labels : list of str
        Node ids (record ids, author ids, subject names, ...) and display labels.
    counts : ndarray
        Occurrences per node (``count_name`` says what is counted); the node size of maps.
    sizes : ndarray or None
        ``s_i`` of the cosine and Jaccard measures (see the module docstring); None: ``counts``.
    links : csr_matrix
        Raw link counts. Undirected kinds: strictly upper triangular. ``citation``:
        ``links[i, j] = 1`` if node ``i`` cites node ``j``.
    strength : csr_matrix
        ``links`` normalised with ``norm`` (for ``citation``: of the undirected links).
    docs : csr_matrix
        Works × nodes: which works of the set each node stands for (a reference: the
        works citing it; an author: their works; a work: itself).
    works : list of str
        Ids of the works the network was built from (rows of ``docs``).
    meta : list of dict
        Per node: ``title``, ``year``, ``doi``, ``in_set`` where known.
    info : dict
        Parameters and sizes: ``name`` (the kind asked for: ``terms`` builds a ``concepts`` network),
        ``min_count``, ``field``, ``nodes_before_selection``, ...
    """

    kind: str
    ids: list[str]
    labels: list[str]
    counts: np.ndarray
    links: sp.csr_matrix
    strength: sp.csr_matrix
    docs: sp.csr_matrix
    works: list[str]
    meta: list[dict[str, Any]]
    directed: bool = False
    norm: str = "association"
    count_name: str = "Occurrences"
    info: dict[str, Any] = field(default_factory=dict)
    # total link strength when known from the incidence (cheaper than summing a large link matrix)
    tls: np.ndarray | None = field(default=None, repr=False, compare=False)
    sizes: np.ndarray | None = field(default=None, repr=False, compare=False)
    # fills labels and meta once the nodes are chosen (so only kept nodes are looked up)
    describe: Callable[[Network], tuple[list[str], list[dict[str, Any]]]] | None = field(
        default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def name(self) -> str:
        """The kind asked for (``terms``, ``keywords``, ...), else :attr:`kind`: names files and titles."""
        return str(self.info.get("name") or self.kind)

    @property
    def n_links(self) -> int:
        return int(self.links.nnz)

    def undirected(self, normalised: bool = True) -> sp.csr_matrix:
        """Symmetric weights (both triangles): the normalised strengths, or the raw counts."""
        m = self.strength if normalised else self.links
        return (m + m.T).tocsr()

    def total_link_strength(self) -> np.ndarray:
        """Sum of raw link counts per node (VOSviewer's "total link strength")."""
        if self.tls is None:
            self.tls = _row_col_sums(self.links)
        return self.tls

    def node_sizes(self) -> np.ndarray:
        """``s_i`` of the cosine and Jaccard measures: :attr:`sizes`, else :attr:`counts`."""
        return self.counts if self.sizes is None else self.sizes

    def degree(self) -> np.ndarray:
        """Number of linked nodes per node (VOSviewer's "links")."""
        u = self.undirected(normalised=False)
        return np.diff(u.indptr)

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(i, j, count, strength)`` of every link, once (citing → cited for ``citation``)."""
        c = self.links.tocoo()
        s = np.asarray(self.strength[c.row, c.col]).ravel() if c.nnz else np.zeros(0)
        return c.row, c.col, c.data, s

    def to_networkx(self):
        """A networkx (Di)Graph: nodes by id with ``label`` and ``count``; links with ``weight``
        (normalised strength) and ``count`` (raw)."""
        import networkx as nx

        g = nx.DiGraph() if self.directed else nx.Graph()
        g.add_nodes_from((self.ids[i], {"label": self.labels[i], "count": int(self.counts[i])})
                         for i in range(len(self)))
        for i, j, c, w in zip(*self.edges()):
            g.add_edge(self.ids[i], self.ids[j], weight=float(w), count=int(c))
        return g


# -- sparse building blocks ----------------------------------------------------------------------
def incidence(lists: Sequence[Sequence[str]]) -> tuple[sp.csr_matrix, list[str]]:
    """Binary rows × items matrix of item lists, and the items in column order (first seen first).

    An item repeated within one list counts once.
    """
    lens = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = list(chain.from_iterable(lists))
    codes, items = _codes(flat)
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    b = sp.csr_matrix((np.ones(len(flat), dtype=np.int32), codes, indptr), shape=(len(lists), len(items)))
    b.sum_duplicates()
    b.data[:] = 1
    return b, items


def _codes(flat: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer code of each string (0, 1, ... in order of first appearance) and the distinct strings.

    Strings are told apart by their hash with numpy (fast), then every string is checked against
    its code's representative; on a hash collision the slow dictionary path is taken.
    """
    if not flat:
        return np.zeros(0, dtype=np.int32), []
    hashes = np.fromiter(map(hash, flat), dtype=np.int64, count=len(flat))
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    codes = rank[inverse.ravel()].astype(np.int32)
    items = [flat[i] for i in first[order]]
    if all(map(operator.eq, flat, map(items.__getitem__, codes.tolist()))):
        return codes, items
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(x, len(index)) for x in flat), dtype=np.int32, count=len(flat))
    return codes, list(index)


def _rows(m: sp.csr_matrix) -> np.ndarray:
    """Row index of every stored entry of a CSR matrix."""
    return np.repeat(np.arange(m.shape[0], dtype=np.int32), np.diff(m.indptr))


def _row_col_sums(m: sp.csr_matrix) -> np.ndarray:
    """Row sums plus column sums (the total weight per node of a triangular link matrix)."""
    ones = np.ones(m.shape[0], dtype=np.float64)
    return m @ ones + m.T @ ones


def _strict_upper(m: sp.csr_matrix) -> sp.csr_matrix:
    """Entries above the diagonal of a CSR matrix, vectorised."""
    rows = _rows(m)
    keep = m.indices > rows
    indptr = np.zeros(m.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=m.shape[0]), out=indptr[1:])
    return sp.csr_matrix((m.data[keep], m.indices[keep], indptr), shape=m.shape)


def cooccurrence(b: sp.spmatrix, blocks: int = 16) -> sp.csr_matrix:
    """Strictly upper-triangular co-occurrence counts ``triu(BᵀB, 1)`` of the columns of ``b``.

    Computed in row blocks, each multiplied only with the columns at or right of the
    block, which halves the work and the peak memory of the full product. Pass a CSC
    matrix (e.g. ``a.T`` of a CSR ``a``) to skip one conversion.
    """
    bt = b.T.tocsr()  # items × rows
    n = bt.shape[0]
    if n == 0:
        return sp.csr_matrix((0, 0), dtype=np.int32)
    bounds = np.unique(np.linspace(0, n, min(blocks, n) + 1).astype(np.int64))
    data, indices, counts = [], [], [np.zeros(1, dtype=np.int64)]
    for a, z in zip(bounds[:-1], bounds[1:]):
        p = _strict_upper((bt[a:z] @ bt[a:].T).tocsr())  # (z-a) × (n-a): columns shifted by a
        data.append(p.data)
        indices.append(p.indices + np.int32(a))
        counts.append(np.diff(p.indptr))
    indptr = np.cumsum(np.concatenate(counts))
    return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(n, n))


def normalize(links: sp.csr_matrix, occurrences: np.ndarray, method: str = "association",
              total: np.ndarray | None = None) -> sp.csr_matrix:
    """Normalised link strengths of strictly upper-triangular raw counts (see the module docstring).

    ``occurrences``: each node's ``s_i`` (cosine, Jaccard); ``total``: each node's total link
    strength, if known. The result has the sparsity structure of ``links``; a link whose
    denominator is not positive (sizes inconsistent with the links) gets 0, never inf or NaN.
    """
    if method not in NORMS:
        raise NetworkError(f"unknown normalisation {method!r}; use one of {', '.join(NORMS)}")
    links = links.tocsr()
    n, indptr, j = links.shape[0], links.indptr, links.indices
    s = np.empty(links.nnz, dtype=np.float64)
    if method == "association":  # a_ij · 2m / (k_i k_j)
        k = _row_col_sums(links) if total is None else total.astype(np.float64)
        col = np.divide(1.0, k, out=np.zeros_like(k), where=k > 0)
        row = col * k.sum()
    else:
        occ = occurrences.astype(np.float64)
    # in blocks of rows: small temporaries, one output array
    bounds = np.unique(np.linspace(0, n, min(16, max(n, 1)) + 1).astype(np.int64))
    for a, z in zip(bounds[:-1], bounds[1:]):
        lo, hi = indptr[a], indptr[z]
        rows = np.repeat(np.arange(a, z), np.diff(indptr[a:z + 1]))
        c, v = j[lo:hi], links.data[lo:hi].astype(np.float64)
        if method == "association":
            s[lo:hi] = v * col[c] * row[rows]
        elif method == "cosine":
            s[lo:hi] = _ratio(v, np.sqrt(occ[rows] * occ[c]))
        elif method == "jaccard":
            s[lo:hi] = _ratio(v, occ[rows] + occ[c] - v)
        else:
            s[lo:hi] = v
    return sp.csr_matrix((s, links.indices.copy(), links.indptr.copy()), shape=links.shape)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den`` is not positive."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


# -- node metadata -----------------------------------------------------------------------------
def work_label(rec: Record | None, fallback: str = UNKNOWN_WORK) -> str:
    """``Surname (year)`` as VOSviewer labels documents, else a short title; ``fallback`` if nothing is known."""
    if rec is None:
        return fallback
    surname = rec.first_author.split()[-1] if rec.first_author.split() else ""
    if surname and rec.year:
        return f"{surname} ({rec.year})"
    if rec.title:
        short = rec.title if len(rec.title) <= 40 else rec.title[:39] + "…"
        return f"{short} ({rec.year})" if rec.year else short
    return fallback


def work_meta(rec: Record | None, in_set: bool) -> dict[str, Any]:
    """Per-node metadata of a work; ``known: False`` when the store knows nothing about it (writers then
    show :data:`UNKNOWN_WORK` and the id in tooltips, not as a visible label)."""
    if rec is None:
        return {"in_set": in_set, "known": False}
    return {"title": rec.title, "year": rec.year, "doi": rec.doi, "venue": rec.venue,
            "authors": ", ".join(a.name for a in rec.authors[:3]) + (" et al." if len(rec.authors) > 3 else ""),
            "cited_by_count": rec.cited_by_count, "in_set": in_set}


# -- the kinds -----------------------------------------------------------------------------------
def build(records: Sequence[Record], kind: str, *, min_count: int | None = None, norm: str = "association",
          max_nodes: int | None = 1000, field: str = "auto", lookup: Lookup | None = None,
          max_authors: int = 25) -> Network:
    """Build one network of ``kind`` from ``records`` (see the module docstring).

    Parameters
    ----------
    records : sequence of Record
        The set of works (e.g. :func:`select_records`).
    min_count : int, optional
        Minimum occurrences of a node (``coupling``: minimum shared references of a link).
        Default 2 for ``cocitation``, ``concepts`` and ``terms``; 1 otherwise.
    norm : {"association", "cosine", "jaccard", "none"}
    max_nodes : int or None
        Keep the nodes with the largest total link strength; None keeps all.
    field : {"auto", "topics", "keywords", "concepts", "terms"}
        Subject field for ``concepts`` (auto: the one most records carry).
    lookup : callable, optional
        ``ids -> {id: Record}`` for references outside the set (e.g. :func:`store_lookup`).
    max_authors : int
        Co-authorship kinds ignore works with more authors (as VOSviewer does).
    """
    if kind not in KINDS:
        raise NetworkError(f"unknown network kind {kind!r}; use one of {', '.join(KINDS)}")
    if norm not in NORMS:
        raise NetworkError(f"unknown normalisation {norm!r}; use one of {', '.join(NORMS)}")
    if min_count is not None and min_count < 1:
        raise NetworkError(f"min_count must be 1 or more, got {min_count}")
    if max_nodes is not None and max_nodes < 2:
        raise NetworkError(f"max_nodes must be 2 or more (or None for all), got {max_nodes}")
    records = list(records)
    name = kind  # the kind asked for: names the files (``terms.png``, not the concept map's ``concepts.png``)
    if kind in ("topics", "keywords", "terms"):
        kind, field = "concepts", kind
    builder = {"citation": _citation, "cocitation": _cocitation, "coupling": _coupling,
               "coauthorship": _coauthorship, "institutions": _coauthorship, "countries": _coauthorship,
               "concepts": _subjects}[kind]
    default = 2 if kind in ("cocitation", "concepts") else 1
    net = builder(records, kind=kind, min_count=min_count or default, lookup=lookup, field=field,
                  max_authors=max_authors)
    net.info.setdefault("min_count", min_count or default)
    net.info.update(name=name, records=len(records))
    net = _drop_isolates(net)
    net.info["nodes_before_selection"] = len(net)
    if max_nodes is not None and len(net) > max_nodes:
        net = subnetwork(net, np.argsort(-net.total_link_strength(), kind="stable")[:max_nodes])
    if net.describe is not None:
        net.labels, net.meta = net.describe(net)
        net.describe = None
    return renormalize(net, norm)


def renormalize(net: Network, norm: str) -> Network:
    """Recompute ``net.strength`` with ``norm`` on the network's current nodes and links."""
    net.norm = norm
    if net.directed:
        und = _strict_upper((net.links + net.links.T).tocsr())
        und.data[:] = 1
        s = normalize(und, net.node_sizes(), norm)
        s = s + s.T  # strength of i→j is the undirected strength of {i, j}
        net.strength = net.links.multiply(s).tocsr() if net.links.nnz else net.links.astype(np.float64)
    else:
        net.strength = normalize(net.links, net.node_sizes(), norm, total=net.total_link_strength())
    return net


def subnetwork(net: Network, nodes: np.ndarray) -> Network:
    """The network restricted to node indices ``nodes`` (kept in their original order)."""
    idx = np.sort(np.asarray(nodes, dtype=np.int64))
    links = net.links[idx][:, idx].tocsr()
    strength = net.strength[idx][:, idx].tocsr()
    described = len(net.labels) == len(net.ids)
    return Network(kind=net.kind, ids=[net.ids[i] for i in idx],
                   labels=[net.labels[i] for i in idx] if described else [], counts=net.counts[idx], links=links,
                   strength=strength, docs=net.docs[:, idx].tocsr(), works=net.works,
                   meta=[net.meta[i] for i in idx] if described else [], directed=net.directed, norm=net.norm,
                   count_name=net.count_name, info=dict(net.info), describe=net.describe,
                   sizes=None if net.sizes is None else net.sizes[idx])


def _keep_items(b: sp.csr_matrix, occurrences: np.ndarray, min_count: int) -> tuple[np.ndarray, int]:
    """Columns of an incidence matrix occurring ``min_count`` times and in some row with another kept
    column (the others would be isolated nodes of the co-occurrence network), and how many of
    those frequent enough were isolated. Found on the incidence, before the (large) product."""
    frequent = np.flatnonzero(occurrences >= min_count)
    sub = b[:, frequent].tocsr()
    shared_rows = (np.diff(sub.indptr) >= 2).astype(np.int64)
    linked = (sub.T @ shared_rows) > 0
    return frequent[linked], int((~linked).sum())


def _cooccurrence_totals(b: sp.csr_matrix) -> np.ndarray:
    """Total link strength of each column's node in ``triu(BᵀB, 1)``: Σ over its rows of (row size − 1)."""
    return b.T @ np.maximum(np.diff(b.indptr) - 1, 0).astype(np.float64)


def _drop_isolates(net: Network) -> Network:
    if "isolated_dropped" in net.info:  # the builder left none
        return net
    m = net.links
    linked = (np.diff(m.indptr) > 0) | (np.bincount(m.indices, minlength=m.shape[1]) > 0)
    net.info["isolated_dropped"] = int((~linked).sum())
    if linked.all():
        return net
    keep = np.flatnonzero(linked)
    # isolated nodes have no entries: renumber the others instead of slicing the (large) link matrix
    new = np.full(len(linked), -1, dtype=np.int32)
    new[keep] = np.arange(len(keep), dtype=np.int32)
    indptr = np.concatenate([[0], m.indptr[keep + 1]]) if len(keep) else np.zeros(1, dtype=np.int64)
    links = sp.csr_matrix((m.data, new[m.indices], indptr), shape=(len(keep), len(keep)))
    described = len(net.labels) == len(net.ids)
    return Network(kind=net.kind, ids=[net.ids[i] for i in keep], labels=[net.labels[i] for i in keep] if described
                   else [], counts=net.counts[keep], links=links, strength=_empty_strength(links),
                   docs=net.docs[:, keep].tocsr(), works=net.works, meta=[net.meta[i] for i in keep] if described
                   else [], directed=net.directed, norm=net.norm, count_name=net.count_name, info=dict(net.info),
                   describe=net.describe, sizes=None if net.sizes is None else net.sizes[keep])


def _empty_strength(links: sp.csr_matrix) -> sp.csr_matrix:
    return sp.csr_matrix(links.shape, dtype=np.float64)


def _works_network(records: list[Record], kind: str, links: sp.csr_matrix, counts: np.ndarray,
                   count_name: str, directed: bool, info: dict, sizes: np.ndarray) -> Network:
    n = len(records)
    by_id = {r.id: r for r in records}

    def describe(net: Network) -> tuple[list[str], list[dict]]:
        return ([work_label(by_id[x], UNTITLED_WORK) for x in net.ids],
                [work_meta(by_id[x], True) for x in net.ids])

    return Network(kind=kind, ids=[r.id for r in records], labels=[], counts=counts, links=links,
                   strength=_empty_strength(links), docs=sp.identity(n, dtype=np.int32, format="csr"),
                   works=[r.id for r in records], meta=[], directed=directed, count_name=count_name, info=info,
                   describe=describe, sizes=sizes)


def _citation(records: list[Record], kind: str, **_: Any) -> Network:
    pos = {r.id: i for i, r in enumerate(records)}
    lists = [[x for x in r.referenced_works if x in pos and x != r.id] for r in records]
    b, items = incidence(lists)
    # columns of b are in first-seen order; map them to the works' positions
    cols = np.array([pos[x] for x in items], dtype=np.int64)
    links = sp.csr_matrix((b.data, cols[b.indices], b.indptr), shape=(len(records), len(records)))
    local = np.asarray(links.sum(0)).ravel().astype(np.int64)
    und = _strict_upper((links + links.T).tocsr())  # a mutual citation is one link
    und.data[:] = 1
    links_per_work = _row_col_sums(und).astype(np.int64)
    return _works_network(records, kind, links, local, "Local citations", True, {}, sizes=links_per_work)


def _reference_incidence(records: list[Record]) -> tuple[sp.csr_matrix, list[str]]:
    return incidence([r.referenced_works for r in records])


def _cocitation(records: list[Record], kind: str, min_count: int, lookup: Lookup | None, **_: Any) -> Network:
    a, refs = _reference_incidence(records)
    cited = np.bincount(a.indices, minlength=a.shape[1])
    keep, isolated = _keep_items(a, cited, min_count)
    a = a[:, keep].tocsr()
    refs = [refs[k] for k in keep]
    by_id = {r.id: r for r in records}

    def describe(net: Network) -> tuple[list[str], list[dict]]:
        outside = [x for x in net.ids if x not in by_id]
        found = lookup(outside) if (lookup and outside) else {}
        recs = [by_id.get(x) or found.get(x) for x in net.ids]
        return [work_label(r) for r in recs], [work_meta(r, x in by_id) for r, x in zip(recs, net.ids)]

    return Network(kind=kind, ids=refs, labels=[], counts=cited[keep].astype(np.int64), links=cooccurrence(a),
                   tls=_cooccurrence_totals(a),
                   strength=sp.csr_matrix((len(refs), len(refs))), docs=a, works=[r.id for r in records], meta=[],
                   count_name="Citations", info={"references": len(cited), "isolated_dropped": isolated},
                   describe=describe)


def _coupling(records: list[Record], kind: str, min_count: int, **_: Any) -> Network:
    a, _refs = _reference_incidence(records)
    cited = np.bincount(a.indices, minlength=a.shape[1])
    shared = a[:, np.flatnonzero(cited >= 2)].tocsr()  # a reference cited once couples nothing
    links = cooccurrence(shared.T)
    if min_count > 1:
        links.data[links.data < min_count] = 0
        links.eliminate_zeros()
    counts = np.array([r.cited_by_count or 0 for r in records], dtype=np.int64)
    n_refs = np.diff(a.indptr).astype(np.int64)  # each work's references: its set in the cosine / Jaccard sense
    net = _works_network(records, kind, links, counts, "Citations", False, {}, sizes=n_refs)
    net.info["references"] = int(np.diff(a.indptr).sum())
    return net


def _author_items(records: list[Record], kind: str, max_authors: int) -> tuple[list[list[str]], dict[str, Counter]]:
    lists: list[list[str]] = []
    names: dict[str, Counter] = {}
    for r in records:
        items: list[str] = []
        if len(r.authors) <= max_authors:
            for a in r.authors:
                if kind == "coauthorship":
                    pairs = [(a.openalex_id or ("name:" + fold(a.name)), a.name)] if a.name or a.openalex_id else []
                elif kind == "institutions":
                    pairs = [(fold(i), i) for i in a.institutions if fold(i)]
                else:
                    pairs = [(c.upper(), c.upper()) for c in a.countries if c]
                for key, name in pairs:
                    items.append(key)
                    names.setdefault(key, Counter())[name] += 1
        lists.append(items)
    return lists, names


def _coauthorship(records: list[Record], kind: str, min_count: int, max_authors: int, **_: Any) -> Network:
    lists, names = _author_items(records, kind, max_authors)
    label_of = {k: c.most_common(1)[0][0] for k, c in names.items()}
    return _cooccurrence_network(records, kind, lists, min_count, label_of, "Documents",
                                 {"max_authors": max_authors,
                                  "skipped_many_authors": sum(len(r.authors) > max_authors for r in records)})


def subject_field(records: Sequence[Record]) -> str:
    """The subject field most records carry (``topics``, ``keywords``, ``concepts``), or ``terms``."""
    best, cover = "terms", 0
    for f in SUBJECT_FIELDS:
        n = sum(1 for r in records if getattr(r, f))
        if n > cover:
            best, cover = f, n
    return best


def _subjects(records: list[Record], kind: str, min_count: int, field: str, **_: Any) -> Network:
    if field not in ("auto", "terms") + SUBJECT_FIELDS:
        raise NetworkError(f"unknown subject field {field!r}; use auto, topics, keywords, concepts or terms")
    used = subject_field(records) if field == "auto" else field
    if used in SUBJECT_FIELDS and not any(getattr(r, used) for r in records):
        raise NetworkError(f"no record carries {used}; use the kind 'concepts' (the field the records carry) "
                           "or 'terms' (from titles and abstracts)")
    lists = (extract_terms(records, min_count=min_count, max_terms=500) if used == "terms"
             else [getattr(r, used) for r in records])
    return _cooccurrence_network(records, "concepts", lists, min_count, None, "Occurrences", {"field": used})


def _cooccurrence_network(records: list[Record], kind: str, lists: list[list[str]], min_count: int,
                          label_of: dict[str, str] | None, count_name: str, info: dict) -> Network:
    b, items = incidence(lists)
    occ = np.bincount(b.indices, minlength=b.shape[1])
    keep, info["isolated_dropped"] = _keep_items(b, occ, min_count)
    b = b[:, keep].tocsr()
    items = [items[k] for k in keep]

    def describe(net: Network) -> tuple[list[str], list[dict]]:
        years = np.array([r.year or 0 for r in records], dtype=np.float64)
        bt = net.docs.T.tocsr()
        with np.errstate(invalid="ignore", divide="ignore"):
            avg_year = (bt @ years) / (bt @ (years > 0).astype(np.float64))
        return ([label_of.get(x, x) for x in net.ids] if label_of else list(net.ids),
                [{"avg_year": float(y)} if np.isfinite(y) else {} for y in avg_year])

    links = cooccurrence(b)
    return Network(kind=kind, ids=items, labels=[], counts=occ[keep].astype(np.int64), links=links,
                   tls=_cooccurrence_totals(b),
                   strength=_empty_strength(links), docs=b, works=[r.id for r in records], meta=[],
                   count_name=count_name, info=info, describe=describe)
