"""Small statistics the figures plot: lagged cross-correlation of two aligned series."""

from __future__ import annotations

import numpy as np


def cross_correlation(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[list[int], list[float | None]]:
    """Pearson r of ``x[t]`` with ``y[t + lag]`` for lag in -max_lag..max_lag (positive lag: x leads y).

    Pairs with a missing value are dropped per lag; lags with fewer than 3 pairs or no variance give None.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError("x and y must be aligned to the same time steps")
    lags = list(range(-max_lag, max_lag + 1))
    out: list[float | None] = []
    n = len(x)
    for lag in lags:
        if lag >= 0:
            a, b = x[: n - lag], y[lag:]
        else:
            a, b = x[-lag:], y[: n + lag]
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        if len(a) < 3 or a.std() == 0 or b.std() == 0:
            out.append(None)
            continue
        out.append(float(np.corrcoef(a, b)[0, 1]))
    return lags, out


__all__ = ["cross_correlation"]
