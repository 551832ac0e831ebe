"""Demo step: anomalies, level shifts and cross-source alerts on the enterprise series, tracked in MLflow."""

from __future__ import annotations

from typing import Any

from lakehouse import Lakehouse


def run(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    from jobs.anomaly.job import run_anomaly

    s = run_anomaly(lake, {})
    lines = [
        f"{s['series']} series: {s['anomalies']} anomalies, {s['level_shifts']} level shifts, "
        f"{s['alerts']} cross-source alerts (gold.anomalies, gold.anomaly_alerts)",
        *[f"alert: {m}" for m in s["alert_examples"]],
        f"MLflow experiment covary-anomaly, run {s['run_id']}; detector {s['model']}@champion (v{s['model_version']})",
        f"MLflow UI: mlflow ui --backend-store-uri {s['tracking_uri']}",
    ]
    return {"lines": lines}
