"""Anomaly job driver: score gold series, find level shifts, outliers and cross-source alerts; MLflow; gold."""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import ray

from covary import metrics
from covary.calendar import us_business_holidays
from jobs.anomaly.alerts import Link, cross_alerts, lagged_links
from jobs.anomaly.detect import DetectorConfig, SeriesScores, find_anomalies, score_series, unsuitable
from jobs.common import tracking
from jobs.common.series import DailySeries, load_daily
from jobs.runtime import ray_retry_options
from lakehouse import BatchKey, Lakehouse

log = logging.getLogger(__name__)
DETECTOR_MODEL = "anomaly.detector"


def score_group(
    items: list[DailySeries], cfg: DetectorConfig
) -> list[tuple[SeriesScores, list[dict[str, Any]], str | None]]:
    """Scores, anomalies and (for series the detector must not score) the reason it skipped them."""
    out: list[tuple[SeriesScores, list[dict[str, Any]], str | None]] = []
    for s in items:
        scores = score_series(s.series_id, s.start, s.values, cfg)
        reason = unsuitable(s.values, scores, cfg)
        found = (
            [] if reason else find_anomalies(scores, s.values, s.observed, cfg, us_business_holidays(s.start, s.end))
        )
        out.append((scores, found, reason))
    return out


_score_group_task = ray.remote(**ray_retry_options())(score_group)


def catalog_series(lake: Lakehouse, source: str = "synth") -> list[str]:
    """Daily series of ``source`` in gold.series_catalog."""
    cat = lake.read("gold.series_catalog", columns=["series_id", "source", "frequency"])
    keep = pc.and_(pc.equal(cat["source"], source), pc.equal(cat["frequency"], "D"))
    return sorted(cat.filter(keep)["series_id"].to_pylist())


