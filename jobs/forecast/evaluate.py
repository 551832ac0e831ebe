"""Held-out evaluation: replay the forecast job at rolling origins over the last days and score what it said.

At each origin the job's whole procedure runs on data up to that day only (backtests, choice of model,
interval calibration, refit, regressor scenarios), exactly as a scheduled run would have; its forecast of
the next ``horizon`` days is then scored against what happened, next to seasonal naive from the same
origin. One window is noisy (a 14-day MASE swings with a single burst), so the verdict pools
``origins`` windows per series.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import ray

from jobs.common import tracking
from jobs.forecast.backtest import mase_scale
from jobs.forecast.errors import ForecastInputError
from jobs.forecast.models import ForecastModel
from jobs.forecast.task import SeriesInput
from lakehouse import Lakehouse


def window(item: SeriesInput, lo: int, hi: int) -> SeriesInput:
    """The series (and its regressors) restricted to days ``lo .. hi-1``: nothing after ``hi`` is visible."""
    return replace(
        item,
        start=item.start + timedelta(days=lo),
        y=item.y[lo:hi],
        exog_raw=None if item.exog_raw is None else item.exog_raw[lo:hi],
    )


def score_window(item: SeriesInput, result: dict[str, Any], actual: np.ndarray) -> dict[str, Any]:
    """Scaled absolute errors of the job's forecast and of seasonal naive, and interval hits, for one window."""
    fc = result["forecast"]
    snaive = ForecastModel("seasonal_naive", item.start, item.y).fit().predict(len(actual)).mean
    mase_den = mase_scale(item.y)
    mean, lo80, hi80 = (np.asarray(fc[k]) for k in ("mean", "lo80", "hi80"))
    lo95, hi95 = np.asarray(fc["lo95"]), np.asarray(fc["hi95"])
    return {
        "origin": result["origin"],
        "winner": result["winner"],
        "err": np.abs(actual - mean) / mase_den,
        "err_snaive": np.abs(actual - snaive) / mase_den,
        "in80": (actual >= lo80) & (actual <= hi80),
        "in95": (actual >= lo95) & (actual <= hi95),
        "mean": mean.tolist(),
    }


