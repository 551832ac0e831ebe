"""The query service's errors (their root ``ServeError`` is in ``serve/errors.py``)."""

from __future__ import annotations

from covary.errors import TerminalError, TransientError
from serve.errors import ServeError  # the root lives in serve/errors.py; re-exported for old imports


class CannotAnswerError(ServeError, TerminalError, ValueError):
    """The translator cannot turn the question into SQL; the message says what it understood."""

    def __init__(self, message: str, *, hint: str | None = None, understood: dict | None = None) -> None:
        super().__init__(message, hint=hint)
        self.understood = dict(understood or {})


class LLMUnavailableError(ServeError, TransientError):
    """The configured LLM endpoint failed or returned something unusable."""


class NotFoundError(ServeError, TerminalError, KeyError):
    """A table, series, KPI or finding does not exist."""

    def __str__(self) -> str:
        return self.message


class ServiceNotRunningError(ServeError, TerminalError):
    """``covary serve status/down`` found no running service."""


class UploadUnavailableError(ServeError, TerminalError):
    """The file connector (connectors/files) is not installed in this build."""


__all__ = [
    "CannotAnswerError",
    "LLMUnavailableError",
    "NotFoundError",
    "ServeError",
    "ServiceNotRunningError",
    "UploadUnavailableError",
]