def run_anomaly(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    """``config``: series (default: every synth daily series), thresholds (DetectorConfig fields), max_lag, min_corr."""
    cfg = DetectorConfig(**{k: config[k] for k in DetectorConfig.__dataclass_fields__ if k in config})
    series = list(config.get("series") or catalog_series(lake))
    daily = load_daily(lake, series)
    group_size = max(1, int(config.get("group_size", 8)))
    items = [daily[s] for s in series]
    groups = [items[i : i + group_size] for i in range(0, len(items), group_size)]
    results = [r for g in ray.get([_score_group_task.remote(g, cfg) for g in groups]) for r in g]
    scores = {s.series_id: s for s, _, reason in results if reason is None}
    skipped = {s.series_id: reason for s, _, reason in results if reason is not None}
    anomalies = [a for _, found, _ in results for a in found]
    links = lagged_links(scores, max_lag=int(config.get("max_lag", 35)), min_corr=float(config.get("min_corr", 0.3)))
    alerts = cross_alerts(anomalies, links, tolerance=int(config.get("tolerance", 2)))
    from jobs.forecast.job import _dataset_source

    logged = log_to_mlflow(
        cfg, scores, anomalies, links, alerts, config | {"skipped": skipped}, daily=daily, source=_dataset_source(lake)
    )
    write_gold(lake, anomalies, alerts, logged["run_id"])
    metrics.inc("covary_alerts", float(len(anomalies)), kind="anomaly")
    metrics.inc("covary_alerts", float(len(alerts)), kind="cross_source")
    return {
        "series": len(series),
        "skipped": skipped,
        "anomalies": sum(a["kind"] == "point" for a in anomalies),
        "level_shifts": sum(a["kind"] == "level_shift" for a in anomalies),
        "links": len(links),
        "alerts": len(alerts),
        "alert_examples": [a["message"] for a in alerts[:3]],
        **logged,
    }


def log_to_mlflow(
    cfg: DetectorConfig,
    scores: dict[str, SeriesScores],
    anomalies: list[dict[str, Any]],
    links: list[Link],
    alerts: list[dict[str, Any]],
    config: dict[str, Any],
    *,
    daily: dict[str, DailySeries] | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Detector parameters, per-series thresholds/scales and counts; the detector registered as a pyfunc.

    The run is tagged, carries the scored series as its input dataset, and the model ships its code
    (``jobs.forecast.bundle``) so it loads without covary installed.
    """
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from jobs.anomaly.pyfunc import AnomalyPyfunc, detect_frame
    from jobs.forecast.bundle import stage_code
    from jobs.forecast.job import _log_dataset

    exp_id = tracking.experiment("anomaly")
    name = tracking.model_name("anomaly", "detector")
    with mlflow.start_run(experiment_id=exp_id, run_name=f"anomaly-{datetime.now(UTC):%Y%m%dT%H%M%S}") as run:
        mlflow.log_params(cfg.as_dict() | {"series": len(scores), "max_lag": config.get("max_lag", 35)})
        mlflow.set_tags({"covary.job": "anomaly", "skipped_series": str(len(config.get("skipped", {})))})
        if daily:
            frame = pd.concat(
                [
                    pd.DataFrame({"series_id": sid, "ts": [d.isoformat() for d in s.dates], "y": s.values})
                    for sid, s in daily.items()
                ],
                ignore_index=True,
            )
            _log_dataset(frame, source, context="scoring")
        mlflow.log_metrics(
            {
                "anomalies": sum(a["kind"] == "point" for a in anomalies),
                "level_shifts": sum(a["kind"] == "level_shift" for a in anomalies),
                "links": len(links),
                "alerts": len(alerts),
            }
        )
        per_series = {
            sid: {
                "resid_median": s.resid_median,
                "resid_scale": s.resid_scale,
                "point_threshold_abs": s.resid_scale * cfg.point_threshold,
                "shift_scale": s.shift_scale,
                "anomalies": sum(a["series_id"] == sid for a in anomalies),
            }
            for sid, s in scores.items()
        }
        mlflow.log_dict(per_series, "thresholds.json")
        mlflow.log_dict({"links": [link.__dict__ for link in links]}, "links.json")
        mlflow.log_dict(config.get("skipped", {}), "skipped.json")
        mlflow.log_dict({"alerts": [{k: str(v) for k, v in a.items()} for a in alerts]}, "alerts.json")
        with tempfile.TemporaryDirectory() as tmp:
            code_paths = stage_code(Path(tmp) / "code")
            path = Path(tmp) / "detector.json"
            path.write_text(json.dumps(cfg.as_dict()))
            sid = next(iter(scores))
            s = scores[sid]
            example = pd.DataFrame(
                {
                    "series_id": [sid] * 60,
                    "ts": [s.start.fromordinal(s.start.toordinal() + i).isoformat() for i in range(60)],
                    "value": (s.expected[:60] + s.residual[:60]).astype(float),
                }
            )
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=AnomalyPyfunc(),
                artifacts={"config": str(path)},
                code_paths=code_paths,
                signature=infer_signature(example, detect_frame(cfg, example)),
                input_example=example,
                pip_requirements=[_pin("mlflow"), _pin("statsmodels"), _pin("pandas"), _pin("numpy")],
                registered_model_name=name,
            )
        version = str(info.registered_model_version)
        tracking.client().set_registered_model_alias(name, tracking.CHAMPION, version)
    return {
        "experiment": exp_id,
        "run_id": run.info.run_id,
        "model": name,
        "model_version": version,
        "tracking_uri": tracking.configure(),
    }


def _pin(package: str) -> str:
    from importlib.metadata import version

    return f"{package}=={version(package)}"


def write_gold(lake: Lakehouse, anomalies: list[dict[str, Any]], alerts: list[dict[str, Any]], run_id: str) -> None:
    now = datetime.now(UTC)
    with lake.load("anomaly") as load:
        if anomalies:
            load.write(
                "gold.anomalies",
                [a | {"run_id": run_id, "detected_at": now} for a in anomalies],
                batch=BatchKey(f"anomaly/{run_id}/anomalies"),
            )
        if alerts:
            load.write(
                "gold.anomaly_alerts",
                [a | {"run_id": run_id, "detected_at": now} for a in alerts],
                batch=BatchKey(f"anomaly/{run_id}/alerts"),
            )


__all__ = ["DETECTOR_MODEL", "catalog_series", "run_anomaly", "write_gold"]
