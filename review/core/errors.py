"""The user errors of the tool: each message is one line that names the file, line or field and says what to do.

The CLI prints a :class:`ReviewError` (or an ``OSError``) as ``error: <message>`` and exits 2; anything
else is a bug and shows its traceback.
"""
from __future__ import annotations


class ReviewError(Exception):
    """Root of every user error: bad input, a bad setting, a store or server that cannot be used."""


class ExportError(ReviewError, ValueError):
    """An export that cannot be made; the message says why and what to do."""


class NetworkError(ReviewError, ValueError):
    """A network that cannot be built as asked; the message says what to change."""


class ScreeningError(ReviewError, ValueError):
    """A screening request that cannot be done; the message says why and what to do."""


class DefinitionsError(ReviewError, ValueError):
    """Bad settings or input for the definitions stage; the message says what to do."""


class OpenAlexError(ReviewError, ValueError):
    """OpenAlex could not answer; the message says what happened and what to do (never a secret)."""

    def __init__(self, message: str, status: int | None = None, reply: str = ""):
        super().__init__(message)
        self.status, self.reply = status, reply  # HTTP status and the server's own message


class DatasetError(ReviewError, ValueError):
    """A dataset that cannot be read; the message names the file and what is wrong."""


class InputError(ReviewError, ValueError):
    """A file that cannot be imported; the message names the file, line and problem."""


class SnapshotError(ReviewError, ValueError):
    """A snapshot file that cannot be read; names the file (and member, line)."""


class ProtocolError(ReviewError, ValueError):
    """An invalid protocol; ``str()`` is one line naming file, line, key and what is expected."""


class StoreError(ReviewError, RuntimeError):
    """A store that cannot be opened or used; the message says what to do."""


class QueryError(ReviewError, ValueError):
    """Search text that cannot be parsed."""


class StoreBusyError(StoreError):
    """Another process is writing to the store (it holds the store's lock file); the message names it."""
