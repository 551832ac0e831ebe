"""Anomaly job: robust scores vs scipy, level shifts, planted-anomaly precision/recall, alerts, MLflow."""

from __future__ import annotations

import pickle
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import median_abs_deviation

from jobs.anomaly.alerts import cross_alerts, lagged_links
from jobs.anomaly.detect import DetectorConfig, level_shifts, robust_z, score_series, seasonal_robust_z, unsuitable
from jobs.anomaly.evaluate import precision_recall


def test_robust_z_matches_scipy_mad() -> None:
    x = np.random.default_rng(0).standard_t(3, 500)
    z, _, scale = robust_z(x)
    assert scale == pytest.approx(median_abs_deviation(x, scale="normal"))
    assert z == pytest.approx((x - np.median(x)) / scale)
    # per-weekday scales: a quiet weekday does not inflate the others
    y = np.where(np.arange(700) % 7 == 6, 0.1, 1.0) * np.random.default_rng(1).normal(0, 1, 700)
    zs, _, _ = seasonal_robust_z(y, 7)
    busy = np.arange(700) % 7 != 6
    assert median_abs_deviation(zs[busy], scale="normal") == pytest.approx(1.0, abs=0.1)


def test_level_shift_found_at_the_step_and_not_in_noise() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 400)
    assert level_shifts(y, window=14, threshold=6.0)[0] == []
    y[250:] += 5.0
    found, steps, _ = level_shifts(y, window=14, threshold=6.0)
    assert len(found) == 1 and abs(found[0] - 250) <= 2
    assert steps[-1] == pytest.approx(5.0, abs=0.6)


def test_spike_scored_and_counts_or_stocks_refused() -> None:
    rng = np.random.default_rng(3)
    n = 364
    y = 100 + np.tile([0, 2, 3, 2, 1, -20, -25], n // 7) + rng.normal(0, 2, n)
    y[200] += 25
    s = score_series("x", date(2024, 1, 1), y, DetectorConfig())
    assert abs(s.score[200]) > 8 and np.sum(np.abs(s.score) > 5.5) == 1
    assert unsuitable(y, s, DetectorConfig()) is None
    low = rng.poisson(0.8, n).astype(float)
    assert "low counts" in unsuitable(low, score_series("c", date(2024, 1, 1), low, DetectorConfig()), DetectorConfig())
    walk = 500 + np.cumsum(rng.normal(0, 1, n))
    assert "random walk" in unsuitable(
        walk, score_series("w", date(2024, 1, 1), walk, DetectorConfig()), DetectorConfig()
    )


def test_cross_alert_needs_a_link_and_the_lag() -> None:
    rng = np.random.default_rng(4)
    n, start = 400, date(2024, 1, 1)
    driver = rng.normal(0, 1, n)
    follower = np.r_[np.zeros(10), driver[:-10]] * 0.8 + rng.normal(0, 0.6, n)
    unrelated = rng.normal(0, 1, n)
    cfg = DetectorConfig()
    scores = {k: score_series(k, start, v, cfg) for k, v in (("a", driver), ("b", follower), ("c", unrelated))}
    links = lagged_links(scores, max_lag=20)
    assert [(lk.source, lk.target, lk.lag) for lk in links] == [("a", "b", 10)]
    anomalies = [
        {"series_id": "a", "ts": start + timedelta(days=100), "kind": "point"},
        {"series_id": "b", "ts": start + timedelta(days=111), "kind": "point"},
        {"series_id": "c", "ts": start + timedelta(days=110), "kind": "point"},
    ]
    alerts = cross_alerts(anomalies, links, tolerance=2)
    assert [(a["source_series"], a["target_series"], a["lag_days"]) for a in alerts] == [("a", "b", 11)]


def test_anomaly_job_on_planted_truth(covary_home, ray_local) -> None:
    import mlflow

    from connectors.synth import run_synth
    from covary.settings import get_settings
    from jobs.anomaly.job import run_anomaly
    from jobs.anomaly.pyfunc import detect_frame
    from jobs.common import tracking
    from lakehouse import Lakehouse

    settings = get_settings()
    lake = Lakehouse.from_settings(settings)
    run_synth(lake, days=540, seed=7, with_entities=False)
    summary = run_anomaly(lake, {})
    assert summary["tracking_uri"].startswith("sqlite:///") and str(covary_home) in summary["tracking_uri"]
    detected = lake.read("gold.anomalies").to_pylist()
    truth = [t for t in lake.read("gold.synth_truth").to_pylist() if t["dataset"] == "synth"]
    score = precision_recall(detected, truth)
    assert score["precision"] >= 0.8, score
    assert score["recall"] >= 0.8, score
    assert {"synth.hr.hires", "synth.hr.attrition"} <= set(summary["skipped"])
    # each ticket burst is followed by a cross-source alert on equipment failures 3 weeks later
    alerts = lake.read_polars("gold.anomaly_alerts")
    cascades = [t for t in truth if t["kind"] == "cascade"]
    for c in cascades:
        hit = alerts.filter(
            (pl.col("source_series") == "synth.support.tickets")
            & (pl.col("target_series") == "synth.operations.equipment_failures")
            & (pl.col("source_ts") == c["ts"])
        )
        assert hit.height == 1 and abs(hit["lag_days"][0] - 21) <= 2, alerts
    # thresholds tracked in MLflow; the registered detector reproduces the job's flags
    run = tracking.client().get_run(summary["run_id"])
    assert float(run.data.params["point_threshold"]) == DetectorConfig().point_threshold
    assert run.data.metrics["alerts"] == alerts.height
    model = mlflow.pyfunc.load_model(tracking.champion_uri(summary["model"]))
    sid = "synth.operations.output_units"
    values = lake.read_polars("gold.series_values").filter(pl.col("series_id") == sid).sort("ts")
    frame = values.select("series_id", pl.col("ts").cast(pl.Utf8), "value").to_pandas()
    out = model.predict(frame)
    assert out.equals(detect_frame(DetectorConfig(), frame))
    flagged = set(out.loc[out["anomaly"] == "point", "ts"])
    assert flagged == {str(a["ts"]) for a in detected if a["series_id"] == sid and a["kind"] == "point"}
    hires = lake.read_polars("gold.series_values").filter(pl.col("series_id") == "synth.hr.hires").sort("ts")
    skipped = model.predict(hires.select("series_id", pl.col("ts").cast(pl.Utf8), "value").to_pandas())
    assert (skipped["anomaly"] == "").all()  # low counts: not scored by the registered detector either


def test_errors_pickle() -> None:
    from jobs.common.errors import ModelNotFoundError, SeriesNotFoundError

    for exc in (ModelNotFoundError("m", hint="h"), SeriesNotFoundError("s")):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and again.message == exc.message and again.hint == exc.hint
