"""Per-series detection: level shifts by windowed medians, then STL residual outliers scored by robust MAD."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

MAD_TO_SD = 1.482602218505602  # 1 / Phi^-1(0.75): MAD -> standard deviation for normal data


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds and windows; logged to MLflow as the detector's parameters."""

    period: int = 7
    stl_seasonal: int = 35
    """STL seasonal smoother (odd): a stable weekly pattern; smaller values overfit and shrink residuals."""
    stl_trend: int = 31
    """STL trend window in days (odd): slow level changes only, so short bursts stay in the residual."""
    point_threshold: float = 5.5
    """|robust z| of an STL residual above which a day is a point anomaly."""
    shift_window: int = 14
    """Days on each side compared by the level-shift statistic (difference of medians)."""
    shift_threshold: float = 6.0
    """Robust z of the median difference above which a level shift is declared."""
    skip_holidays: bool = True
    """Holidays are expected deviations (calendar effects), never anomalies."""
    min_median: float = 5.0
    """Series whose median is below this are low counts (0, 1, 2 ...): not scored, MAD is meaningless there."""
    max_variance_ratio: float = 0.8
    """var(7-day change) / (7 var(1-day change)) above this marks a stock / random walk (headcount): not scored."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SeriesScores:
    """Everything the detector learnt about one series (kept for alerts and MLflow)."""

    series_id: str
    start: date
    residual: np.ndarray
    score: np.ndarray
    expected: np.ndarray
    shifts: list[int]
    resid_median: float
    resid_scale: float
    shift_scale: float


def robust_z(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    med = float(np.median(x))
    scale = float(MAD_TO_SD * np.median(np.abs(x - med)))
    if scale <= 0:
        scale = float(np.std(x)) or 1.0
    return (x - med) / scale, med, scale


def seasonal_robust_z(x: np.ndarray, period: int) -> tuple[np.ndarray, float, float]:
    """Robust z with one MAD scale per seasonal position (weekday): residuals are heteroscedastic.

    A position whose scale collapses (e.g. weekends with no activity) is floored at half the median
    position scale, so a quiet weekend cannot turn ordinary weekday noise into "anomalies" or vice versa.
    """
    med = float(np.median(x))
    pos = np.arange(len(x)) % period
    scales = np.array([MAD_TO_SD * np.median(np.abs(x[pos == k] - med)) for k in range(period)])
    overall = float(MAD_TO_SD * np.median(np.abs(x - med))) or float(np.std(x)) or 1.0
    floor = max(0.5 * float(np.median(scales)), 1e-9 * max(1.0, abs(med)), 0.25 * overall)
    scales = np.maximum(scales, floor)
    return (x - med) / scales[pos], med, overall


def level_shifts(z: np.ndarray, *, window: int, threshold: float) -> tuple[list[int], np.ndarray, float]:
    """Indices where a new level starts: peaks of the robust z of ``median(after) - median(before)``."""
    n = len(z)
    diff = np.zeros(n)
    for t in range(window, n - window + 1):
        diff[t] = np.median(z[t : t + window]) - np.median(z[t - window : t])
    inner = diff[window : n - window + 1]
    if len(inner) < 3:
        return [], np.zeros(n), 1.0
    _, med, scale = robust_z(inner)
    stat = np.zeros(n)
    stat[window : n - window + 1] = np.abs(inner - med) / scale
    found: list[int] = []
    order = np.argsort(-stat)
    for t in order:
        if stat[t] < threshold:
            break
        if all(abs(int(t) - f) > window for f in found):
            found.append(int(t))
    steps = np.zeros(n)
    for t in sorted(found):
        steps[t:] += diff[t]
    return sorted(found), steps, scale


def decompose(y: np.ndarray, cfg: DetectorConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust STL: (trend, seasonal, residual)."""
    from statsmodels.tsa.seasonal import STL

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = STL(y, period=cfg.period, seasonal=cfg.stl_seasonal, trend=cfg.stl_trend, robust=True).fit()
    return np.asarray(res.trend), np.asarray(res.seasonal), np.asarray(res.resid)


def score_series(series_id: str, start: date, y: np.ndarray, cfg: DetectorConfig) -> SeriesScores:
    """Shift-adjusted STL residuals and their robust z-scores."""
    _, seasonal0, _ = decompose(y, cfg)
    shifts, steps, shift_scale = level_shifts(y - seasonal0, window=cfg.shift_window, threshold=cfg.shift_threshold)
    trend, seasonal, resid = decompose(y - steps, cfg)
    score, med, scale = seasonal_robust_z(resid, cfg.period)
    return SeriesScores(series_id, start, resid, score, trend + seasonal + steps, shifts, med, scale, shift_scale)


def unsuitable(y: np.ndarray, s: SeriesScores, cfg: DetectorConfig) -> str | None:
    """Why the detector should not score this series, or None when it may."""
    if np.mean(y == np.round(y)) > 0.9 and float(np.median(np.abs(y))) < cfg.min_median:
        return f"low counts (integer values, median {float(np.median(y)):g} < {cfg.min_median:g})"
    d1, d7 = np.diff(y), y[7:] - y[:-7]
    ratio = float(np.var(d7) / (7 * np.var(d1))) if np.var(d1) > 0 else 0.0
    if ratio > cfg.max_variance_ratio:
        return f"a stock or random walk (variance ratio {ratio:.2f} > {cfg.max_variance_ratio:g}): score its changes"
    return None


def find_anomalies(
    s: SeriesScores,
    y: np.ndarray,
    observed: np.ndarray,
    cfg: DetectorConfig,
    holidays: set[date],
) -> list[dict[str, Any]]:
    """Point anomalies (observed, non-holiday days beyond the threshold) and level shifts of one series."""
    out: list[dict[str, Any]] = []
    for t in s.shifts:
        before = float(np.median(y[max(0, t - cfg.shift_window) : t]))
        out.append(
            {
                "series_id": s.series_id,
                "ts": s.start + timedelta(days=t),
                "kind": "level_shift",
                "value": float(np.median(y[t : t + cfg.shift_window])),
                "expected": before,
                "score": float((np.median(y[t : t + cfg.shift_window]) - before) / s.shift_scale),
                "direction": "up" if np.median(y[t : t + cfg.shift_window]) > before else "down",
                "threshold": cfg.shift_threshold,
            }
        )
    near_shift = {t + o for t in s.shifts for o in range(-1, 2)}
    for i in np.flatnonzero(np.abs(s.score) > cfg.point_threshold).tolist():
        day = s.start + timedelta(days=i)
        if not observed[i] or i in near_shift or (cfg.skip_holidays and day in holidays):
            continue
        out.append(
            {
                "series_id": s.series_id,
                "ts": day,
                "kind": "point",
                "value": float(y[i]),
                "expected": float(s.expected[i]),
                "score": float(s.score[i]),
                "direction": "up" if s.score[i] > 0 else "down",
                "threshold": cfg.point_threshold,
            }
        )
    return sorted(out, key=lambda a: (a["ts"], a["kind"]))


__all__ = [
    "DetectorConfig",
    "SeriesScores",
    "decompose",
    "find_anomalies",
    "level_shifts",
    "robust_z",
    "score_series",
    "unsuitable",
]
