"""Rolling-origin backtests: MASE, sMAPE and 80/95% interval coverage per candidate; winner by MASE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from jobs.forecast.models import KINDS, SEASON, Forecast, ForecastModel, Kind


def mase_scale(y: np.ndarray, season: int = SEASON) -> float:
    """In-sample MAE of the seasonal-naive forecast: the MASE denominator."""
    scale = float(np.mean(np.abs(y[season:] - y[:-season])))
    return scale if scale > 0 else float(np.mean(np.abs(y - y.mean()))) or 1.0


def smape(actual: np.ndarray, pred: np.ndarray) -> float:
    denom = np.abs(actual) + np.abs(pred)
    ok = denom > 0
    return float(np.mean(np.where(ok, 2 * np.abs(actual - pred) / np.where(ok, denom, 1), 0.0)) * 100)


@dataclass
class Score:
    """Scores of one candidate over all folds, with split-conformal interval calibration.

    The model's own intervals are usually a little narrow out of sample (parameter uncertainty, heavy
    tails, regressor scenarios). ``u80``/``u95`` keep |error| / interval half-width per point; the
    calibration factor is the 80th/95th percentile of those ratios (never below 1). Reported coverage
    is cross-fitted: each fold is scored with the factor learnt on the *other* folds.
    """

    kind: str
    abs_scaled: list[float] = field(default_factory=list)
    smapes: list[float] = field(default_factory=list)
    u80: list[np.ndarray] = field(default_factory=list)
    u95: list[np.ndarray] = field(default_factory=list)
    failed: str | None = None

    def add(self, actual: np.ndarray, fc: Forecast, scale: float) -> None:
        err = np.abs(actual - fc.mean)
        self.abs_scaled.append(float(np.mean(err) / scale))
        self.smapes.append(smape(actual, fc.mean))
        self.u80.append(err / np.maximum(fc.hi80 - fc.mean, 1e-12))
        self.u95.append(err / np.maximum(fc.hi95 - fc.mean, 1e-12))

    @staticmethod
    def _factor(u: np.ndarray, level: float) -> float:
        return max(1.0, float(np.quantile(u, level))) if u.size else 1.0

    def interval_scales(self) -> tuple[float, float]:
        if not self.u80:
            return 1.0, 1.0
        return self._factor(np.concatenate(self.u80), 0.8), self._factor(np.concatenate(self.u95), 0.95)

    def _coverage(self, u: list[np.ndarray], level: float, calibrated: bool) -> float:
        inside = 0
        for i, fold in enumerate(u):
            others = [f for j, f in enumerate(u) if j != i]
            factor = self._factor(np.concatenate(others), level) if calibrated and others else 1.0
            inside += int(np.sum(fold <= factor))
        return inside / sum(f.size for f in u)

    def summary(self) -> dict[str, Any]:
        points = sum(f.size for f in self.u80)
        if self.failed or not points:
            return {
                "model": self.kind, "mase": None, "smape": None, "coverage80": None, "coverage95": None,
                "coverage80_raw": None, "coverage95_raw": None, "interval_scale80": 1.0, "interval_scale95": 1.0,
                "points": 0, "error": self.failed,
            }  # fmt: skip
        s80, s95 = self.interval_scales()
        return {
            "model": self.kind,
            "mase": float(np.mean(self.abs_scaled)),
            "smape": float(np.mean(self.smapes)),
            "coverage80": self._coverage(self.u80, 0.8, True),
            "coverage95": self._coverage(self.u95, 0.95, True),
            "coverage80_raw": self._coverage(self.u80, 0.8, False),
            "coverage95_raw": self._coverage(self.u95, 0.95, False),
            "interval_scale80": s80,
            "interval_scale95": s95,
            "points": points,
            "error": None,
        }


@dataclass
class BacktestResult:
    scores: dict[str, dict[str, Any]]
    winner: Kind
    folds: list[dict[str, Any]]
    """Per fold: origin and, per candidate, the forecast mean (for plots)."""


def backtest(
    start: date,
    y: np.ndarray,
    *,
    exog_names: tuple[str, ...] = (),
    regressors: Callable[[int, int], tuple[np.ndarray | None, np.ndarray | None]] | None = None,
    horizon: int = 14,
    folds: int = 3,
    kinds: tuple[Kind, ...] = KINDS,
) -> BacktestResult:
    """Fit every candidate at ``folds`` rolling origins (each ``horizon`` days apart) and score the next days.

    ``regressors(origin, horizon)`` returns the lagged regressors for the training days and the forecast
    days *as known at the origin* (history where the lag reaches, else the same scenario production uses),
    so a backtest never peeks at future regressor values.
    """
    n = len(y)
    if n < horizon * folds + 8 * SEASON:
        folds = max(1, (n - 8 * SEASON) // horizon)
    scores = {k: Score(k) for k in kinds}
    fold_log: list[dict[str, Any]] = []
    for f in range(folds):
        origin = n - horizon * (folds - f)
        train, actual = y[:origin], y[origin : origin + horizon]
        scale = mase_scale(train)
        entry: dict[str, Any] = {"origin": (start + timedelta(days=origin - 1)).isoformat(), "actual": actual.tolist()}
        for kind in kinds:
            if scores[kind].failed:
                continue
            uses_exog = kind == "sarimax" and bool(exog_names) and regressors is not None
            x_train, x_future = regressors(origin, horizon) if uses_exog and regressors else (None, None)
            model = ForecastModel(kind, start, train, exog=exog_names if uses_exog else (), exog_train=x_train)
            try:
                fc = model.fit().predict(horizon, x_future)
            except (np.linalg.LinAlgError, ValueError) as exc:
                scores[kind].failed = f"{type(exc).__name__}: {exc}"
                continue
            if not np.all(np.isfinite(fc.mean)):
                scores[kind].failed = "non-finite forecast"
                continue
            scores[kind].add(actual, fc, scale)
            entry[kind] = fc.mean.tolist()
        fold_log.append(entry)
    summaries: dict[str, dict[str, Any]] = {k: s.summary() for k, s in scores.items()}
    ranked = sorted((s["mase"], k) for k, s in summaries.items() if s["mase"] is not None)
    winner: Kind = ranked[0][1] if ranked else "seasonal_naive"  # type: ignore[assignment]
    return BacktestResult(summaries, winner, fold_log)


__all__ = ["BacktestResult", "Score", "backtest", "mase_scale", "smape"]
