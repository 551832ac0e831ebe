"""Auth exceptions: missing/invalid credentials, insufficient role, rate limit, key store problems."""

from __future__ import annotations

from covary.errors import TerminalError, TransientError
from serve.errors import ServeError


class AuthError(ServeError, TerminalError, PermissionError):
    """Missing or invalid credentials (HTTP 401)."""


class ForbiddenError(ServeError, TerminalError, PermissionError):
    """Valid credentials whose role is too low for the route (HTTP 403)."""


class RateLimitedError(ServeError, TransientError):
    """The key exceeded its request rate (HTTP 429); retry after ``retry_after_s``."""

    def __init__(self, message: str, *, retry_after_s: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or f"retry after {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


class KeyStoreError(ServeError, TerminalError, ValueError):
    """The API key file is unreadable or a key operation was invalid (unknown id, bad role)."""


__all__ = ["AuthError", "ForbiddenError", "KeyStoreError", "RateLimitedError"]
