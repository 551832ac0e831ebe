"""Distribution drift between two Delta versions of a column: PSI and the two-sample Kolmogorov–Smirnov test."""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import stats

EPS = 1e-4


def psi(expected: np.ndarray, actual: np.ndarray, *, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` with quantile bins of ``expected``.

    PSI = sum((a_i - e_i) * ln(a_i / e_i)) over bins (shares floored at 1e-4). Rule of thumb:
    < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e, a = e[np.isfinite(e)], a[np.isfinite(a)]
    if len(e) == 0 or len(a) == 0:
        return float("nan")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([e.min() - 0.5, e.min() + 0.5])
    inner = edges[1:-1]
    e_share = np.bincount(np.searchsorted(inner, e, side="right"), minlength=len(inner) + 1) / len(e)
    a_share = np.bincount(np.searchsorted(inner, a, side="right"), minlength=len(inner) + 1) / len(a)
    e_share, a_share = np.maximum(e_share, EPS), np.maximum(a_share, EPS)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def psi_categorical(expected: list[object], actual: list[object]) -> float:
    """PSI over category shares (categories of either side; missing shares floored at 1e-4)."""
    if not expected or not actual:
        return float("nan")
    ce, ca = Counter(expected), Counter(actual)
    total = 0.0
    for cat in set(ce) | set(ca):
        e = max(ce[cat] / len(expected), EPS)
        a = max(ca[cat] / len(actual), EPS)
        total += (a - e) * np.log(a / e)
    return float(total)


def ks_2samp(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic D = sup|F_x - F_y| and its two-sided p-value (exact for small, asymptotic else)."""
    x = np.sort(np.asarray(x, dtype=float)[np.isfinite(x)])
    y = np.sort(np.asarray(y, dtype=float)[np.isfinite(y)])
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        return float("nan"), float("nan")
    grid = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, grid, side="right") / n
    cdf_y = np.searchsorted(y, grid, side="right") / m
    d = float(np.max(np.abs(cdf_x - cdf_y)))
    en = n * m / (n + m)
    p = float(stats.kstwo.sf(d, round(en))) if en < 10_000 else float(stats.kstwobign.sf(d * np.sqrt(en)))
    return d, min(1.0, max(0.0, p))


__all__ = ["ks_2samp", "psi", "psi_categorical"]
