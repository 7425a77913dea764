"""review: systematic literature reviews and concept mapping, from protocol to report."""
from .protocol import Protocol, ProtocolError, load as load_protocol
from .records import Author, Record, Source
from .store import Store, StoreError

__version__ = "0.1.0"
__all__ = ["Author", "Protocol", "ProtocolError", "Record", "Source", "Store", "StoreError", "load_protocol"]
