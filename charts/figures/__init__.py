"""Plotly figure builders shared by the insight report and the explorer, and the bundled plotly.js."""

from __future__ import annotations

from pathlib import Path

from charts.figures.builders import (
    anomaly_chart,
    correlation_heatmap,
    correlation_network,
    dq_summary,
    forecast_fan,
    kpi_table,
    lag_plot,
    series_overlay,
    significant,
)
from charts.figures.stats import cross_correlation


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled with the installed plotly package (never a CDN)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


__all__ = [
    "anomaly_chart",
    "correlation_heatmap",
    "correlation_network",
    "cross_correlation",
    "dq_summary",
    "forecast_fan",
    "kpi_table",
    "lag_plot",
    "plotly_js_path",
    "series_overlay",
    "significant",
]
