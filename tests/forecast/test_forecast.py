"""Forecasting: metrics by hand, statsmodels wiring, exact refits, the Ray/MLflow job on planted series."""

from __future__ import annotations

import json
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from jobs.forecast.backtest import backtest, mase_scale, smape
from jobs.forecast.models import ForecastModel
from jobs.forecast.pyfunc import input_example, predict_frame
from jobs.forecast.task import aligned_regressor

START = date(2024, 1, 1)


def _series(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = 50 + rng.normal(0, 10, n + 30)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.5 * noise[t - 1] + rng.normal(0, 2)
    weekly = np.tile([5.0, 4, 3, 4, 2, -8, -10], n // 7 + 1)[:n]
    dow0 = START.weekday()
    weekly = np.roll(weekly, -dow0)
    y = 20 + weekly + 1.5 * x[:n] + noise
    return y, x


def test_metrics_by_hand() -> None:
    y = np.array([1.0, 2, 3, 4, 5, 6, 7, 9, 11, 13])
    assert mase_scale(y, season=7) == pytest.approx(np.mean([8, 9, 10]))
    assert smape(np.array([100.0, 0.0]), np.array([110.0, 0.0])) == pytest.approx(100 * (2 * 10 / 210) / 2)


def test_sarimax_is_statsmodels_with_calendar_and_regressors_and_refits_exactly() -> None:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y, x = _series()
    n = len(y)
    model = ForecastModel("sarimax", START, y[:-14], exog=("x",), exog_train=x[: n - 14, None]).fit()
    fc = model.predict(14, x[n - 14 : n, None])
    design = model._design(START, n - 14, x[: n - 14, None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SARIMAX(y[:-14], exog=design, order=(1, 0, 0)).fit(disp=False)
    future = model._design(START + timedelta(days=n - 14), 14, x[n - 14 : n, None])
    assert fc.mean == pytest.approx(ref.get_forecast(14, exog=future).predicted_mean, rel=1e-6)
    coef = dict(zip(model.param_names, model.params, strict=True))
    assert coef["x"] == pytest.approx(1.5, abs=0.1)  # the planted effect of the regressor
    assert coef["ar.L1"] == pytest.approx(0.5, abs=0.15)
    assert np.all(fc.lo95 < fc.lo80) and np.all(fc.lo80 < fc.mean) and np.all(fc.mean < fc.hi80)
    # saved spec + training frame rebuild the identical model (no re-estimation, no pickle)
    again = ForecastModel.from_saved(json.loads(json.dumps(model.spec())), model.train_frame())
    out = predict_frame(again, input_example(again, 14, x[n - 14 : n, None]))
    assert out["mean"].to_numpy() == pytest.approx(fc.mean, rel=1e-9)
    assert out["hi95"].to_numpy() == pytest.approx(fc.hi95, rel=1e-9)


def test_baselines_and_backtest_choice() -> None:
    y, x = _series(seed=1)
    snaive = ForecastModel("seasonal_naive", START, y).fit().predict(10)
    assert snaive.mean[:7] == pytest.approx(y[-7:]) and snaive.mean[7] == y[-7]
    sd = np.sqrt(np.mean((y[7:] - y[:-7]) ** 2))
    assert snaive.hi80[0] - snaive.mean[0] == pytest.approx(1.2815515655 * sd)
    assert snaive.hi80[7] - snaive.mean[7] == pytest.approx(1.2815515655 * sd * np.sqrt(2))
    naive = ForecastModel("naive", START, y).fit().predict(3)
    assert naive.mean == pytest.approx([y[-1]] * 3)

    def planned(origin: int, h: int) -> tuple[np.ndarray, np.ndarray]:  # a regressor known in advance
        return x[:origin, None], x[origin : origin + h, None]

    bt = backtest(START, y, exog_names=("x",), regressors=planned, horizon=14, folds=3)
    assert bt.winner == "sarimax"  # only SARIMAX sees the regressor that drives the series
    assert bt.scores["sarimax"]["mase"] < 0.7 * bt.scores["seasonal_naive"]["mase"]
    assert bt.scores["sarimax"]["points"] == 42


def test_lagged_regressor_uses_history_then_a_seasonal_naive_scenario() -> None:
    x = np.arange(30, dtype=float)
    train, future = aligned_regressor(x, 2, 30, 5)
    assert train[5] == 3 and train[0] == 0
    assert list(future[:2]) == [28, 29]  # known from history
    # beyond: last week's mean (26) plus the weekday profile of the last 4 full weeks (a linear ramp: -3..3)
    assert list(future[2:]) == pytest.approx([26 - 3, 26 - 2, 26 - 1])


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory, ray_local):
    """One synthetic world and one forecast job run (MLflow in a sqlite file of this module's home)."""
    import os

    from connectors.synth import run_synth
    from covary.settings import get_settings, reset_settings
    from jobs.forecast.job import run_forecast
    from lakehouse import Lakehouse

    home = tmp_path_factory.mktemp("forecast") / "home"
    old = os.environ.get("COVARY_HOME")
    os.environ["COVARY_HOME"] = str(home)
    reset_settings()
    try:
        lake = Lakehouse.from_settings(get_settings())
        run_synth(lake, days=420, seed=7, with_entities=False)
        end = date(2023, 1, 1) + timedelta(days=419)
        holdout = 21
        series = [
            "synth.marketing.conversions",
            "synth.marketing.revenue",
            "synth.crm.leads",
            "synth.crm.deals_won",
            "synth.support.tickets",
            "synth.operations.output_units",
            "synth.operations.equipment_failures",
            "synth.operations.energy_kwh",
        ]
        config = {
            "series": series,
            "horizon": holdout,
            "folds": 3,
            "group_size": 3,
            "history_days": 300,
            "until": (end - timedelta(days=holdout)).isoformat(),
        }
        summary = run_forecast(lake, config)
        yield lake, summary, config
    finally:
        if old is None:
            os.environ.pop("COVARY_HOME", None)
        else:
            os.environ["COVARY_HOME"] = old
        reset_settings()


def test_forecasts_beat_seasonal_naive_with_calibrated_intervals(forecast_run) -> None:
    from jobs.common.series import load_daily

    lake, summary, config = forecast_run
    assert summary["ray_tasks"] == 3 and summary["series"] == 8
    # rolling-origin backtests (no peeking: regressors beyond a lag come from the production scenario)
    bt = lake.read_polars("gold.forecast_backtests")
    win = bt.filter(pl.col("winner")).sort("series_id")
    snaive = bt.filter(pl.col("model") == "seasonal_naive").sort("series_id")
    beats = (win["mase"] < snaive["mase"]).to_list()
    assert sum(beats) / len(beats) >= 0.8, list(zip(win["series_id"], win["mase"], snaive["mase"], strict=True))
    # held-out days the job never saw: champions vs seasonal naive from the same origin
    fc = lake.read_polars("gold.forecasts")
    actual = load_daily(lake, config["series"])
    mase_model, mase_snaive, inside80, inside95, points = [], [], 0, 0, 0
    for sid in config["series"]:
        f = fc.filter(pl.col("series_id") == sid).sort("ts")
        s = actual[sid]
        hist = s.values[: (f["origin"][0] - s.start).days + 1][-config["history_days"] :]
        y = s.values[[(d - s.start).days for d in f["ts"]]]
        scale = mase_scale(hist)
        mase_model.append(np.mean(np.abs(y - f["mean"].to_numpy())) / scale)
        mase_snaive.append(
            np.mean(np.abs(y - ForecastModel("seasonal_naive", s.start, hist).fit().predict(len(y)).mean)) / scale
        )
        inside80 += int(np.sum((y >= f["lo80"].to_numpy()) & (y <= f["hi80"].to_numpy())))
        inside95 += int(np.sum((y >= f["lo95"].to_numpy()) & (y <= f["hi95"].to_numpy())))
        points += len(y)
    assert np.mean(mase_model) < 0.9 * np.mean(mase_snaive), (mase_model, mase_snaive)
    assert sum(m < s for m, s in zip(mase_model, mase_snaive, strict=True)) >= 6  # one 21-day window is noisy
    # interval coverage pooled over the held-out days and the winners' backtests: nominal +- 5 points
    c80 = (inside80 + (win["coverage80"] * win["points"]).sum()) / (points + win["points"].sum())
    c95 = (inside95 + (win["coverage95"] * win["points"]).sum()) / (points + win["points"].sum())
    assert 0.75 <= c80 <= 0.85, (c80, inside80 / points)
    assert 0.90 <= c95 <= 1.0, (c95, inside95 / points)


@pytest.mark.slow
def test_all_default_series_two_years_six_folds(lake) -> None:
    """The long sweep: 12 default series, 731 days, 6 rolling origins x 14 days each."""
    from connectors.synth import run_synth
    from jobs.forecast.job import DEFAULT_EXOG, DEFAULT_SERIES, build_inputs
    from jobs.forecast.task import model_group

    run_synth(lake, days=731, seed=11, with_entities=False)
    items = build_inputs(lake, list(DEFAULT_SERIES), exog=DEFAULT_EXOG, horizon=14, until=None, history_days=365)
    results = model_group(items, horizon=14, folds=6, plot=False)
    wins = [r["scores"][r["winner"]] for r in results]
    beats = [w["mase"] < r["scores"]["seasonal_naive"]["mase"] for w, r in zip(wins, results, strict=True)]
    assert sum(beats) / len(beats) >= 0.8
    pts = sum(w["points"] for w in wins)
    assert 0.75 <= sum(w["coverage80"] * w["points"] for w in wins) / pts <= 0.85
    assert 0.90 <= sum(w["coverage95"] * w["points"] for w in wins) / pts <= 1.0


def test_champion_pyfunc_loads_and_matches_gold(forecast_run, capsys: pytest.CaptureFixture[str]) -> None:
    import mlflow

    from covary.cli import main
    from jobs.common import tracking

    lake, summary, _ = forecast_run
    sid = "synth.marketing.conversions"
    champ = summary["champions"][sid]
    assert champ["champion"] and champ["winner"] == "sarimax"
    model = mlflow.pyfunc.load_model(tracking.champion_uri(champ["model"]))
    sig = model.metadata.get_input_schema().input_names()
    assert sig[0] == "ts" and "synth.marketing.spend@lag2" in sig
    fc = lake.read_polars("gold.forecasts").filter(pl.col("series_id") == sid).sort("ts")
    run = tracking.client().get_run(fc["run_id"][0])
    assert run.data.params["model"] == "sarimax" and "mase_seasonal_naive" in run.data.metrics
    arts = {a.path for a in tracking.client().list_artifacts(run.info.run_id, "plots")}
    assert arts == {"plots/forecast.png"}
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="backtest.json")
    with Path(local).open() as fh:
        assert json.load(fh)["scores"]["sarimax"]["mase"] == pytest.approx(run.data.metrics["mase"])
    # rebuild the exact input the job forecast from (the regressor scenario after the origin)
    from jobs.forecast.job import _exog_spec, build_inputs

    (item,) = build_inputs(lake, [sid], exog=_exog_spec({}), horizon=len(fc), until=fc["origin"][0], history_days=300)
    frame = pd.DataFrame(
        {"ts": [d.isoformat() for d in fc["ts"]], "synth.marketing.spend@lag2": item.exog_future(len(fc))[:, 0]}
    )
    out = model.predict(frame)
    assert out["mean"].to_numpy() == pytest.approx(fc["mean"].to_numpy(), rel=1e-9)
    assert out["lo80"].to_numpy() == pytest.approx(fc["lo80"].to_numpy(), rel=1e-9)
    # the registry through the CLI: list, show, promote
    assert main(["model", "list", "--prefix", "covary.forecast.", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed[champ["model"]]["aliases"] == {"champion": champ["version"]}
    assert main(["model", "show", champ["model"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["versions"][0]["metrics"]["mase"] == pytest.approx(run.data.metrics["mase"])
    assert main(["model", "promote", champ["model"], "1", "--alias", "staging"]) == 0
    assert "staging -> v1" in capsys.readouterr().out
    assert main(["model", "promote", champ["model"], "99"]) == 2
    assert "no version 99" in capsys.readouterr().err
    assert main(["model", "show", "covary.forecast.nope"]) == 2
