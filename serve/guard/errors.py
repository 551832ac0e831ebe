"""Guard exceptions: a blocked statement and a query the engine stopped."""

from __future__ import annotations

from covary.errors import TerminalError, TransientError
from serve.errors import ServeError


class BlockedQueryError(ServeError, TerminalError, ValueError):
    """The guard refused the statement; nothing ran. ``reason`` is a short machine code."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "send one read-only SELECT over the tables listed at /v1/tables")
        self.reason = reason


class QueryFailedError(ServeError, TerminalError, ValueError):
    """DuckDB rejected or failed the (guarded) statement: bad column, type error, engine permission."""


class QueryTimeoutError(ServeError, TransientError, TimeoutError):
    """The statement ran past the time limit and was interrupted."""


__all__ = ["BlockedQueryError", "QueryFailedError", "QueryTimeoutError"]