def evaluate_holdout(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    """Rolling-origin evaluation of the forecast job over the last ``origins * horizon`` days.

    ``config``: series, exog, horizon (14), origins (4), folds (3), history_days (365), group_size (3),
    until (last day to evaluate; default the last day all series have), log_mlflow (true).
    """
    from jobs.forecast.job import DEFAULT_SERIES, _exog_spec, _model_group_task, build_inputs

    series = list(config.get("series") or DEFAULT_SERIES)
    horizon, origins = int(config.get("horizon", 14)), int(config.get("origins", 4))
    folds, history = int(config.get("folds", 3)), int(config.get("history_days", 365))
    group_size = max(1, int(config.get("group_size", 3)))
    if horizon < 1 or origins < 1:
        raise ForecastInputError("horizon and origins must be at least 1")
    until = date.fromisoformat(config["until"]) if config.get("until") else None
    held = origins * horizon
    items = build_inputs(
        lake, series, exog=_exog_spec(config), horizon=horizon, until=until, history_days=history + held
    )
    last = min(i.start + timedelta(days=len(i.y) - 1) for i in items)
    items = [window(i, 0, (last - i.start).days + 1) for i in items]
    short = [i.series_id for i in items if len(i.y) < held + 10 * horizon]
    if short:
        raise ForecastInputError(
            f"too little history to hold out {held} days from {', '.join(short)}",
            hint="lower origins or horizon, or load more history",
        )

    def origin(item: SeriesInput, k: int) -> int:  # index of the first day forecast from the k-th origin
        return len(item.y) - held + k * horizon

    tasks: list[tuple[int, list[SeriesInput]]] = []
    for k in range(origins):
        cut = [window(i, max(0, origin(i, k) - history), origin(i, k)) for i in items]
        tasks += [(k, cut[j : j + group_size]) for j in range(0, len(cut), group_size)]
    t0 = time.perf_counter()
    refs = [_model_group_task.remote(group, horizon, folds, False) for _, group in tasks]
    per_series: dict[str, list[dict[str, Any]]] = {i.series_id: [] for i in items}
    full = {i.series_id: i for i in items}
    for (k, group), results in zip(tasks, ray.get(refs), strict=True):
        for item, result in zip(group, results, strict=True):
            o = origin(full[item.series_id], k)
            per_series[item.series_id].append(score_window(item, result, full[item.series_id].y[o : o + horizon]))
    seconds = time.perf_counter() - t0

    out_series: dict[str, dict[str, Any]] = {}
    for sid, wins in per_series.items():
        wins.sort(key=lambda w: w["origin"])
        err, err_sn = np.concatenate([w["err"] for w in wins]), np.concatenate([w["err_snaive"] for w in wins])
        out_series[sid] = {
            "mase": float(err.mean()),
            "mase_seasonal_naive": float(err_sn.mean()),
            "beats_seasonal_naive": bool(err.mean() < err_sn.mean()),
            "coverage80": float(np.concatenate([w["in80"] for w in wins]).mean()),
            "coverage95": float(np.concatenate([w["in95"] for w in wins]).mean()),
            "points": int(err.size),
            "winners": [w["winner"] for w in wins],
            "windows": [
                {"origin": w["origin"], "winner": w["winner"], "mase": float(w["err"].mean()), "mean": w["mean"]}
                for w in wins
            ],
        }
    hits80 = np.concatenate([w["in80"] for ws in per_series.values() for w in ws])
    hits95 = np.concatenate([w["in95"] for ws in per_series.values() for w in ws])
    beat = sum(s["beats_seasonal_naive"] for s in out_series.values())
    summary: dict[str, Any] = {
        "series": out_series,
        "horizon": horizon,
        "origins": sorted({w["origin"] for ws in per_series.values() for w in ws}),
        "beat_seasonal_naive": beat,
        "share_beating_seasonal_naive": beat / len(out_series),
        "mean_mase": float(np.mean([s["mase"] for s in out_series.values()])),
        "mean_mase_seasonal_naive": float(np.mean([s["mase_seasonal_naive"] for s in out_series.values()])),
        "coverage80": float(hits80.mean()),
        "coverage95": float(hits95.mean()),
        "points": int(hits80.size),
        "ray_tasks": len(tasks),
        "seconds": round(seconds, 2),
    }
    if config.get("log_mlflow", True):
        summary["run_id"] = _log(summary, config)
    return summary


def _log(summary: dict[str, Any], config: dict[str, Any]) -> str:
    """One MLflow run in the forecast experiment: pooled metrics plus per-series MASE and coverage."""
    import mlflow

    exp_id = tracking.experiment("forecast")
    with mlflow.start_run(experiment_id=exp_id, run_name=f"holdout-{datetime.now(UTC):%Y%m%dT%H%M%S}") as run:
        mlflow.set_tags({"covary.job": "forecast", "covary.mode": "evaluate"})
        mlflow.log_params(
            {
                "horizon": summary["horizon"],
                "origins": ",".join(summary["origins"]),
                "series": len(summary["series"]),
                "folds": config.get("folds", 3),
                "history_days": config.get("history_days", 365),
            }
        )
        pooled = ("share_beating_seasonal_naive", "mean_mase", "mean_mase_seasonal_naive", "coverage80", "coverage95")
        metrics = {k: float(summary[k]) for k in pooled}
        for sid, s in summary["series"].items():
            for m in ("mase", "mase_seasonal_naive", "coverage80", "coverage95"):
                metrics[f"{m}/{sid}"] = s[m]
        mlflow.log_metrics(metrics)
        mlflow.log_dict(summary, "holdout.json")
    return str(run.info.run_id)


__all__ = ["evaluate_holdout", "score_window", "window"]
