"""API-key authentication for the Serve apps: hashed keys, roles, ``require_role`` and rate limits."""

from __future__ import annotations

from serve.auth.deps import Authenticator, authenticate, bearer_token, require_role, route_label
from serve.auth.errors import AuthError, ForbiddenError, KeyStoreError, RateLimitedError
from serve.auth.keys import ROLES, ApiKey, KeyStore, Principal, hash_secret
from serve.auth.limits import RateLimiter

__all__ = [
    "ROLES",
    "ApiKey",
    "AuthError",
    "Authenticator",
    "ForbiddenError",
    "KeyStore",
    "KeyStoreError",
    "Principal",
    "RateLimitedError",
    "RateLimiter",
    "authenticate",
    "bearer_token",
    "hash_secret",
    "require_role",
    "route_label",
]
