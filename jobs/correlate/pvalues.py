"""p-values that resolve far below 1/draws: permutation counts in the body, an n_eff-anchored fitted tail beyond."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobs.correlate.kernel import per_lag_p

P_FLOOR = 1e-300
"""p is never reported as 0: the smallest value is this (double precision's practical floor)."""


@dataclass
class PValues:
    p: np.ndarray
    p_empirical: np.ndarray
    p_tail: np.ndarray
    m_eff: np.ndarray
    source: np.ndarray


def combine(
    *,
    stat: np.ndarray,
    n_eff: np.ndarray,
    exceed: np.ndarray,
    sumlog: np.ndarray,
    draws: np.ndarray | int,
    var_factor: float,
    n_lags: int,
    min_exceedances: int = 10,
    tail: str = "auto",
) -> PValues:
    """Per-pair p-value of the best-lag statistic under the lag-search null.

    Null model of the pair statistic max_l |r_l|: each lag's Fisher z is N(0, 1/(n_eff-3)) with the
    Bartlett effective sample size, and the maximum over lags behaves like the maximum of ``m``
    independent lags: P(T >= t) = 1 - (1 - p1(t))^m. ``m_eff`` is fitted per pair to its null draws by
    maximum likelihood (p1 of a null maximum is Beta(1, m_eff)); ``m = max(m_eff, lags)``, so a fit
    above the number of lags (n_eff overestimated) makes p larger, never smaller than Bonferroni over
    lags. With >= ``min_exceedances`` null draws at or above the observed statistic, p is the larger of
    the permutation p (c+1)/(B+1) and the tail p; below that the fitted tail alone (overlapping shift
    windows make raw shift counts over-resolve the extreme tail, see docs/correlate.md).
    """
    draws_arr = np.broadcast_to(np.asarray(draws, dtype=np.float64), stat.shape)
    p_emp = (exceed + 1.0) / (draws_arr + 1.0)
    m_eff = np.clip(draws_arr / np.maximum(sumlog, 1e-300), 0.1, 50.0 * n_lags)
    m_used = np.maximum(m_eff, float(n_lags))  # never fewer than the lags searched (Bonferroni-safe)
    p1 = per_lag_p(np.abs(stat), n_eff, var_factor)
    p_tail = -np.expm1(m_used * np.log1p(-np.minimum(p1, 1.0 - 1e-16)))
    if tail == "none":
        p, use_emp = p_emp, np.ones(stat.shape, dtype=bool)
    else:
        use_emp = exceed >= min_exceedances
        p = np.where(use_emp, np.maximum(p_emp, p_tail), p_tail)
    p = np.clip(np.nan_to_num(p, nan=1.0), P_FLOOR, 1.0)
    source = np.where(use_emp, "permutation", "fitted tail")
    return PValues(p=p, p_empirical=p_emp, p_tail=np.clip(p_tail, P_FLOOR, 1.0), m_eff=m_eff, source=source)


__all__ = ["P_FLOOR", "PValues", "combine"]
