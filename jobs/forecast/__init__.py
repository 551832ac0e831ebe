"""The forecast job: per-series ETS/SARIMAX vs baselines by rolling-origin backtest, champions in MLflow.

``{"mode": "evaluate"}`` replays the job at rolling origins over the last days instead and scores it on
what happened (:mod:`jobs.forecast.evaluate`).
"""

from __future__ import annotations

from typing import Any


def main(config: dict[str, Any]) -> dict[str, Any]:
    from jobs.forecast.config import ForecastConfig

    config = ForecastConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    from covary.settings import get_settings
    from jobs.forecast.errors import ForecastInputError
    from lakehouse import Lakehouse

    settings = get_settings()
    settings.ensure_home()
    lake = Lakehouse.from_settings(settings)
    mode = config.get("mode", "fit")
    if mode == "evaluate":
        from jobs.forecast.evaluate import evaluate_holdout

        return evaluate_holdout(lake, config)
    if mode != "fit":
        raise ForecastInputError(f"unknown forecast mode {mode!r}", hint="use 'fit' (default) or 'evaluate'")
    from jobs.forecast.job import run_forecast

    return run_forecast(lake, config)


__all__ = ["main"]
