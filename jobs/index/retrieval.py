"""The retrieval primitives, in one module that the index job (writes) and the RAG deployment (reads) both
import: chunking, the shared embedding model, the vector store and its hit types, and the one online search
path (embed the question once, then dense/keyword/hybrid search)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jobs.index.chunking import chunk_text, split_sentences
from jobs.index.embed import DIM, MODEL_NAME, embed, load_embedder
from jobs.index.store import Chunk, Hit, Mode, VectorStore, fuse, milvus_uri_for

# texts -> L2-normalised float32 rows: ``embed`` in process, or the RAG app's Embedder deployment by handle
Embed = Callable[[list[str]], np.ndarray]


@dataclass
class Retrieved:
    """The hits for one question and the question's embedding (None in keyword mode), reused for confidence."""

    hits: list[Hit]
    vector: np.ndarray | None


def search(
    store: VectorStore,
    question: str,
    *,
    k: int = 5,
    kinds: list[str] | None = None,
    mode: Mode = "hybrid",
    embedder: Embed = embed,
) -> Retrieved:
    """Embed ``question`` (unless ``mode`` is keyword) and search ``store``."""
    vector = embedder([question])[0] if mode != "keyword" else None
    return Retrieved(store.search(vector, question, k=k, mode=mode, kinds=kinds), vector)


def best_similarity(vector: np.ndarray, texts: list[str], *, embedder: Embed = embed) -> float:
    """The highest cosine similarity of ``vector`` to any of ``texts`` (0.0 for none)."""
    if not texts:
        return 0.0
    return float(max(embedder(texts) @ vector))


__all__ = [
    "DIM",
    "MODEL_NAME",
    "Chunk",
    "Embed",
    "Hit",
    "Mode",
    "Retrieved",
    "VectorStore",
    "best_similarity",
    "chunk_text",
    "embed",
    "fuse",
    "load_embedder",
    "milvus_uri_for",
    "search",
    "split_sentences",
]
