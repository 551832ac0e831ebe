"""Demo step: forecasts for a handful of enterprise series, champions registered in MLflow."""

from __future__ import annotations

from typing import Any

from lakehouse import Lakehouse

DEMO_SERIES = [
    "synth.marketing.conversions",
    "synth.crm.deals_won",
    "synth.support.tickets",
    "synth.operations.equipment_failures",
    "synth.operations.energy_kwh",
    "synth.finance.expenses",
]


def run(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    from jobs.forecast.job import run_forecast

    summary = run_forecast(
        lake, {"series": config.get("forecast_series", DEMO_SERIES), "folds": 2, "horizon": 14, "history_days": 365}
    )
    uri = summary["tracking_uri"]
    store = uri.removeprefix("sqlite:///")
    return {
        "lines": [
            f"{summary['series']} series in {summary['ray_tasks']} Ray tasks; winners {summary['winners']}; "
            f"{summary['beat_seasonal_naive']} beat seasonal-naive in backtests",
            "forecasts with 80/95% intervals: gold.forecasts; backtest scores: gold.forecast_backtests",
            f"MLflow experiment covary-forecast (id {summary['experiment']}), run {summary['parent_run_id']}",
            "models: covary model list --prefix covary.forecast.  (alias champion)",
            f"MLflow UI: mlflow ui --backend-store-uri {uri}" + ("" if store == uri else "  (local sqlite store)"),
        ]
    }
