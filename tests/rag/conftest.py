"""RAG fixtures: one planted, indexed lake per test session; a real Serve app for the HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.rag.env import make_env, serve_app


@pytest.fixture(scope="session")
def rag_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return make_env(tmp_path_factory.mktemp("rag"))


@pytest.fixture(scope="module")
def engine(rag_env: dict[str, Any]) -> Iterator[Any]:
    """The in-process engine (holds the Milvus Lite file; closed at the end of the module)."""
    from jobs.index import VectorStore
    from serve.rag.engine import RagEngine

    eng = RagEngine(rag_env["lake"], VectorStore(rag_env["milvus"]))
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def rag_app(ray_local: None, rag_env: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with serve_app(rag_env, tmp_path_factory.mktemp("rag-keys")) as app:
        yield app
