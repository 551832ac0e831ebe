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

from jobs.common.series import CALENDAR_NAMES
from jobs.forecast.backtest import backtest, mase_scale, smape
from jobs.forecast.errors import ForecastInputError
from jobs.forecast.models import LONG_TERMS, ForecastModel, keep_long_terms
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


def test_lagged_regressor_uses_history_then_a_scenario() -> None:
    x = np.arange(30, dtype=float)
    train, future = aligned_regressor(x, 2, 30, 5, START)
    assert train[5] == 3 and train[0] == 0
    assert list(future[:2]) == [28, 29]  # known from history
    # under 8 weeks of history: last week's mean (26) plus the weekday profile of the last 4 full weeks
    assert list(future[2:]) == pytest.approx([26 - 3, 26 - 2, 26 - 1])
    assert aligned_regressor(x, 7, 30, 5, START)[1] == pytest.approx(x[23:28])  # the lag covers the horizon


def test_regressor_scenario_is_its_own_forecast_and_beats_carrying_last_week_forward() -> None:
    """Spend-like regressor: weekday rhythm plus AR(1) deviations that decay. The scenario is the regressor's
    own SARIMAX forecast; over many origins it is closer to what happened than last week's level."""
    rng = np.random.default_rng(3)
    n = 400
    dev = np.zeros(n)
    for t in range(1, n):
        dev[t] = 0.6 * dev[t - 1] + rng.normal(0, 300)
    dow = np.array([(START + timedelta(days=i)).weekday() for i in range(n)])
    x = 6000 * np.where(dow >= 5, 0.8, 1.0) + dev
    train, future = aligned_regressor(x[:200], 2, 200, 10, START)
    assert list(future[:2]) == list(x[198:200]) and list(train[2:]) == list(x[:198])
    own = ForecastModel("sarimax", START, x[:200]).fit().predict(8).mean
    assert future[2:] == pytest.approx(own, rel=1e-9)
    err_model, err_flat = [], []
    for origin in range(150, 390, 8):
        _, fut = aligned_regressor(x[:origin], 0, origin, 7, START)
        _, flat = aligned_regressor(x[:origin], 0, origin, 7)  # no calendar: last week's mean + profile
        err_model.append(np.mean((fut - x[origin : origin + 7]) ** 2))
        err_flat.append(np.mean((flat - x[origin : origin + 7]) ** 2))
    assert np.mean(err_model) < 0.85 * np.mean(err_flat), (np.mean(err_model), np.mean(err_flat))


def test_trend_and_annual_terms_kept_only_when_the_data_carry_them() -> None:
    """Schwarz/Wald choice of the long calendar terms, checked against statsmodels' own Wald test."""
    y, _ = _series(n=300)  # weekday rhythm + AR noise, no annual cycle, no trend
    short = ForecastModel("sarimax", START, y).fit()
    assert "annual_sin" not in short.design_names() and "dow_sat" in short.design_names()
    rng = np.random.default_rng(5)
    doy = np.array([(START + timedelta(days=i)).timetuple().tm_yday for i in range(365)])
    noise = np.zeros(365)
    for t in range(1, 365):
        noise[t] = 0.75 * noise[t - 1] + rng.normal(0, 2)
    temp = 12 - 9 * np.cos(2 * np.pi * (doy - 20) / 365.25) + noise  # one year of a temperature-like series
    full = ForecastModel("sarimax", START, temp, calendar=CALENDAR_NAMES).fit()
    names = full.design_names()
    idx = [names.index(c) for c in LONG_TERMS]
    r = np.zeros((len(idx), len(full.params or [])))
    r[np.arange(len(idx)), idx] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = float(np.squeeze(full._res.wald_test(r, scalar=True).statistic))
    assert ref > 3 * np.log(365) and keep_long_terms(full._res, names, 365)
    stat_idx = np.asarray(full.params)[idx]
    cov = np.asarray(full._res.cov_params())[np.ix_(idx, idx)]
    assert float(stat_idx @ np.linalg.solve(cov, stat_idx)) == pytest.approx(ref, rel=1e-9)
    chosen = ForecastModel("sarimax", START, temp).fit()
    assert chosen.calendar == CALENDAR_NAMES and chosen.predict(3).mean == pytest.approx(full.predict(3).mean)
    again = ForecastModel.from_saved(json.loads(json.dumps(short.spec())), short.train_frame())
    assert again.design_names() == short.design_names()
    assert again.predict(5).mean == pytest.approx(short.predict(5).mean, rel=1e-9)
    with pytest.raises(ForecastInputError, match="unknown calendar regressor"):
        ForecastModel("sarimax", START, y, calendar=("moon_phase",))


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
        holdout = 14
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
    """Issue 6 acceptance on days the job never saw: the job replayed at 4 rolling origins over the last 8 weeks
    (each origin: backtests, choice, calibration and refit on earlier data only), scored on what happened."""
    from jobs.common import tracking
    from jobs.common.series import load_daily
    from jobs.forecast import main as forecast_main

    lake, summary, config = forecast_run
    assert summary["ray_tasks"] == 3 and summary["series"] == 8
    # rolling-origin backtests inside the job (no peeking: regressors beyond a lag come from the scenario)
    bt = lake.read_polars("gold.forecast_backtests")
    win = bt.filter(pl.col("winner")).sort("series_id")
    snaive = bt.filter(pl.col("model") == "seasonal_naive").sort("series_id")
    beats = (win["mase"] < snaive["mase"]).to_list()
    assert sum(beats) / len(beats) >= 0.8, list(zip(win["series_id"], win["mase"], snaive["mase"], strict=True))

    ev = forecast_main({"mode": "evaluate", **{k: config[k] for k in ("series", "folds", "history_days")}})
    assert ev["horizon"] == 14 and len(ev["origins"]) == 4 and ev["points"] == 8 * 56
    detail = {sid: (round(s["mase"], 3), round(s["mase_seasonal_naive"], 3)) for sid, s in ev["series"].items()}
    assert ev["share_beating_seasonal_naive"] >= 0.8, detail
    assert ev["mean_mase"] < 0.85 * ev["mean_mase_seasonal_naive"], detail
    assert 0.75 <= ev["coverage80"] <= 0.85 and 0.90 <= ev["coverage95"] <= 1.0, ev
    # the last window is the job's own run from the fixture (same origin, same history): identical forecasts
    fc = lake.read_polars("gold.forecasts")
    assert ev["origins"][-1] == fc["origin"][0].isoformat()
    actual = load_daily(lake, config["series"])
    for sid in config["series"]:
        f = fc.filter(pl.col("series_id") == sid).sort("ts")
        last = ev["series"][sid]["windows"][-1]
        assert last["mean"] == pytest.approx(f["mean"].to_list(), rel=1e-6)
        # MASE by hand from gold and the actual values
        s = actual[sid]
        hist = s.values[: (f["origin"][0] - s.start).days + 1][-config["history_days"] :]
        y = s.values[[(d - s.start).days for d in f["ts"]]]
        assert last["mase"] == pytest.approx(np.mean(np.abs(y - f["mean"].to_numpy())) / mase_scale(hist))
    run = tracking.client().get_run(ev["run_id"])
    assert run.data.tags["covary.mode"] == "evaluate"
    assert run.data.metrics["coverage80"] == pytest.approx(ev["coverage80"])
    assert run.data.metrics["mase/synth.crm.deals_won"] == pytest.approx(ev["series"]["synth.crm.deals_won"]["mase"])
    with pytest.raises(ForecastInputError, match="too little history"):
        forecast_main({"mode": "evaluate", "series": config["series"][:1], "origins": 30, "log_mlflow": False})
    with pytest.raises(ForecastInputError, match="unknown forecast mode"):
        forecast_main({"mode": "guess"})


