"""Lakehouse exceptions: a handful, each naming what to fix."""

from __future__ import annotations

from covary.errors import CovaryError, TerminalError, TransientError


class LakehouseError(CovaryError):
    """Root of lakehouse errors."""


class TableNotFoundError(LakehouseError, TerminalError, KeyError):
    """The table is not declared in the registry, or has no data on disk yet."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class SchemaMismatchError(LakehouseError, TerminalError, ValueError):
    """Incoming data does not fit the table's schema; nothing was committed."""


class CommitConflictError(LakehouseError, TransientError):
    """A concurrent writer kept winning the commit race; nothing of this batch was committed."""


class UnsafeStorageError(LakehouseError, TerminalError, ValueError):
    """The lake's storage cannot keep several writers' commits safe (or is not shared by every node)."""


class LoadError(LakehouseError, TerminalError, ValueError):
    """A load ledger operation was invalid (unknown load id, finishing a failed load, ...)."""


__all__ = [
    "CommitConflictError",
    "LakehouseError",
    "LoadError",
    "SchemaMismatchError",
    "TableNotFoundError",
    "UnsafeStorageError",
]
