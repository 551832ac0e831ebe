"""A local BM25 over the stored chunks (Milvus Lite scores BM25 per segment, so incremental inserts rank badly)."""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

TOKEN = re.compile(r"[a-z0-9]+")


def terms(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75) over ``texts`` as a sparse term matrix; ``top`` returns (row, score) pairs."""

    def __init__(self, texts: list[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for i, text in enumerate(texts):
            counts: dict[int, int] = {}
            toks = terms(text)
            lengths[i] = len(toks)
            for t in toks:
                j = self.vocab.setdefault(t, len(self.vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([i] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
        n = len(texts)
        tf = sparse.csc_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=(n, max(len(self.vocab), 1)))
        df = np.diff(tf.indptr).astype(np.float32)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if n else 1.0
        norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        # precompute the BM25 weight of every (doc, term) entry
        data = tf.data.copy()
        row_idx = tf.indices
        data = data * (k1 + 1) / (data + norm[row_idx])
        self.weights = sparse.csc_matrix((data, tf.indices, tf.indptr), shape=tf.shape)
        self.n = n

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        cols = sorted({self.vocab[t] for t in terms(query) if t in self.vocab})
        if not cols or not self.n:
            return []
        sub = self.weights[:, cols]
        scores = np.asarray(sub @ self.idf[cols]).ravel()
        hit = np.flatnonzero(scores > 0)
        if hit.size == 0:
            return []
        best = hit[np.argsort(-scores[hit], kind="stable")[:k]]
        return [(int(i), float(scores[i])) for i in best]


__all__ = ["BM25", "terms"]
