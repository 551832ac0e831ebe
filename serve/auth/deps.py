"""FastAPI dependencies: ``require_role("viewer"|"analyst"|"admin")`` with 401/403/429 and metrics."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

from covary import metrics
from serve.auth.keys import ROLES, KeyStore, Principal
from serve.auth.limits import RateLimiter


@dataclass
class Authenticator:
    """What ``require_role`` consults; put one on ``app.state.auth`` (the query ingress does)."""

    keys: KeyStore
    limiter: RateLimiter | None = None


def route_label(request: Request) -> str:
    """The route template (``/v1/findings/{finding_id}``), so metrics and audit have bounded labels."""
    route = request.scope.get("route")
    return getattr(route, "path", None) or request.url.path


def bearer_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer …`` or ``X-API-Key``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


def _deny(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> HTTPException:
    if status in (401, 403):
        metrics.inc("covary_auth_failures", route=route_label(request), status=str(status))
    request.state.auth_error = detail
    return HTTPException(status_code=status, detail=detail, headers=headers)


def authenticate(request: Request) -> Principal:
    """The caller's principal, or HTTP 401 (missing/invalid/revoked token)."""
    auth: Authenticator | None = getattr(request.app.state, "auth", None)
    if auth is None:
        raise HTTPException(status_code=500, detail="authentication is not configured on this app")
    token = bearer_token(request)
    if token is None:
        raise _deny(
            request, 401, "missing credentials: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"}
        )
    principal = auth.keys.verify(token)
    if principal is None:
        raise _deny(request, 401, "invalid or revoked token", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    request.state.principal = principal
    return principal


def require_role(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: a valid token whose role is at least ``role`` (403 otherwise), within its rate limit (429)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {ROLES}")

    async def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if not principal.allows(role):
            raise _deny(request, 403, f"this route needs role {role!r}; key {principal.key_id} has {principal.role!r}")
        auth: Authenticator = request.app.state.auth
        if auth.limiter is not None:
            wait = auth.limiter.check(principal.key_id, principal.role)
            if wait > 0:
                raise _deny(
                    request,
                    429,
                    f"rate limit of key {principal.key_id} exceeded; retry in {wait:.1f}s",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


__all__ = ["Authenticator", "authenticate", "bearer_token", "require_role", "route_label"]
