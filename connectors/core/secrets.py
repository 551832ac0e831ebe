"""Secret references (``env:NAME``, ``setting:field``, literal) and redaction of secrets from text and URLs."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from connectors.errors import CredentialError

REDACTED = "***"

# Query parameters that carry secrets whatever the source says (values are always redacted in stored URLs).
SECRET_PARAM_NAMES = frozenset(
    {"api_key", "apikey", "key", "token", "access_token", "client_secret", "password", "secret", "appid", "auth"}
)


def resolve_secret(ref: str | SecretStr | None, *, what: str) -> SecretStr:
    """Turn a spec value into a secret: ``env:NAME`` reads the environment, ``setting:NAME`` reads
    ``settings.connectors.NAME`` (env ``COVARY_CONNECTORS__NAME``); anything else is the literal value.
    Raises :class:`CredentialError` naming what to set when it is missing."""
    if isinstance(ref, SecretStr):
        ref = ref.get_secret_value()
    if not ref:
        raise CredentialError(f"{what}: no credential configured", hint="set it in the source spec's auth section")
    if ref.startswith("env:"):
        name = ref[4:]
        value = os.environ.get(name)
        if not value:
            raise CredentialError(
                f"{what}: environment variable {name} is not set", hint=f"export {name}=... and run again"
            )
        return SecretStr(value)
    if ref.startswith("setting:"):
        name = ref[8:]
        from covary.settings import get_settings

        settings = get_settings().connectors
        if name not in type(settings).model_fields:
            valid = ", ".join(sorted(type(settings).model_fields))
            raise CredentialError(f"{what}: unknown connector setting {name!r}", hint=f"valid settings: {valid}")
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value:
            env = f"COVARY_CONNECTORS__{name.upper()}"
            raise CredentialError(
                f"{what}: setting connectors.{name} is empty",
                hint=f"export {env}=... or set connectors.{name} in covary.yaml",
            )
        return SecretStr(str(value))
    return SecretStr(ref)


class Redactor:
    """Removes known secret values (and secret-looking query parameters) from text and URLs."""

    def __init__(self, secrets: Iterable[str] = (), *, param_names: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s and len(s) >= 3}
        self.param_names = {p.lower() for p in param_names} | SECRET_PARAM_NAMES
        self._pattern: re.Pattern[str] | None = None

    def add(self, *secrets: str) -> None:
        fresh = {s for s in secrets if s and len(s) >= 3} - self._secrets
        if fresh:
            self._secrets |= fresh
            self._pattern = None

    def add_param(self, name: str) -> None:
        self.param_names.add(name.lower())

    def text(self, value: str) -> str:
        if not self._secrets:
            return value
        if self._pattern is None:
            alts = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in alts))
        return self._pattern.sub(REDACTED, value)

    def url(self, url: str) -> str:
        """The URL with secret query values replaced and userinfo dropped; safe to store and log."""
        parts = urlsplit(str(url))
        netloc = parts.netloc.rsplit("@", 1)[-1]
        query = parts.query
        if query:
            pairs = [
                (k, REDACTED if k.lower() in self.param_names else v)
                for k, v in parse_qsl(query, keep_blank_values=True)
            ]
            query = urlencode(pairs, safe="*:,/")
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


__all__ = ["REDACTED", "SECRET_PARAM_NAMES", "Redactor", "resolve_secret"]
