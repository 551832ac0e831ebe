"""The RAG index job: documents from the lakehouse -> chunks -> all-MiniLM-L6-v2 embeddings -> Milvus."""

from __future__ import annotations

from typing import Any

from jobs.index.documents import KINDS, Document, build_documents
from jobs.index.errors import DocumentError, EmbeddingModelMissingError, RagIndexError, VectorStoreUnavailableError
from jobs.index.job import add_user_document, run_index
from jobs.index.store import Chunk, Hit, VectorStore, milvus_uri_for


def main(config: dict[str, Any]) -> dict[str, Any]:
    """``covary job run index``: config ``kinds`` (list), ``full`` (bool: re-embed everything)."""
    from jobs.index.config import IndexConfig

    config = IndexConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    from covary.settings import get_settings
    from lakehouse import Lakehouse

    settings = get_settings()
    lake = Lakehouse.from_settings(settings)
    return run_index(lake, kinds=config.get("kinds") or None, full=bool(config.get("full", False)))


def demo_step(lake: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Demo: index everything the earlier steps produced."""
    summary = run_index(lake)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary["by_kind"].items()))
    return {
        "lines": [
            f"{summary['documents']} documents ({kinds}); {summary['embedded']} embedded into "
            f"{summary['chunks']} chunks, {summary['unchanged']} unchanged, {summary['deleted']} deleted",
            f'Milvus: {summary["store"]} (collection {summary["collection"]}); ask with `covary ask "..."`',
        ]
    }


__all__ = [
    "KINDS",
    "Chunk",
    "Document",
    "DocumentError",
    "EmbeddingModelMissingError",
    "Hit",
    "RagIndexError",
    "VectorStore",
    "VectorStoreUnavailableError",
    "add_user_document",
    "build_documents",
    "demo_step",
    "main",
    "milvus_uri_for",
    "run_index",
]
