"""Multiple-testing corrections over every pair tested: Benjamini-Hochberg, Benjamini-Yekutieli, maxT (FWER)."""

from __future__ import annotations

import numpy as np


def _step_up(p: np.ndarray, factor: float) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p)
    ecdf = np.arange(1, m + 1) / float(m) / factor
    raw = p[order] / ecdf  # the same arithmetic as statsmodels' fdrcorrection, so results are bit-identical
    q_sorted = np.minimum.accumulate(raw[::-1])[::-1]
    q_sorted[q_sorted > 1] = 1
    q = np.empty(m)
    q[order] = q_sorted
    return q


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (q-values), identical to statsmodels 'fdr_bh'."""
    return _step_up(p, 1.0)


def by(p: np.ndarray) -> np.ndarray:
    """Benjamini-Yekutieli (valid under any dependence), identical to statsmodels 'fdr_by'."""
    return _step_up(p, float(np.sum(1.0 / np.arange(1, np.asarray(p).size + 1))))


def maxt(scores: np.ndarray, null_max_scores: np.ndarray) -> np.ndarray:
    """Westfall-Young single-step maxT adjusted p-values from shared null draws.

    ``scores`` are the pairs' standardised statistics; ``null_max_scores[j]`` is the maximum over all
    pairs of the standardised null statistic in draw j (the draws are common to all pairs).
    """
    null_sorted = np.sort(np.asarray(null_max_scores, dtype=np.float64))
    b = null_sorted.size
    count_ge = b - np.searchsorted(null_sorted, np.asarray(scores, dtype=np.float64), side="left")
    return (count_ge + 1.0) / (b + 1.0)


def adjust(
    p: np.ndarray, method: str, *, scores: np.ndarray | None = None, null_max: np.ndarray | None = None
) -> np.ndarray:
    if method == "bh":
        return bh(p)
    if method == "by":
        return by(p)
    if method == "maxt":
        if scores is None or null_max is None:
            raise ValueError("maxT needs the standardised scores and the per-draw null maxima")
        return maxt(scores, null_max)
    raise ValueError(f"unknown correction {method!r}")


__all__ = ["adjust", "bh", "by", "maxt"]
