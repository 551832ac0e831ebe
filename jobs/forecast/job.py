"""Forecast job driver: load series, fan out over Ray by group, log/register winners in MLflow, write gold."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import ray

from jobs.common import tracking
from jobs.common.series import load_daily
from jobs.forecast.errors import ForecastInputError
from jobs.forecast.task import SeriesInput, model_group
from jobs.runtime import ray_retry_options
from lakehouse import BatchKey, Lakehouse

log = logging.getLogger(__name__)

# Default regressors: series -> [(regressor series, lag days, transform)]. "hdd18" turns a temperature into
# heating degree days max(0, 18 - t), the usual driver of heating energy and winter sickness.
DEFAULT_EXOG: dict[str, list[tuple[str, int, str]]] = {
    "synth.marketing.conversions": [("synth.marketing.spend", 2, "identity")],
    "synth.marketing.revenue": [("synth.marketing.spend", 2, "identity")],
    "synth.crm.deals_won": [("synth.crm.leads", 14, "identity")],
    "synth.operations.equipment_failures": [("synth.support.tickets", 21, "identity")],
    "synth.operations.energy_kwh": [("synth.weather.temp_c", 0, "hdd18")],
    "synth.hr.absences": [("synth.weather.temp_c", 0, "hdd18")],
}
TRANSFORMS = {"identity": lambda x: x, "hdd18": lambda x: np.maximum(0.0, 18.0 - x)}
DEFAULT_SERIES: tuple[str, ...] = (
    "synth.marketing.spend",
    "synth.marketing.conversions",
    "synth.marketing.revenue",
    "synth.crm.leads",
    "synth.crm.deals_won",
    "synth.support.tickets",
    "synth.operations.output_units",
    "synth.operations.equipment_failures",
    "synth.operations.energy_kwh",
    "synth.hr.absences",
    "synth.finance.revenue",
    "synth.finance.expenses",
)


@ray.remote(**ray_retry_options())
def _model_group_task(items: list[SeriesInput], horizon: int, folds: int, plot: bool) -> list[dict[str, Any]]:
    return model_group(items, horizon=horizon, folds=folds, plot=plot)


def _exog_spec(config: dict[str, Any]) -> dict[str, list[tuple[str, int, str]]]:
    """``config["exog"]``: {series: [[regressor, lag] or [regressor, lag, transform], ...]}."""
    raw = config.get("exog")
    if raw is None:
        return DEFAULT_EXOG
    out: dict[str, list[tuple[str, int, str]]] = {}
    for k, v in raw.items():
        regs = []
        for x in v:
            transform = str(x[2]) if len(x) > 2 else "identity"
            if transform not in TRANSFORMS:
                raise ForecastInputError(
                    f"unknown regressor transform {transform!r} for {k}", hint=f"use one of {', '.join(TRANSFORMS)}"
                )
            regs.append((str(x[0]), int(x[1]), transform))
        out[k] = regs
    return out


def build_inputs(
    lake: Lakehouse,
    series: list[str],
    *,
    exog: dict[str, list[tuple[str, int, str]]],
    horizon: int,
    until: date | None,
    history_days: int,
) -> list[SeriesInput]:
    """Regular daily arrays for every series, with lagged regressors and their future scenario."""
    wanted = sorted({*series, *(x for s in series for x, _, _ in exog.get(s, []))})
    daily = load_daily(lake, wanted, until=until)
    items = []
    for sid in series:
        s = daily[sid]
        regs = exog.get(sid, [])
        names, raws, lags = [], [], []
        for xid, lag, transform in regs:
            x = daily[xid]
            # align the regressor on the target's calendar
            offset = (s.start - x.start).days
            xs = x.values[max(0, offset) : max(0, offset) + len(s.values)]
            if len(xs) < len(s.values):
                xs = np.concatenate([np.full(len(s.values) - len(xs), xs[0]), xs])
            raws.append(TRANSFORMS[transform](xs))
            lags.append(lag)
            names.append(f"{xid}@lag{lag}" if transform == "identity" else f"{transform}({xid})@lag{lag}")
        cut = max(0, len(s.values) - history_days)
        items.append(
            SeriesInput(
                sid,
                date.fromordinal(s.start.toordinal() + cut),
                s.values[cut:],
                tuple(names),
                np.column_stack(raws)[cut:] if names else None,
                tuple(lags),
            )
        )
    return items


def run_forecast(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    """The whole job; ``config``: series, horizon (14), folds (3), group_size (3), until, history_days (365)."""
    series = list(config.get("series") or DEFAULT_SERIES)
    horizon, folds = int(config.get("horizon", 14)), int(config.get("folds", 3))
    group_size = max(1, int(config.get("group_size", 3)))
    until = date.fromisoformat(config["until"]) if config.get("until") else None
    items = build_inputs(
        lake,
        series,
        exog=_exog_spec(config),
        horizon=horizon,
        until=until,
        history_days=int(config.get("history_days", 365)),
    )
    groups = [items[i : i + group_size] for i in range(0, len(items), group_size)]
    plot = bool(config.get("plots", True))
    t0 = time.perf_counter()
    refs = [_model_group_task.remote(g, horizon, folds, plot) for g in groups]
    results = [r for group in ray.get(refs) for r in group]
    t1 = time.perf_counter()
    logged = log_to_mlflow(results, config)
    t2 = time.perf_counter()
    write_gold(lake, results, logged)
    winners: dict[str, int] = {}
    for r in results:
        winners[r["winner"]] = winners.get(r["winner"], 0) + 1
    beat = sum(
        1 for r in results if (r["scores"][r["winner"]]["mase"] or 9e9) < (r["scores"]["seasonal_naive"]["mase"] or 0)
    )
    return {
        "series": len(results),
        "ray_tasks": len(groups),
        "winners": winners,
        "beat_seasonal_naive": beat,
        "experiment": logged["experiment"],
        "parent_run_id": logged["parent_run_id"],
        "champions": logged["champions"],
        "tracking_uri": logged["tracking_uri"],
        "seconds": {
            "models": round(t1 - t0, 2),
            "mlflow": round(t2 - t1, 2),
            "gold": round(time.perf_counter() - t2, 2),
        },
    }


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("mlflow", "statsmodels", "pandas", "numpy", "scipy")]


def log_to_mlflow(results: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    """One parent run per job, one child run per series; the winner registered, champion alias if better."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from jobs.forecast.models import ForecastModel
    from jobs.forecast.pyfunc import ForecastPyfunc, input_example, predict_frame

    exp_id = tracking.experiment("forecast")
    champions: dict[str, Any] = {}
    versions: dict[str, tuple[str, str, str]] = {}
    pip = _pip_requirements()
    with mlflow.start_run(experiment_id=exp_id, run_name=f"forecast-{datetime.now(UTC):%Y%m%dT%H%M%S}") as parent:
        mlflow.log_params({k: str(v)[:500] for k, v in config.items() if k != "exog"})
        for r in results:
            sid, winner = r["series_id"], r["winner"]
            name = tracking.model_name("forecast", sid)
            with mlflow.start_run(experiment_id=exp_id, run_name=sid, nested=True) as run:
                mlflow.set_tags({"series_id": sid, "covary.job": "forecast", "winner": winner})
                mlflow.log_params(
                    {
                        "series_id": sid,
                        "model": winner,
                        "origin": r["origin"],
                        "exog": ",".join(r["spec"]["exog"]) or "-",
                        "season": r["spec"]["season"],
                        "n_params": len(r["spec"]["params"] or []),
                    }
                )
                metrics = {}
                for kind, s in r["scores"].items():
                    for m in ("mase", "smape", "coverage80", "coverage95", "coverage80_raw", "coverage95_raw"):
                        if s[m] is not None:
                            metrics[f"{m}_{kind}"] = s[m]
                w = r["scores"][winner]
                metrics |= {m: w[m] for m in ("mase", "smape", "coverage80", "coverage95") if w[m] is not None}
                metrics |= {"interval_scale80": w["interval_scale80"], "interval_scale95": w["interval_scale95"]}
                mlflow.log_metrics(metrics)
                if r["plot_png"]:
                    with tempfile.TemporaryDirectory() as tmp:
                        png = Path(tmp) / "forecast.png"
                        png.write_bytes(r["plot_png"])
                        mlflow.log_artifact(str(png), artifact_path="plots")
                mlflow.log_dict({"scores": r["scores"], "folds": r["folds"]}, "backtest.json")
                with tempfile.TemporaryDirectory() as tmp:
                    spec_path, train_path = Path(tmp) / "spec.json", Path(tmp) / "train.csv"
                    spec_path.write_text(json.dumps(r["spec"], indent=2))
                    train_path.write_text(r["train_csv"])
                    model = ForecastModel.from_saved(r["spec"], pd.read_csv(train_path))
                    h = len(r["forecast"]["mean"])
                    fut = np.asarray(r["exog_future"]) if r["exog_future"] is not None else None
                    example = input_example(model, h, fut)
                    info = mlflow.pyfunc.log_model(
                        name="model",
                        python_model=ForecastPyfunc(),
                        artifacts={"spec": str(spec_path), "train": str(train_path)},
                        signature=infer_signature(example, predict_frame(model, example)),
                        input_example=example.head(3),
                        pip_requirements=pip,
                        registered_model_name=name,
                    )
                version = str(info.registered_model_version)
                promoted = tracking.set_champion_if_better(name, version, w["mase"] or 9e9, metric="backtest_mase")
                versions[sid] = (name, version, run.info.run_id)
                champions[sid] = {"model": name, "version": version, "champion": promoted, "winner": winner}
    return {
        "experiment": exp_id,
        "parent_run_id": parent.info.run_id,
        "champions": champions,
        "versions": versions,
        "tracking_uri": tracking.configure(),
    }


