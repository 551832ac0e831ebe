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


def event_coupled(
    rng: np.random.Generator, n: int, *, lag: int, events: int = 10, size: float = 4.5, phi: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Two independent AR(1) series whose rare spikes co-occur: b spikes ``lag`` steps after each spike of a.

    The linear correlation stays weak (about 0.15-0.2): only ``events`` of ``n`` steps carry the relation.
    """
    x = ar1(rng, n, 2, phi)
    days = rng.choice(np.arange(40, n - 40 - lag), events, replace=False)
    for d in days:
        x[d, 0] += size
        x[d + lag, 1] += size
    return x[:, 0], x[:, 1]


def ar1_with_bursts(rng: np.random.Generator, n: int, k: int, *, phi: float = 0.9, bursts: int = 4) -> np.ndarray:
    """k independent AR(1) series, each with ``bursts`` clusters of 2-7 consecutive extreme values."""
    x = ar1(rng, n, k, phi)
    for j in range(k):
        for _ in range(bursts):
            d = int(rng.integers(0, n - 10))
            length = int(rng.integers(2, 8))
            x[d : d + length, j] += rng.choice([-1.0, 1.0]) * rng.uniform(3, 6)
    return x


def sparse_counts(rng: np.random.Generator, n: int, k: int, *, mean: float = 2.0, phi: float = 0.7) -> np.ndarray:
    """k independent overdispersed count series: Poisson with a log-AR(1) rate (mean about ``mean``), workdays x2."""
    workday = (np.arange(n) % 7) < 5
    rate = mean * np.exp(0.3 * ar1(rng, n, k, phi)) * np.where(workday, 1.25, 0.375)[:, None]
    return rng.poisson(rate).astype(float)


def count_cascade(
    rng: np.random.Generator,
    n: int,
    *,
    lag: int,
    bursts: int = 3,
    mean_a: float = 6.0,
    mean_b: float = 2.0,
    size: float = 12.0,
    decay: float = 0.6,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Two sparse count series (a with a workday rhythm, like tickets; b like failures) linked only by bursts.

    Each burst adds ``size`` standard deviations of the series' Poisson noise to its rate, decaying by ``decay``
    per step: in a on the burst day, in b ``lag`` steps later. Between bursts the two are independent, so the
    linear correlation stays weak. Returns (a, b, burst days of a).
    """
    a = sparse_counts(rng, n, 1, mean=mean_a)[:, 0]
    b = sparse_counts(rng, n, 1, mean=mean_b)[:, 0]
    days = sorted(int(d) for d in rng.choice(np.arange(40, n - 40 - lag), bursts, replace=False))
    for d in days:
        for k in range(6):
            a[d + k] += rng.poisson(size * np.sqrt(mean_a) * decay**k)
            b[d + lag + k] += rng.poisson(size * np.sqrt(mean_b) * decay**k)
    return a, b, days
