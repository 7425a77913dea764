"""Reviewing inside JupyterLab: screening, duplicate review and conflict resolution widgets.

>>> from review.ui.jupyter import open_review, ScreeningWidget
>>> protocol, store = open_review("../protocols/demo.toml", "../reviews/demo.sqlite")
>>> ScreeningWidget(store, protocol, reviewer="reviewer1")        # doctest: +SKIP

Screening keys: ``i`` include, ``e`` exclude, ``m`` maybe, ``u`` undo, ``1``–``9`` reason, ``0`` no reason.
"""
from __future__ import annotations

from pathlib import Path

from review.core.protocol import Protocol
from review.core.protocol import load as load_protocol
from review.core.store import Store

from .conflicts import ConflictView
from .dedup import DedupReviewWidget
from .highlight import highlight, record_html, term_groups
from .screening import KEY_HELP, ScreeningWidget


def open_review(protocol_path: str | Path, store_path: str | Path | None = None) -> tuple[Protocol, Store]:
    """Load a protocol and open (or create) its review store.

    ``store_path`` defaults to the protocol's ``[source] store``, relative to the working directory.
    """
    protocol = load_protocol(protocol_path)
    store = Store(store_path or protocol.store)
    store.add_protocol(protocol.hash, protocol.text, str(Path(protocol_path).resolve()))
    return protocol, store


__all__ = ["ConflictView", "DedupReviewWidget", "KEY_HELP", "ScreeningWidget", "highlight", "open_review",
           "record_html", "term_groups"]
