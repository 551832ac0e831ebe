"""The anomaly job: STL + robust MAD outliers, level shifts and cross-source alerts, tracked in MLflow."""

from __future__ import annotations

from typing import Any


def main(config: dict[str, Any]) -> dict[str, Any]:
    from jobs.anomaly.config import AnomalyConfig

    config = AnomalyConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    from covary.settings import get_settings
    from jobs.anomaly.job import run_anomaly
    from lakehouse import Lakehouse

    settings = get_settings()
    settings.ensure_home()
    return run_anomaly(Lakehouse.from_settings(settings), config)


__all__ = ["main"]
