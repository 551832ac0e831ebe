"""The per-group work of the forecast job (runs as one Ray task): backtest, pick, refit, forecast, plot."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from jobs.forecast.backtest import backtest
from jobs.forecast.models import SEASON, ForecastModel


@dataclass(frozen=True)
class SeriesInput:
    """One series to model: its values (regular daily) and its regressors, unlagged on the same calendar."""

    series_id: str
    start: date
    y: np.ndarray
    exog_names: tuple[str, ...] = ()
    exog_raw: np.ndarray | None = None
    """(n, k) regressor values on the series' days, before lagging."""
    exog_lags: tuple[int, ...] = ()
    lower_bound: float | None = None
    """Floor of the forecasts and their intervals (0 for counts and amounts; ``None``: unbounded)."""

    def regressors(self, origin: int, horizon: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Lagged regressors for days ``0..origin-1`` and the ``horizon`` days after, knowing data up to origin."""
        if not self.exog_names or self.exog_raw is None:
            return None, None
        cols = [
            aligned_regressor(self.exog_raw[:origin, j], lag, origin, horizon, self.start)
            for j, lag in enumerate(self.exog_lags)
        ]
        return np.column_stack([c[0] for c in cols]), np.column_stack([c[1] for c in cols])

    def exog_future(self, horizon: int) -> np.ndarray | None:
        return self.regressors(len(self.y), horizon)[1]


MIN_SCENARIO_MODEL_DAYS = 8 * SEASON


def scenario(x: np.ndarray, horizon: int, start: date | None = None) -> np.ndarray:
    """Future values of a regressor not yet known, forecast from its own history (``start``: its first day).

    With ``start`` and at least 8 weeks of history the regressor gets its own SARIMAX(1,0,0) with calendar
    regressors, so a planned-spend series keeps its weekday rhythm while a weather anomaly decays back to
    the usual level instead of being carried forward. Otherwise (or when that fit fails) the scenario is
    the last week's mean plus the mean weekday deviation over the last 8 weeks.
    """
    if start is not None and len(x) >= MIN_SCENARIO_MODEL_DAYS:
        try:
            mean = ForecastModel("sarimax", start, x).fit().predict(horizon).mean
        except (np.linalg.LinAlgError, ValueError):
            mean = None
        if mean is not None and np.all(np.isfinite(mean)):
            return mean
    weeks = min(8, len(x) // SEASON)
    tail = x[len(x) - weeks * SEASON :].reshape(weeks, SEASON)
    profile = (tail - tail.mean(axis=1, keepdims=True)).mean(axis=0)
    level = float(x[-SEASON:].mean())
    return np.array([level + profile[i % SEASON] for i in range(horizon)])


def aligned_regressor(
    x: np.ndarray, lag: int, n_train: int, horizon: int, start: date | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Regressor ``x`` lagged by ``lag`` days for the training days and the next ``horizon`` days.

    Values the lag does not reach into history for come from :func:`scenario` (e.g. planned spend or
    a weather outlook); a model that needs them pays for that uncertainty in its backtests.
    """
    x = x[:n_train]
    unknown = horizon - lag
    ext = np.concatenate([x, scenario(x, unknown, start)]) if unknown > 0 else x
    idx = np.arange(n_train + horizon) - lag
    lagged = ext[np.clip(idx, 0, None)]
    return lagged[:n_train], lagged[n_train:]


def model_series(item: SeriesInput, *, horizon: int, folds: int, plot: bool = True) -> dict[str, Any]:
    """Backtest the candidates, refit the winner on all data and forecast ``horizon`` days."""
    bt = backtest(
        item.start, item.y, exog_names=item.exog_names, regressors=item.regressors, horizon=horizon, folds=folds
    )
    uses_exog = bt.winner == "sarimax" and bool(item.exog_names)
    train, future = item.regressors(len(item.y), horizon)
    model = ForecastModel(
        bt.winner,
        item.start,
        item.y,
        exog=item.exog_names if uses_exog else (),
        exog_train=train if uses_exog else None,
        interval_scale=(bt.scores[bt.winner]["interval_scale80"], bt.scores[bt.winner]["interval_scale95"]),
        lower_bound=item.lower_bound,
    ).fit()
    exog_future = future if uses_exog else None
    fc = model.predict(horizon, exog_future)
    first = model.end + timedelta(days=1)
    return {
        "series_id": item.series_id,
        "origin": model.end.isoformat(),
        "winner": bt.winner,
        "scores": bt.scores,
        "folds": bt.folds,
        "spec": model.spec(),
        "train_csv": model.train_frame().to_csv(index=False),
        "exog_future": None if exog_future is None else exog_future.tolist(),
        "forecast": fc.frame(first).to_dict(orient="list"),
        "plot_png": _plot(item, model, fc.frame(first), bt.scores, bt.folds) if plot else None,
    }


def model_group(items: list[SeriesInput], *, horizon: int, folds: int, plot: bool = True) -> list[dict[str, Any]]:
    return [model_series(i, horizon=horizon, folds=folds, plot=plot) for i in items]


def _plot(
    item: SeriesInput, model: ForecastModel, fc: Any, scores: dict[str, Any], folds: list[dict[str, Any]]
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    tail = min(len(item.y), 120)
    hist_x = np.arange(-tail + 1, 1)
    ax.plot(hist_x, item.y[-tail:], color="black", lw=1, label="actual")
    steps = np.arange(1, len(fc["mean"]) + 1)
    ax.fill_between(steps, fc["lo95"], fc["hi95"], color="tab:blue", alpha=0.15, label="95%")
    ax.fill_between(steps, fc["lo80"], fc["hi80"], color="tab:blue", alpha=0.3, label="80%")
    ax.plot(steps, fc["mean"], color="tab:blue", lw=1.5, label=f"{model.kind} forecast")
    n = len(item.y)
    for f in folds:
        o = (date.fromisoformat(f["origin"]) - item.start).days + 1 - n
        if model.kind in f and o > -tail:
            ax.plot(np.arange(o + 1, o + 1 + len(f[model.kind])), f[model.kind], color="tab:orange", lw=1, alpha=0.8)
    ax.set_title(f"{item.series_id} (days relative to {model.end.isoformat()}; orange: backtests)")
    ax.legend(loc="upper left", fontsize=8)
    kinds = [k for k in scores if scores[k]["mase"] is not None]
    ax2.bar(kinds, [scores[k]["mase"] for k in kinds], color=["tab:blue" if k == model.kind else "grey" for k in kinds])
    ax2.set_title("backtest MASE")
    ax2.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


__all__ = ["SeriesInput", "aligned_regressor", "model_group", "model_series"]
