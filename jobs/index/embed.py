"""Sentence embeddings for the RAG index and engine, from the one process-wide loader in ``covary.embedding``."""

from __future__ import annotations

from typing import Any

import numpy as np

from covary import embedding
from covary.embedding import DIM, MODEL_NAME
from jobs.index.errors import EmbeddingModelMissingError


def load_embedder() -> Any:
    """The shared SentenceTransformer model (never downloads: HF_HUB_OFFLINE=1)."""
    try:
        return embedding.load_embedder()
    except embedding.EmbeddingModelMissingError as exc:
        raise EmbeddingModelMissingError(exc.message, hint=exc.hint) from exc


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text (cosine similarity = dot product)."""
    if texts:
        load_embedder()
    return embedding.embed(texts, batch_size=batch_size)


__all__ = ["DIM", "MODEL_NAME", "embed", "load_embedder"]