@pytest.mark.slow
def test_all_default_series_two_years_held_out(lake, ray_local) -> None:
    """The long sweep: the 12 default series, 731 days, the job replayed at 6 origins over the last 12 weeks."""
    from connectors.synth import run_synth
    from jobs.forecast.evaluate import evaluate_holdout

    run_synth(lake, days=731, seed=11, with_entities=False)
    ev = evaluate_holdout(lake, {"origins": 6, "horizon": 14, "history_days": 365, "log_mlflow": False})
    detail = {sid: round(s["mase"] / s["mase_seasonal_naive"], 3) for sid, s in ev["series"].items()}
    assert len(ev["series"]) == 12 and ev["share_beating_seasonal_naive"] >= 0.8, detail
    assert 0.75 <= ev["coverage80"] <= 0.85 and 0.90 <= ev["coverage95"] <= 1.0, ev


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


def test_shipped_calendar_matches_the_lake_calendar() -> None:
    """jobs.forecast.calendar ships inside every model; it must stay identical to the code the jobs use."""
    from connectors.synth.calendar import us_business_holidays
    from jobs.common.series import calendar_features as lake_features
    from jobs.forecast.calendar import CALENDAR_NAMES as SHIPPED_NAMES
    from jobs.forecast.calendar import business_holidays, calendar_features

    assert business_holidays(date(1990, 1, 1), date(2060, 12, 31)) == us_business_holidays(
        date(1990, 1, 1), date(2060, 12, 31)
    )
    assert SHIPPED_NAMES == CALENDAR_NAMES
    for start, n in ((date(2019, 12, 20), 800), (date(2024, 2, 27), 30)):
        shipped = calendar_features(start, n, origin=date(2000, 1, 1))
        assert np.array_equal(shipped, lake_features(start, n, origin=date(2000, 1, 1)))


def test_floor_clips_forecast_and_bounds_at_zero() -> None:
    """A count near zero: the floored forecast is max(0, unfloored) point by point; the floor survives a reload."""
    rng = np.random.default_rng(3)
    y = rng.poisson(0.8, size=120).astype(float)
    free = ForecastModel("seasonal_naive", START, y).fit().predict(21)
    floored_model = ForecastModel("seasonal_naive", START, y, lower_bound=0.0).fit()
    floored = floored_model.predict(21)
    assert free.lo95.min() < 0
    for name in ("mean", "lo80", "hi80", "lo95", "hi95"):
        assert np.array_equal(getattr(floored, name), np.maximum(getattr(free, name), 0.0)), name
    again = ForecastModel.from_saved(floored_model.spec(), floored_model.train_frame())
    assert again.lower_bound == 0.0 and np.array_equal(again.predict(21).lo95, floored.lo95)
    from jobs.forecast.job import series_floor

    assert series_floor(y, "count", "sum") == 0.0 and series_floor(y - 1, "count", "sum") is None
    assert series_floor(np.abs(y) + 5, "degC", "mean") is None and series_floor(y, None, "sum") == 0.0
