"""review: systematic literature reviews and concept mapping, from protocol to report."""
__version__ = "0.1.0"

from review.core.errors import ProtocolError, StoreError
from review.core.protocol import Protocol
from review.core.protocol import load as load_protocol
from review.core.records import Author, Record, Source  # noqa: E402
from review.core.store import Store

__all__ = ["Author", "Protocol", "ProtocolError", "Record", "Source", "Store", "StoreError", "load_protocol"]
