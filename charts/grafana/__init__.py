"""Grafana dashboards as code: build JSON models, check their metrics, export for Helm, provision a server."""

from __future__ import annotations

from charts.grafana.dashboards import check_metrics, dashboards, export, known_metrics, models, render_json
from charts.grafana.model import Dashboard, Panel, Query, Row
from charts.grafana.provision import provision

__all__ = [
    "Dashboard",
    "Panel",
    "Query",
    "Row",
    "check_metrics",
    "dashboards",
    "export",
    "known_metrics",
    "models",
    "provision",
    "render_json",
]
