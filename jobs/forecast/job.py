"""Forecast job driver: load series, fan out over Ray by group, log/register winners in MLflow, write gold."""

from __future__ import annotations

import io
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
# Units of quantities that cannot be negative; with aggregation "sum" (counts, amounts, energy) they give
# a series a floor of 0 when its history never went below it (see ``series_floor``).
NONNEGATIVE_UNITS = frozenset({"count", "units", "usd", "eur", "gbp", "kwh", "hours", "orders", "tickets"})
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


def series_floor(values: np.ndarray, unit: str | None, aggregation: str | None) -> float | None:
    """0 for a series that cannot go negative (a count or a summed amount whose history is >= 0), else None.

    A history that went negative (net flows, temperatures) is never floored, whatever its unit.
    """
    if values.size == 0 or float(np.min(values)) < 0:
        return None
    if (unit or "").strip().lower() in NONNEGATIVE_UNITS or (aggregation or "").lower() == "sum":
        return 0.0
    return None


def _catalog(lake: Lakehouse, series: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """(unit, aggregation) per series from gold.series_catalog ({} when the table is absent)."""
    try:
        rows = lake.read("gold.series_catalog", columns=["series_id", "unit", "aggregation"]).to_pylist()
    except Exception as exc:  # no catalog: every series is treated as unbounded
        log.info("no series catalog for forecast floors: %s", exc)
        return {}
    wanted = set(series)
    return {r["series_id"]: (r["unit"], r["aggregation"]) for r in rows if r["series_id"] in wanted}


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
    catalog = _catalog(lake, series)
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
                series_floor(s.values, *catalog.get(sid, (None, None))),
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
    logged = log_to_mlflow(results, config, _dataset_source(lake))
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


def _dataset_source(lake: Lakehouse) -> dict[str, Any]:
    """Where the job's input lives (the Delta table's URI) and the version it read."""
    try:
        version = lake.table("gold.series_values").version()
    except Exception:  # the dataset is still worth logging without its version
        version = None
    return {"uri": lake.uri("gold.series_values"), "delta_version": version}


def _log_dataset(frame: Any, source: dict[str, Any] | None, *, context: str) -> None:
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    if source is None:
        return
    dataset = from_pandas(frame, source=source["uri"], name="gold.series_values", targets="y")
    tags = {"delta_version": str(source["delta_version"])} if source.get("delta_version") is not None else None
    mlflow.log_input(dataset, context=context, tags=tags)


def log_to_mlflow(
    results: list[dict[str, Any]], config: dict[str, Any], source: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One parent run per job, one child run per series; the winner registered, champion alias if better.

    The parent carries the job's parameters, summary metrics (mean MASE against the baselines), tags and
    the input dataset; each child its series' backtest scores, plot, model and training slice. Models
    ship their code (``jobs.forecast.bundle``) and load with plain ``mlflow.pyfunc.load_model``.
    """
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from jobs.forecast.bundle import stage_code
    from jobs.forecast.models import ForecastModel
    from jobs.forecast.pyfunc import ForecastPyfunc, input_example, predict_frame, scenario_frame

    exp_id = tracking.experiment("forecast")
    champions: dict[str, Any] = {}
    versions: dict[str, tuple[str, str, str]] = {}
    pip = _pip_requirements()
    trains = {r["series_id"]: pd.read_csv(io.StringIO(r["train_csv"])) for r in results}
    with (
        tempfile.TemporaryDirectory() as code_dir,
        mlflow.start_run(experiment_id=exp_id, run_name=f"forecast-{datetime.now(UTC):%Y%m%dT%H%M%S}") as parent,
    ):
        code_paths = stage_code(code_dir)
        mlflow.log_params({k: str(v)[:500] for k, v in config.items() if k != "exog"})
        mlflow.set_tags({"covary.job": "forecast", "covary.mode": "fit", "series": str(len(results))})
        if trains:
            frame = pd.concat([t[["ts", "y"]].assign(series_id=sid) for sid, t in trains.items()], ignore_index=True)
            _log_dataset(frame[["series_id", "ts", "y"]], source, context="training")
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
                        "lower_bound": r["spec"].get("lower_bound"),
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
                _log_dataset(trains[sid].assign(series_id=sid)[["series_id", "ts", "y"]], source, context="training")
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
                    artifacts = {"spec": str(spec_path), "train": str(train_path)}
                    scenario = scenario_frame(model, fut)
                    if scenario is not None:
                        scenario.to_csv(Path(tmp) / "scenario.csv", index=False)
                        artifacts["scenario"] = str(Path(tmp) / "scenario.csv")
                    info = mlflow.pyfunc.log_model(
                        name="model",
                        python_model=ForecastPyfunc(),
                        artifacts=artifacts,
                        code_paths=code_paths,
                        signature=_signature(infer_signature(example, predict_frame(model, example)), scenario),
                        input_example=example.head(3),
                        pip_requirements=pip,
                        registered_model_name=name,
                    )
                version = str(info.registered_model_version)
                promoted = tracking.set_champion_if_better(name, version, w["mase"] or 9e9, metric="backtest_mase")
                versions[sid] = (name, version, run.info.run_id)
                champions[sid] = {"model": name, "version": version, "champion": promoted, "winner": winner}
        mlflow.log_metrics(_summary_metrics(results))
    return {
        "experiment": exp_id,
        "parent_run_id": parent.info.run_id,
        "champions": champions,
        "versions": versions,
        "tracking_uri": tracking.configure(),
    }


def _signature(signature: Any, scenario: Any) -> Any:
    """The inferred signature; regressor columns optional when the model stores their scenario."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    if scenario is None or signature.inputs is None:
        return signature
    cols: list[ColSpec | TensorSpec] = [
        ColSpec(c.type, c.name, required=c.name == "ts") for c in signature.inputs.inputs
    ]
    return ModelSignature(inputs=Schema(cols), outputs=signature.outputs)


def _summary_metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """The parent run's figures: mean backtest MASE of the winners and of each baseline, share beating them."""
    out: dict[str, float] = {"series": float(len(results))}
    if not results:
        return out
    won = [r["scores"][r["winner"]]["mase"] for r in results]
    out["mean_mase"] = float(np.mean([m for m in won if m is not None])) if any(m is not None for m in won) else 0.0
    for base in ("naive", "seasonal_naive"):
        pairs = [
            (w, b)
            for r in results
            if (w := r["scores"][r["winner"]]["mase"]) is not None
            and (b := (r["scores"].get(base) or {}).get("mase")) is not None
        ]
        if pairs:
            out[f"mean_mase_{base}"] = float(np.mean([b for _, b in pairs]))
            out[f"share_beating_{base}"] = float(np.mean([w < b for w, b in pairs]))
    return out


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
