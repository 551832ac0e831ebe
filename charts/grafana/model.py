"""A small typed builder for Grafana dashboard JSON models (schemaVersion 39): rows, time series, stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from charts.grafana.promql import metric_names

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24

PanelKind = Literal["timeseries", "stat"]


@dataclass(frozen=True)
class Query:
    """One PromQL target; ``legend`` is Grafana's legendFormat."""

    expr: str
    legend: str = ""

    def metrics(self) -> set[str]:
        return metric_names(self.expr)


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    kind: PanelKind = "timeseries"
    unit: str = "short"
    description: str = ""
    width: int = 8
    height: int = 8
    stacked: bool = False
    thresholds: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass
class Dashboard:
    uid: str
    title: str
    description: str
    rows: list[Row] = field(default_factory=list)
    tags: tuple[str, ...] = ("covary",)
    refresh: str = "30s"

    def metrics(self) -> set[str]:
        return {m for row in self.rows for panel in row.panels for q in panel.queries for m in q.metrics()}

    def to_json(self) -> dict[str, Any]:
        """The Grafana dashboard JSON model (no ``id``: Grafana assigns it; ``uid`` keeps it stable)."""
        panels: list[dict[str, Any]] = []
        next_id = 1
        y = 0
        for row in self.rows:
            panels.append(
                {
                    "type": "row",
                    "id": next_id,
                    "title": row.title,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                    "panels": [],
                }
            )
            next_id += 1
            y += 1
            x = 0
            row_height = 0
            for panel in row.panels:
                if x + panel.width > GRID_WIDTH:
                    x, y = 0, y + row_height
                    row_height = 0
                panels.append(_panel_json(panel, next_id, x, y))
                next_id += 1
                x += panel.width
                row_height = max(row_height, panel.height)
            y += row_height
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "browser",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": 39,
            "version": 1,
            "refresh": self.refresh,
            "time": {"from": "now-6h", "to": "now"},
            "templating": {
                "list": [
                    {
                        "name": "datasource",
                        "label": "Prometheus",
                        "type": "datasource",
                        "query": "prometheus",
                        "current": {},
                        "hide": 0,
                        "refresh": 1,
                    }
                ]
            },
            "annotations": {"list": []},
            "links": [],
            "panels": panels,
        }


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = [
        {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": q.expr, "legendFormat": q.legend or "__auto"}
        for i, q in enumerate(panel.queries)
    ]
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [{"color": color, "value": value} for value, color in panel.thresholds]
    custom: dict[str, Any] = {}
    if panel.kind == "timeseries":
        custom = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "stacking": {"mode": "normal" if panel.stacked else "none", "group": "A"},
        }
    options: dict[str, Any]
    if panel.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value"}
    else:
        options = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    return {
        "type": panel.kind,
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": targets,
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "custom": custom, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": options,
    }


__all__ = ["DATASOURCE", "Dashboard", "Panel", "Query", "Row"]
