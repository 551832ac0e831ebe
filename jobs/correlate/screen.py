"""Two-stage plan beyond all-pairs: random-projection sketches rank pairs cheaply, exact tests run on survivors."""

from __future__ import annotations

import math

import numpy as np

from jobs.correlate.kernel import Prepared


def sketch_scores(
    prep: Prepared, *, dim: int, seed: int, ia: np.ndarray, ib: np.ndarray, sketches: list[np.ndarray]
) -> np.ndarray:
    """Approximate max over lags of |r| for block (ia x ib) from the sketches -> (ta, tb)."""
    n = prep.z.shape[0]
    base = sketches[len(sketches) // 2][:, ia]  # lag 0 sketch of the a side
    best = np.zeros((ia.size, ib.size), dtype=np.float32)
    for sk in sketches:
        np.maximum(best, np.abs(base.T @ sk[:, ib]) / n, out=best)
    return best


def make_sketches(prep: Prepared, *, dim: int, seed: int) -> list[np.ndarray]:
    """Gaussian random projections of every standardised series at each lag (circularly shifted)."""
    n = prep.z.shape[0]
    rng = np.random.default_rng([seed, 0x5C4EE7])
    proj = (rng.standard_normal((dim, n)) / math.sqrt(dim)).astype(prep.z.dtype)
    return [proj @ np.roll(prep.z, -int(lag), axis=0) for lag in prep.lags]


def screen(prep: Prepared, *, dim: int, keep: float, seed: int, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Survivor pairs (a, b), a < b: the top ``keep`` fraction by sketched score within every block.

    Keeping a fixed fraction per fixed-size block makes the survivor set independent of tiling.
    """
    n_series = prep.z.shape[1]
    sketches = make_sketches(prep, dim=dim, seed=seed)
    keep_a, keep_b = [], []
    starts = range(0, n_series, block_size)
    for s0 in starts:
        ia = np.arange(s0, min(s0 + block_size, n_series))
        for s1 in starts:
            if s1 < s0:
                continue
            ib = np.arange(s1, min(s1 + block_size, n_series))
            scores = sketch_scores(prep, dim=dim, seed=seed, ia=ia, ib=ib, sketches=sketches)
            if s0 == s1:
                rows, cols = np.triu_indices(ia.size, 1)
            else:
                rows, cols = np.nonzero(np.ones_like(scores, dtype=bool))
            flat = scores[rows, cols]
            k = max(1, math.ceil(keep * flat.size)) if flat.size else 0
            if k == 0:
                continue
            top = np.argpartition(-flat, k - 1)[:k] if k < flat.size else np.arange(flat.size)
            keep_a.append(ia[rows[top]])
            keep_b.append(ib[cols[top]])
    if not keep_a:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    a, b = np.concatenate(keep_a), np.concatenate(keep_b)
    order = np.lexsort((b, a))
    return a[order], b[order]


def cost_model(*, n_series: int, n_steps: int, lags: int, draws: int, dim: int, keep: float) -> dict[str, float]:
    """Flops of all-pairs exact testing vs the two-stage plan (see docs/scale.md)."""
    pairs = n_series * (n_series - 1) / 2
    views = min(draws * lags, n_steps)
    exact = 2.0 * pairs * n_steps * (views + 2 * lags)
    stage1 = 2.0 * n_series * dim * n_steps * lags + 2.0 * pairs * dim * lags
    stage2 = 2.0 * keep * pairs * n_steps * (views + 2 * lags)
    return {
        "pairs": pairs,
        "exact_flops": exact,
        "screen_flops": stage1,
        "survivor_flops": stage2,
        "speedup": exact / (stage1 + stage2),
    }


__all__ = ["cost_model", "make_sketches", "screen", "sketch_scores"]