def write_gold(lake: Lakehouse, results: list[dict[str, Any]], logged: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    forecasts, scores = [], []
    for r in results:
        name, version, run_id = logged["versions"][r["series_id"]]
        origin = date.fromisoformat(r["origin"])
        fc = r["forecast"]
        for i, ts in enumerate(fc["ts"]):
            forecasts.append(
                {
                    "series_id": r["series_id"],
                    "origin": origin,
                    "ts": date.fromisoformat(ts),
                    "step": i + 1,
                    **{k: float(fc[k][i]) for k in ("mean", "lo80", "hi80", "lo95", "hi95")},
                    "model": r["winner"],
                    "model_name": name,
                    "model_version": version,
                    "run_id": run_id,
                    "created_at": now,
                }
            )
        for kind, s in r["scores"].items():
            scores.append(
                {
                    "series_id": r["series_id"],
                    "origin": origin,
                    "model": kind,
                    **{k: s[k] for k in ("mase", "smape", "coverage80", "coverage95")},
                    "points": s["points"],
                    "winner": kind == r["winner"],
                    "run_id": run_id,
                }
            )
    key = logged["parent_run_id"]
    with lake.load("forecast") as load:
        load.write("gold.forecasts", forecasts, batch=BatchKey(f"forecast/{key}/forecasts"))
        load.write("gold.forecast_backtests", scores, batch=BatchKey(f"forecast/{key}/backtests"))


__all__ = ["DEFAULT_EXOG", "DEFAULT_SERIES", "build_inputs", "log_to_mlflow", "run_forecast", "write_gold"]
