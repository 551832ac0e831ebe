"""Connector exceptions: what went wrong talking to a source, and what to fix.

    CovaryError
     └── ConnectorError
          ├── SpecError                 (Terminal, ValueError)  a source spec names a bad key/value
          ├── SourceNotFoundError       (Terminal, KeyError)    no source/endpoint by that name
          ├── CredentialError           (Terminal, ValueError)  a secret is missing (names env/setting)
          ├── HTTPStatusError           an HTTP error answer after retries
          │    ├── TerminalHTTPError    (Terminal)  400/401/403/404/422: fix a credential/parameter
          │    └── TransientHTTPError   (Transient) 429/5xx/408 that outlived the retries
          ├── RequestFailedError        (Transient) timeouts, connection errors, truncated bodies
          ├── RetryBudgetExhaustedError (Transient) the run's retry budget is spent
          ├── RetryAfterTooLongError    (Transient) server asked to wait longer than the cap
          ├── PaginationError           (Terminal, ValueError) repeated cursor / bad paginator config
          └── UploadError               (Terminal, ValueError) a file cannot be uploaded (size, name, format)

Every class pickles (Ray ships them between workers): state lives in ``__dict__`` and the root's
``__reduce__`` rebuilds it.
"""

from __future__ import annotations

from covary.errors import CovaryError, TerminalError, TransientError


class ConnectorError(CovaryError):
    """Root of connector errors."""


class SpecError(ConnectorError, TerminalError, ValueError):
    """A declarative source spec is invalid; the message names the key and the valid choices."""


class SourceNotFoundError(ConnectorError, TerminalError, KeyError):
    """No source (or endpoint) with that name."""

    def __str__(self) -> str:
        return self.message


class CredentialError(ConnectorError, TerminalError, ValueError):
    """A credential is missing or was rejected; the message names the env var or setting."""


class HTTPStatusError(ConnectorError):
    """The server answered with an error status. ``status`` and the secret-free ``url`` are kept."""

    def __init__(self, message: str, *, status: int, url: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.url = url


class TerminalHTTPError(HTTPStatusError, TerminalError):
    """400/401/403/404/...: retrying cannot help; fix the credential or parameter named."""


class TransientHTTPError(HTTPStatusError, TransientError):
    """429/5xx/408 that kept failing after every retry."""


class RequestFailedError(ConnectorError, TransientError):
    """Timeout, connection error or an unreadable (truncated/invalid) body, after every retry."""


class RetryBudgetExhaustedError(ConnectorError, TransientError):
    """The run used its whole retry budget; committed pages stay and the next run resumes."""


class RetryAfterTooLongError(ConnectorError, TransientError):
    """The server asked to wait longer than ``max_retry_after_s``; the run stopped cleanly."""

    def __init__(self, message: str, *, retry_after_s: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s


class PaginationError(ConnectorError, TerminalError, ValueError):
    """Pagination cannot go on safely (a repeated cursor would loop forever, a bad response shape)."""


class UploadError(ConnectorError, TerminalError, ValueError):
    """A file cannot be uploaded: too large, unsafe name, unknown format or unreadable."""


__all__ = [
    "ConnectorError",
    "CredentialError",
    "HTTPStatusError",
    "PaginationError",
    "RequestFailedError",
    "RetryAfterTooLongError",
    "RetryBudgetExhaustedError",
    "SourceNotFoundError",
    "SpecError",
    "TerminalHTTPError",
    "TransientHTTPError",
    "UploadError",
]
