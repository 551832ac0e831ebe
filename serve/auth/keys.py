"""API keys stored hashed in a YAML file: create, list, revoke, verify (constant-time)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from serve.auth.errors import KeyStoreError

Role = Literal["viewer", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "admin")
ROLE_RANK: dict[str, int] = {r: i for i, r in enumerate(ROLES)}
GRANTS: tuple[str, ...] = ("pii",)
TOKEN_PREFIX = "cvk"
_DUMMY_HASH = hashlib.sha256(b"covary-no-such-key").hexdigest()


def hash_secret(token: str) -> str:
    """sha256 of the whole token; tokens carry 256 random bits, so a fast hash is the right tool."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored key: its public id, role and the hash of its token (the token itself is never stored)."""

    key_id: str
    role: Role
    hash: str
    name: str = ""
    created_at: str = ""
    revoked: bool = False
    grants: tuple[str, ...] = ()
    """Extra permissions beyond the role: ``pii`` = read personal-data columns unmasked."""

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("hash")
        data["grants"] = list(self.grants)
        return data


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id (never the secret) and its role."""

    key_id: str
    role: Role
    grants: frozenset[str] = frozenset()

    def allows(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def pii(self) -> bool:
        """May read personal-data columns unmasked (only keys created with ``--grant pii``, any role)."""
        return "pii" in self.grants


def parse_token(token: str) -> str | None:
    """The key id inside ``cvk_<id>_<secret>``, or None when the token is malformed."""
    parts = token.strip().split("_")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


class KeyStore:
    """The hashed key file (``settings.api_keys_path``), re-read when it changes on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._stamp: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------------------ file
    def _load(self) -> dict[str, ApiKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._stamp = {}, None
            return self._keys
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp == self._stamp:
            return self._keys
        try:
            raw = yaml.safe_load(self.path.read_text()) or {}
            keys = {k["key_id"]: ApiKey(**{**k, "grants": tuple(k.get("grants") or ())}) for k in raw.get("keys", [])}
        except (OSError, yaml.YAMLError, TypeError, KeyError) as exc:
            raise KeyStoreError(
                f"cannot read API keys from {self.path}: {exc}",
                hint="fix or delete the file, then `covary serve keys create --role admin`",
            ) from exc
        unknown = [k.key_id for k in keys.values() if set(k.grants) - set(GRANTS)]
        if unknown:
            raise KeyStoreError(f"keys {unknown} in {self.path} have an unknown grant", hint=f"grants: {GRANTS}")
        bad = [k.key_id for k in keys.values() if k.role not in ROLES]
        if bad:
            raise KeyStoreError(f"keys {bad} in {self.path} have an unknown role", hint=f"roles: {', '.join(ROLES)}")
        self._keys, self._stamp = keys, stamp
        return keys

    def _save(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        body = {"keys": [asdict(k) | {"grants": list(k.grants)} for k in sorted(keys.values(), key=lambda k: k.key_id)]}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# covary API keys: sha256 hashes only; tokens are shown once at creation.\n")
            yaml.safe_dump(body, fh, sort_keys=False)
        tmp.replace(self.path)
        self._stamp = None

    # -------------------------------------------------------------------------- commands
    def create(self, role: str, *, name: str = "", grants: tuple[str, ...] | list[str] = ()) -> tuple[ApiKey, str]:
        """Create a key; return it and its token (shown once, never stored). ``grants``: e.g. ``("pii",)``."""
        if role not in ROLES:
            raise KeyStoreError(f"unknown role {role!r}", hint=f"use one of: {', '.join(ROLES)}")
        unknown = sorted(set(grants) - set(GRANTS))
        if unknown:
            raise KeyStoreError(f"unknown grant(s) {unknown}", hint=f"grants: {', '.join(GRANTS)}")
        with self._lock:
            keys = dict(self._load())
            key_id = secrets.token_hex(6)
            token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32).replace('_', '-')}"
            key = ApiKey(
                key_id=key_id,
                role=role,  # type: ignore[arg-type]
                hash=hash_secret(token),
                name=name,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                grants=tuple(sorted(set(grants))),
            )
            keys[key_id] = key
            self._save(keys)
        return key, token

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            keys = dict(self._load())
            if key_id not in keys:
                raise KeyStoreError(f"no key with id {key_id!r}", hint="`covary serve keys list` shows the ids")
            keys[key_id] = ApiKey(**{**asdict(keys[key_id]), "revoked": True})
            self._save(keys)
            return keys[key_id]

    def list(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._load().values(), key=lambda k: k.created_at)

    def verify(self, token: str) -> Principal | None:
        """The principal of ``token``, or None. Hashes are compared with ``hmac.compare_digest``."""
        with self._lock:
            keys = self._load()
        key_id = parse_token(token) or ""
        key = keys.get(key_id)
        expected = key.hash if key is not None else _DUMMY_HASH
        ok = hmac.compare_digest(hash_secret(token), expected)
        if not ok or key is None or key.revoked:
            return None
        return Principal(key_id=key.key_id, role=key.role, grants=frozenset(key.grants))


__all__ = ["GRANTS", "ROLES", "ROLE_RANK", "ApiKey", "KeyStore", "Principal", "Role", "hash_secret", "parse_token"]
