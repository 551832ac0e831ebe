"""The forecast job: per-series ETS/SARIMAX vs baselines by rolling-origin backtest, champions in MLflow."""

from __future__ import annotations

from typing import Any


def main(config: dict[str, Any]) -> dict[str, Any]:
    from covary.settings import get_settings
    from jobs.forecast.job import run_forecast
    from lakehouse import Lakehouse

    settings = get_settings()
    settings.ensure_home()
    return run_forecast(Lakehouse.from_settings(settings), config)


__all__ = ["main"]
