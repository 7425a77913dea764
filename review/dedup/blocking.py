"""Candidate pairs: records that share a blocking key (ids, title words, author + year)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

import numpy as np
from rapidfuzz import fuzz, process

from review.dedup.prepare import _MAX_BLOCK, _MAX_ID_BLOCK, _SMALL_BLOCK, _STOP, Prepared


# -- blocking ---------------------------------------------------------------------------------
def _keys(p: Prepared) -> list[str]:
    keys = []
    if p.doi:
        keys.append("d" + p.doi)
    if p.pmid:
        keys.append("p" + p.pmid)
    if p.openalex_id:
        keys.append("o" + p.openalex_id)
    words = p.title.split()
    if len(words) >= 2:
        compact = "".join(words)
        keys.append("t" + compact[:24])
        keys.append("u" + compact[-24:])
        rare = sorted(set(words) - _STOP)
        rare.sort(key=len)  # the three longest words, whatever their order or the typos elsewhere
        if len(rare) >= 2:
            keys.append("w" + " ".join(sorted(rare[-3:])))
    for alt in p.alt_titles:  # a translation beside the original, one half of a bilingual title
        keys.append("t" + alt.replace(" ", "")[:24])
    if p.review_id:
        keys.append("c" + p.review_id)
    if p.surnames and p.year:
        keys.append(f"a{p.surnames[0]}:{p.year}")
        keys.append(f"a{p.surnames[0]}:{p.year + 1}")
    if p.volume and p.first_page:
        keys.append(f"v{p.volume}:{p.first_page}")
    return keys


def candidate_pairs(prepared: Sequence[Prepared], progress: bool = False) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, that share a blocking key (and, in big blocks, a similar title)."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(prepared):
        for k in _keys(p):
            blocks[k].append(i)
    n_rec = max(len(prepared), 1)
    codes: list[int] = []  # pair (i, j) as i * n + j
    found: list[np.ndarray] = []
    titles = [p.title for p in prepared]
    for key, idx in _progress(blocks.items(), progress, "blocking", len(blocks)):
        n = len(idx)
        if n < 2:
            continue
        if n <= _SMALL_BLOCK or (key[0] in "dpoc" and n <= _MAX_ID_BLOCK):
            codes.extend(a * n_rec + b for a, b in combinations(idx, 2))  # idx is ascending
            continue
        if key[0] in "dpoc":
            continue  # an identifier shared by very many records is junk
        idx_arr = np.asarray(idx)
        if n > _MAX_BLOCK:  # a very common key: compare neighbours in title order only
            idx_arr = idx_arr[np.argsort([titles[i] for i in idx], kind="stable")]
            for s in range(0, n, _MAX_BLOCK // 2):
                found.append(_similar_in_block(idx_arr[s:s + _MAX_BLOCK], titles, n_rec))
            continue
        found.append(_similar_in_block(idx_arr, titles, n_rec))
    found.append(np.asarray(codes, dtype=np.int64))
    pairs = np.unique(np.concatenate(found))
    return np.stack([pairs // n_rec, pairs % n_rec], axis=1)


def _similar_in_block(idx: np.ndarray, titles: list[str], n_rec: int) -> np.ndarray:
    """Pair codes of a block's records with similar titles (records without a title pair with all)."""
    block_titles = [titles[i] for i in idx]
    m = process.cdist(block_titles, block_titles, scorer=fuzz.ratio, score_cutoff=75, dtype=np.uint8, workers=1)
    empty = np.array([not t for t in block_titles])
    if empty.any():
        m[empty, :] = 1
        m[:, empty] = 1
    a, b = np.nonzero(np.triu(m, 1))
    lo, hi = np.minimum(idx[a], idx[b]), np.maximum(idx[a], idx[b])
    return lo.astype(np.int64) * n_rec + hi


def _progress(it, progress: bool, desc: str, total: int | None = None):
    if not progress:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=desc, total=total, unit="", leave=False, mininterval=0.5)
