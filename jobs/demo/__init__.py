"""The demo job: runs every pipeline step on bundled offline data and prints a summary."""

from __future__ import annotations

import importlib
import time
from typing import Any

from covary.settings import get_settings
from lakehouse import Lakehouse

# (title, "module:function") — each function takes (lake, config) and returns a JSON-able summary.
# Later capabilities append their step here.
STEPS: list[tuple[str, str]] = [
    ("macro data bronze -> silver -> gold", "jobs.demo.macro:run"),
    ("built-in connectors via Ray: bronze -> silver -> gold", "jobs.ingest.demo:run"),
    ("enterprise systems (synthetic, seeded) with planted truth", "jobs.kpi.demo_synth:run"),
    ("correlation discovery on gold series", "jobs.correlate.demo:run"),
    ("entity reconciliation with stable ids", "jobs.reconcile.demo:run"),
    ("data-quality summary", "jobs.reconcile.demo:dq_summary"),
    ("marketing KPIs (CAC, ROAS, revenue, ...) to gold", "jobs.kpi.demo_kpi:run"),
    ("forecasts (ETS/SARIMAX vs baselines) registered in MLflow", "jobs.forecast.demo_forecast:run"),
    ("anomalies, level shifts and cross-source alerts", "jobs.anomaly.demo_anomaly:run"),
    ("RAG index: documents -> all-MiniLM-L6-v2 -> Milvus", "jobs.index:demo_step"),
    ("weekly insights report with correlation-change alerts", "jobs.report:demo_step"),
    ("explorer web page (with --serve)", "jobs.report.explorer:run"),
]


def main(config: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings()
    settings.ensure_home()
    lake = Lakehouse.from_settings(settings)
    only = set(config.get("steps") or [])
    results: dict[str, Any] = {}
    for title, target in STEPS:
        module_name, func_name = target.split(":")
        if only and module_name.rsplit(".", 1)[-1] not in only:
            continue
        started = time.perf_counter()
        if callable(on_start := config.get("on_step_start")):
            on_start(title)
        step_config = {k: v for k, v in config.items() if not callable(v)}
        summary = getattr(importlib.import_module(module_name), func_name)(lake, step_config)
        results[title] = {"seconds": round(time.perf_counter() - started, 2), **summary}
        if callable(on_done := config.get("on_step_done")):
            on_done(title, dict(results[title]))
    return {
        "home": str(settings.home.resolve()),
        "lake": lake.root,
        "steps": results,
        "tables": [t for t in lake.list_tables() if t["exists"]],
    }
