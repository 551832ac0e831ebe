"""Event relationships (Data Polygamy-style): peaks and troughs beyond adaptive thresholds, co-occurrence over lags.

Linear correlation misses relations that live in the extremes ("heavy rain days are slow taxi days",
"ticket bursts precede failure bursts"). Each series is reduced to its salient events: steps whose
deviation from a local, calendar-adjusted baseline exceeds ``threshold`` robust standard deviations
(rolling median/MAD, so thresholds adapt to level and volatility changes), runs of consecutive events
collapsed to their most extreme step. Two series are related when their events co-occur at some lag
-K..K more often than chance: the statistic is the largest count of same-direction (or opposite-
direction) co-occurrences over the lags, its null the same maximum under every admissible circular
shift of the second event train (keeps each train's clustering). The p-value is the permutation p in
the body and, beyond, a negative-binomial tail fitted to the null per-lag counts with a Bonferroni
factor for the lags and both directions searched; ``discover_lake`` puts these p-values into one
Benjamini-Hochberg family with the correlation tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from jobs.correlate.nulls import shift_guard
from jobs.correlate.transform import calendar_groups, remove_group_means

WINDOWS = {"D": 29, "W": 13, "M": 13, "Q": 9}
"""Rolling baseline window (steps) by frequency: a month of days, a quarter of weeks, a year of months."""
MIN_EVENTS = 3


def detect_events(
    values: np.ndarray, index: pd.DatetimeIndex, freq: str | None, *, threshold: float = 3.0
) -> np.ndarray:
    """(n, N) event trains of every column: +1 peak / -1 trough beyond ``threshold`` robust sd, runs collapsed."""
    x = np.asarray(values, dtype=np.float64)
    n, k = x.shape
    if n < 8 or k == 0:
        return np.zeros((n, k), dtype=np.int8)
    groups = calendar_groups(index, freq, "auto")
    if groups is not None and groups[1] == "day-of-week":
        x = remove_group_means(x, groups[0])
    w = WINDOWS.get(freq or "", 15)
    frame = pd.DataFrame(x)
    baseline = frame.rolling(w, center=True, min_periods=max(3, w // 3)).median()
    resid = frame - baseline
    spread = resid.abs().rolling(3 * w, center=True, min_periods=max(5, w)).median()
    overall = resid.abs().median()
    mean_abs = resid.abs().mean()
    floor = np.where(overall > 0, overall, mean_abs / 1.25)  # zero-inflated counts: MAD can be 0
    spread = spread.clip(lower=pd.Series(0.5 * floor, index=spread.columns), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.array((resid / (1.4826 * spread)).to_numpy(), dtype=np.float64)
    z[~np.isfinite(z)] = 0.0
    raw = np.where(z > threshold, 1, np.where(z < -threshold, -1, 0)).astype(np.int8)
    return _decluster(raw, np.abs(z))


def _decluster(raw: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Keep only the most extreme step of each run of consecutive same-sign events."""
    out = np.zeros_like(raw)
    n = raw.shape[0]
    for j in range(raw.shape[1]):
        col = raw[:, j]
        t = 0
        while t < n:
            if col[t] == 0:
                t += 1
                continue
            end = t
            while end + 1 < n and col[end + 1] == col[t]:
                end += 1
            best = t + int(np.argmax(size[t : end + 1, j]))
            out[best, j] = col[t]
            t = end + 1
    return out


def _xcorr(fa: np.ndarray, fb: np.ndarray, n: int, size: int) -> np.ndarray:
    """Circular cross-correlation c[k] = sum_t a[t] b[(t + k) mod n] from FFTs of zero-padded trains."""
    out = np.fft.irfft(np.conj(fa) * fb, n=size, axis=0)
    # zero padding to ``size`` >= 2n makes it linear; fold it back to circular of length n
    lin = np.rint(out).astype(np.int64)
    circ = lin[:n].copy()
    circ[1:] += lin[size - n + 1 :][: n - 1]
    return circ


def _tail(count: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """P(X >= count) for a per-lag null count with the given mean/variance (negative binomial or Poisson)."""
    mean = np.maximum(mean, 1e-9)
    out = np.empty(count.shape)
    over = var > mean * 1.0001
    if over.any():
        r = mean[over] ** 2 / (var[over] - mean[over])
        p = r / (r + mean[over])
        out[over] = stats.nbinom.sf(count[over] - 1, r, p)
    if (~over).any():
        out[~over] = stats.poisson.sf(count[~over] - 1, mean[~over])
    return out


def event_tests(
    events: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    *,
    max_lag: int,
    observed: np.ndarray | None = None,
    min_events: int = MIN_EVENTS,
) -> pd.DataFrame:
    """Test listed pairs (ia[i], ib[i]) of the event trains; rows with a, b indices, lag, counts, score, p.

    ``score`` is the share of the rarer series' events matched at the best lag, negative for
    opposite-direction matches (peaks with troughs).
    """
    n = events.shape[0]
    cols = ["ia", "ib", "lag", "co_events", "direction", "events_a", "events_b", "score", "p", "p_source", "draws"]
    g = shift_guard(n, max_lag)
    shifts = np.arange(g, n - g + 1)
    if shifts.size < 19 or ia.size == 0:
        return pd.DataFrame(columns=cols)
    if observed is not None:  # events only where the series is observed (NaN -> no event)
        events = np.where(observed, events, 0).astype(np.int8)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    pos = (events > 0).astype(np.float64)
    neg = (events < 0).astype(np.float64)
    fp, fn = np.fft.rfft(pos, n=size, axis=0), np.fft.rfft(neg, n=size, axis=0)
    counts = (events != 0).sum(axis=0)
    lags = np.arange(-max_lag, max_lag + 1)
    lag_idx = lags % n
    null_idx = (shifts[:, None] + lags[None, :]) % n  # (B, L)
    rows = []
    for a, b in zip(ia.tolist(), ib.tolist(), strict=True):
        na, nb = int(counts[a]), int(counts[b])
        if na < min_events or nb < min_events:
            continue
        same = _xcorr(fp[:, a], fp[:, b], n, size) + _xcorr(fn[:, a], fn[:, b], n, size)
        opp = _xcorr(fp[:, a], fn[:, b], n, size) + _xcorr(fn[:, a], fp[:, b], n, size)
        obs_same, obs_opp = same[lag_idx], opp[lag_idx]
        best_same, best_opp = int(obs_same.max()), int(obs_opp.max())
        direction = "same" if best_same >= best_opp else "opposite"
        stat = max(best_same, best_opp)
        li = int(np.argmax(obs_same if direction == "same" else obs_opp))
        null_max = np.maximum(same[null_idx].max(axis=1), opp[null_idx].max(axis=1))
        exceed = int((null_max >= stat).sum())
        region = np.concatenate([same[shifts], opp[shifts]]).astype(np.float64)
        p_tail = float(
            min(1.0, 2 * lags.size * _tail(np.array([stat]), np.array([region.mean()]), np.array([region.var()]))[0])
        )
        p_emp = (exceed + 1.0) / (shifts.size + 1.0)
        use_emp = exceed >= 10
        p = max(p_emp, p_tail) if use_emp else p_tail
        share = stat / min(na, nb)  # share of the rarer series' events matched at the best lag
        signed = share if direction == "same" else -share
        rows.append(
            (a, b, int(lags[li]), stat, direction, na, nb, float(signed), max(p, 1e-300),
             "permutation" if use_emp else "fitted tail", int(shifts.size))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def wilson_interval(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


__all__ = ["MIN_EVENTS", "WINDOWS", "detect_events", "event_tests", "wilson_interval"]
