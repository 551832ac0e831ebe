"""Build the planted RAG environment (lake, two correlation runs, user documents, index) and a Serve app on it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse
from tests.rag.planted import INJECTION, build

NOTES = """# Campaign notes Q3

The spring campaign doubled the paid advertising budget in March.
Support reported that the ticket backlog is handled by the Lisbon team.
"""


def make_env(root: Path, *, kinds: list[str] | None = None) -> dict[str, Any]:
    """Lake under ``root/lake``, Milvus Lite at ``root/milvus.db`` (where the Serve app looks), all kinds indexed."""
    from jobs.index import VectorStore, add_user_document, run_index

    lake = Lakehouse(root / "lake")
    runs = build(lake)
    add_user_document(lake, name="vendor-onboarding.md", text=INJECTION)
    add_user_document(lake, name="campaign-notes.md", text=NOTES)
    with VectorStore(str(root / "milvus.db")) as store:
        summary = run_index(lake, store=store, reports_dir=root / "reports", kinds=kinds)
    return {"root": root, "lake": lake, "runs": runs, "index": summary, "milvus": str(root / "milvus.db")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(env: dict[str, Any], tmp: Path) -> Iterator[dict[str, Any]]:
    """The query app (with the RAG and explorer routers) on a real local Serve instance; tokens per role."""
    from ray import serve

    from serve.auth import KeyStore
    from serve.query.app import build_app
    from tests._serve import start_fresh_serve, stop_serve

    keys_path = tmp / "keys.yaml"
    store = KeyStore(keys_path)
    tokens = {role: store.create(role, name=f"test {role}")[1] for role in ("viewer", "analyst", "admin")}
    port = free_port()
    start_fresh_serve(port)
    args = {
        "lake_root": env["lake"].root,
        "api_keys_path": str(keys_path),
        "audit_flush_s": 0.5,
        "engine": {"timeout_s": 10.0, "max_rows": 5000, "threads": 1, "refresh_s": 0},
        "rate_limits": {"viewer": 0, "analyst": 0, "admin": 0},
    }
    serve.run(build_app(args), name="query", route_prefix="/")
    try:
        yield {"url": f"http://127.0.0.1:{port}", "tokens": tokens, **env}
    finally:
        stop_serve()
