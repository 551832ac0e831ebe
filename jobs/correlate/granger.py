"""Granger F-tests in both directions, reported as temporal precedence (never as causation)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def _lagmat(x: np.ndarray, order: int) -> np.ndarray:
    n = x.size
    return np.column_stack([x[order - k : n - k] for k in range(1, order + 1)])


def granger_f(cause: np.ndarray, effect: np.ndarray, order: int) -> tuple[float, float]:
    """F statistic and p-value that ``order`` lags of ``cause`` add to lags of ``effect`` (+ constant).

    The same test as statsmodels ``grangercausalitytests(...)[order][0]['ssr_ftest']``.
    """
    ok = ~(np.isnan(cause) | np.isnan(effect))
    cause, effect = cause[ok], effect[ok]
    n = effect.size - order
    df_denom = n - 2 * order - 1
    if order < 1 or df_denom < 5:
        return float("nan"), float("nan")
    y = effect[order:]
    own = _lagmat(effect, order)
    other = _lagmat(cause, order)
    ones = np.ones((n, 1))
    restricted = np.hstack([own, ones])
    full = np.hstack([own, other, ones])
    rss_r = float(np.sum((y - restricted @ np.linalg.lstsq(restricted, y, rcond=None)[0]) ** 2))
    rss_u = float(np.sum((y - full @ np.linalg.lstsq(full, y, rcond=None)[0]) ** 2))
    if rss_u <= 0:
        return float("inf"), 0.0
    f = ((rss_r - rss_u) / order) / (rss_u / df_denom)
    return float(f), float(stats.f.sf(f, order, df_denom))


def precedence(a: str, b: str, p_ab: float, p_ba: float, alpha: float = 0.05) -> str:
    """One sentence on temporal precedence from the two Granger p-values."""
    if np.isnan(p_ab) or np.isnan(p_ba):
        return "Granger tests not computed (too few observations)"
    fwd, bwd = p_ab <= alpha, p_ba <= alpha
    if fwd and not bwd:
        return f"past {a} helps predict {b} (p={p_ab:.2g}), not the reverse: temporal precedence, not causation"
    if bwd and not fwd:
        return f"past {b} helps predict {a} (p={p_ba:.2g}), not the reverse: temporal precedence, not causation"
    if fwd and bwd:
        return f"each helps predict the other (p={p_ab:.2g}, {p_ba:.2g}): feedback or a shared driver"
    return f"neither series' past helps predict the other (p={p_ab:.2g}, {p_ba:.2g})"


__all__ = ["granger_f", "precedence"]
