"""API keys: stored hashed, verified in constant time, roles ordered, revocation, pickling errors."""

from __future__ import annotations

import hmac
import pickle

import pytest

from serve.auth import KeyStore, KeyStoreError, Principal, RateLimitedError


def test_keys_are_stored_hashed_and_verified(tmp_path, monkeypatch):
    store = KeyStore(tmp_path / "keys.yaml")
    key, token = store.create("analyst", name="ci")
    text = (tmp_path / "keys.yaml").read_text()
    assert token not in text and token.split("_")[2] not in text and key.hash in text
    assert (tmp_path / "keys.yaml").stat().st_mode & 0o077 == 0
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    assert store.verify(token) == Principal(key.key_id, "analyst")
    assert store.verify(token + "x") is None
    assert store.verify(f"cvk_{key.key_id}_wrong") is None
    assert store.verify("cvk_unknown_secret") is None  # unknown ids still pay one comparison
    assert len(calls) == 4


def test_roles_and_revocation(tmp_path):
    store = KeyStore(tmp_path / "keys.yaml")
    viewer, vt = store.create("viewer")
    admin, at = store.create("admin")
    assert store.verify(at).allows("analyst") and store.verify(at).allows("viewer")
    assert not store.verify(vt).allows("analyst")
    other = KeyStore(tmp_path / "keys.yaml")  # a second reader (another replica) sees the revocation
    assert other.verify(vt) is not None
    store.revoke(viewer.key_id)
    assert other.verify(vt) is None
    with pytest.raises(KeyStoreError):
        store.create("root")
    with pytest.raises(KeyStoreError):
        store.revoke("nope")
    assert {k.key_id for k in store.list()} == {viewer.key_id, admin.key_id}


def test_errors_pickle():
    err = RateLimitedError("slow down", retry_after_s=3.0)
    back = pickle.loads(pickle.dumps(err))
    assert back.retry_after_s == 3.0 and back.hint
    assert pickle.loads(pickle.dumps(KeyStoreError("x", hint="y"))).hint == "y"
