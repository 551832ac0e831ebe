"""Auth strategies: none, API key (header/query), bearer token, OAuth2 client credentials with refresh.

Custom strategies: subclass :class:`Auth` and ``register_auth("name", cls)``; a spec then says
``auth: {type: name, ...}`` and the class is built with the remaining keys.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import MutableMapping
from typing import Any, ClassVar, Literal

import httpx
from pydantic import SecretStr

from connectors.core._registry import build_from_registry, register_type
from connectors.core.clock import SYSTEM_CLOCK, Clock
from connectors.core.secrets import resolve_secret
from connectors.errors import CredentialError


class Auth:
    """Adds credentials to a request. ``secrets()`` feeds redaction; ``refresh()`` handles a 401."""

    kind: ClassVar[str] = "none"

    def apply(self, headers: MutableMapping[str, str], params: MutableMapping[str, Any]) -> None:
        """Add credentials to the outgoing headers/params (mutated in place)."""

    def secrets(self) -> list[str]:
        return []

    def secret_params(self) -> list[str]:
        """Query parameter names that carry a secret (their values are redacted from stored URLs)."""
        return []

    def refresh(self) -> bool:
        """Called after a 401; return True if new credentials were obtained and a retry may help."""
        return False

    def bind(self, http: httpx.Client, clock: Clock) -> None:
        """Give the strategy the HTTP client and clock (OAuth2 needs them to fetch tokens)."""

    def describe(self) -> str:
        """Which credential this is, for error messages (never the value)."""
        return "no authentication"


class NoAuth(Auth):
    kind = "none"


class ApiKeyAuth(Auth):
    """An API key sent in a header (``X-Api-Key: <key>``) or a query parameter (``?api_key=<key>``)."""

    kind = "api_key"

    def __init__(
        self,
        *,
        key: str | SecretStr,
        name: str = "X-Api-Key",
        location: Literal["header", "query"] = "header",
        prefix: str = "",
    ) -> None:
        self.ref = key.get_secret_value() if isinstance(key, SecretStr) else key
        self.name = name
        self.location = location
        self.prefix = prefix
        self._value: SecretStr | None = None

    def _key(self) -> str:
        if self._value is None:
            self._value = resolve_secret(self.ref, what=f"API key ({self.location} {self.name!r})")
        return self._value.get_secret_value()

    def apply(self, headers: MutableMapping[str, str], params: MutableMapping[str, Any]) -> None:
        if self.location == "header":
            headers[self.name] = f"{self.prefix}{self._key()}"
        else:
            params[self.name] = self._key()

    def secrets(self) -> list[str]:
        return [self._key()]

    def secret_params(self) -> list[str]:
        return [self.name] if self.location == "query" else []

    def describe(self) -> str:
        return f"API key in {self.location} {self.name!r} ({_origin(self.ref)})"


class BearerAuth(Auth):
    """``Authorization: Bearer <token>``."""

    kind = "bearer"

    def __init__(self, *, token: str | SecretStr) -> None:
        self.ref = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._value: SecretStr | None = None

    def _token(self) -> str:
        if self._value is None:
            self._value = resolve_secret(self.ref, what="bearer token")
        return self._value.get_secret_value()

    def apply(self, headers: MutableMapping[str, str], params: MutableMapping[str, Any]) -> None:
        headers["Authorization"] = f"Bearer {self._token()}"

    def secrets(self) -> list[str]:
        return [self._token()]

    def describe(self) -> str:
        return f"bearer token ({_origin(self.ref)})"


class OAuth2ClientCredentials(Auth):
    """OAuth2 client-credentials grant: fetches an access token, refreshes it before expiry and after a 401."""

    kind = "oauth2_client_credentials"

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str | SecretStr,
        client_secret: str | SecretStr,
        scope: str | None = None,
        client_auth: Literal["basic", "body"] = "basic",
        leeway_s: float = 30.0,
    ) -> None:
        self.token_url = token_url
        self.id_ref = client_id.get_secret_value() if isinstance(client_id, SecretStr) else client_id
        self.secret_ref = client_secret.get_secret_value() if isinstance(client_secret, SecretStr) else client_secret
        self.scope = scope
        self.client_auth = client_auth
        self.leeway_s = leeway_s
        self._http: httpx.Client | None = None
        self._clock: Clock = SYSTEM_CLOCK
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def bind(self, http: httpx.Client, clock: Clock) -> None:
        self._http = http
        self._clock = clock

    def _credentials(self) -> tuple[str, str]:
        cid = resolve_secret(self.id_ref, what="OAuth2 client_id").get_secret_value()
        secret = resolve_secret(self.secret_ref, what="OAuth2 client_secret").get_secret_value()
        return cid, secret

    def _fetch(self) -> None:
        if self._http is None:
            self._http = httpx.Client(timeout=30.0)
        cid, secret = self._credentials()
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        auth: tuple[str, str] | None = None
        if self.client_auth == "basic":
            auth = (cid, secret)
        else:
            data |= {"client_id": cid, "client_secret": secret}
        try:
            resp = self._http.post(self.token_url, data=data, auth=auth)  # type: ignore[arg-type]  # None: no auth
        except httpx.HTTPError as exc:
            raise CredentialError(
                f"OAuth2 token request to {self.token_url} failed: {type(exc).__name__}",
                hint="check the token_url and the network",
            ) from None  # from None: the cause's request carries the client secret
        if resp.status_code in (400, 401, 403):
            raise CredentialError(
                f"OAuth2 token endpoint {self.token_url} rejected the client credentials (HTTP {resp.status_code})",
                hint=f"check client_id ({_origin(self.id_ref)}) and client_secret ({_origin(self.secret_ref)})",
            )
        try:
            body = resp.json()
            token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise CredentialError(
                f"OAuth2 token endpoint {self.token_url} answered HTTP {resp.status_code} without an access_token",
                hint="check token_url",
            ) from None  # from None: the cause's body may hold the token
        self._token = token
        self._expires_at = self._clock.now() + float(body.get("expires_in", 3600)) - self.leeway_s
        self.fetches += 1

    def apply(self, headers: MutableMapping[str, str], params: MutableMapping[str, Any]) -> None:
        with self._lock:
            if self._token is None or self._clock.now() >= self._expires_at:
                self._fetch()
            headers["Authorization"] = f"Bearer {self._token}"

    def refresh(self) -> bool:
        with self._lock:
            self._token = None
            self._fetch()
        return True

    def secrets(self) -> list[str]:
        out = [self._token] if self._token else []
        for ref in (self.id_ref, self.secret_ref):
            # a missing credential is reported when the token is fetched, not here
            with contextlib.suppress(CredentialError):
                out.append(resolve_secret(ref, what="oauth2").get_secret_value())
        return out

    def describe(self) -> str:
        return f"OAuth2 client credentials (client_id {_origin(self.id_ref)}, client_secret {_origin(self.secret_ref)})"


def _origin(ref: str) -> str:
    if ref.startswith("env:"):
        return f"env {ref[4:]}"
    if ref.startswith("setting:"):
        return f"setting connectors.{ref[8:]} / COVARY_CONNECTORS__{ref[8:].upper()}"
    return "literal value in the spec"


AUTH_MAP: dict[str, type[Auth]] = {
    "none": NoAuth,
    "api_key": ApiKeyAuth,
    "bearer": BearerAuth,
    "oauth2_client_credentials": OAuth2ClientCredentials,
}


def register_auth(name: str, cls: type[Auth]) -> None:
    """Make ``auth: {type: name}`` build ``cls(**rest_of_the_config)``."""
    register_type(AUTH_MAP, Auth, name, cls)


def build_auth(config: Auth | dict[str, Any] | str | None, *, where: str = "auth") -> Auth:
    """An :class:`Auth` from an instance, ``None``, a type name, or ``{type: ..., **options}``."""
    return build_from_registry(
        AUTH_MAP, Auth, config, default=NoAuth, where=where, label="auth type", register_fn="register_auth"
    )


__all__ = [
    "AUTH_MAP",
    "ApiKeyAuth",
    "Auth",
    "BearerAuth",
    "NoAuth",
    "OAuth2ClientCredentials",
    "build_auth",
    "register_auth",
]
