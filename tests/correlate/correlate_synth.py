"""Generators of autocorrelated series with planted lagged signals (ground truth for the engine's tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter


def ar1(rng: np.random.Generator, n: int, k: int, phi: float) -> np.ndarray:
    """k independent stationary AR(1) series of length n with unit variance, as columns."""
    e = rng.standard_normal((n + 200, k)) * np.sqrt(1 - phi**2)
    return lfilter([1.0], [1.0, -phi], e, axis=0)[200:]


def planted_panel(
    seed: int, *, n: int = 730, n_series: int = 60, n_planted: int = 10, r: float = 0.3, phi: float = 0.5
) -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
    """Series s00..; pairs (s[2k], s[2k+1]) carry correlation r at a known lag; the rest are independent."""
    rng = np.random.default_rng(seed)
    x = ar1(rng, n, n_series, phi)
    truth: dict[tuple[str, str], int] = {}
    names = [f"s{i:03d}" for i in range(n_series)]
    for k in range(n_planted):
        a, b = 2 * k, 2 * k + 1
        lag = int(rng.integers(-5, 6))
        src = np.roll(x[:, a], lag)  # b[t] depends on a[t - lag]: positive lag = a leads b
        x[:, b] = r * src + np.sqrt(1 - r**2) * x[:, b]
        truth[(names[a], names[b])] = lag
    frame = pd.DataFrame(x, columns=names, index=pd.date_range("2021-01-04", periods=n, freq="D"))
    return frame, truth
