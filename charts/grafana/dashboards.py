"""All dashboards, their metric check, and the export the Helm chart packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from charts.grafana.builtin_metrics import RAY_BUILTIN_METRICS
from charts.grafana.errors import UnknownMetricError
from charts.grafana.model import Dashboard
from charts.grafana.overview import overview
from covary.metrics import all_exported_names


def dashboards() -> list[Dashboard]:
    """Every dashboard covary ships."""
    return [overview()]


def known_metrics() -> set[str]:
    """Series a panel may query: covary's catalogue (as Ray exports it) plus the checked Ray built-ins."""
    return all_exported_names() | set(RAY_BUILTIN_METRICS)


def check_metrics(dashboard: Dashboard) -> None:
    """Raise UnknownMetricError when a panel queries a series nobody emits."""
    unknown = sorted(dashboard.metrics() - known_metrics())
    if unknown:
        raise UnknownMetricError(
            f"dashboard {dashboard.uid!r} queries unknown metrics: {', '.join(unknown)}",
            hint="use names from covary.metrics.CATALOGUE or charts.grafana.builtin_metrics",
        )


def render_json(dashboard: Dashboard) -> str:
    """The dashboard JSON exactly as exported (stable key order, trailing newline)."""
    check_metrics(dashboard)
    return json.dumps(dashboard.to_json(), indent=2, sort_keys=True) + "\n"


def export(directory: str | Path) -> list[Path]:
    """Write one ``<uid>.json`` per dashboard into ``directory``; return the paths written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in dashboards():
        path = out / f"{dashboard.uid}.json"
        path.write_text(render_json(dashboard))
        written.append(path)
    return written


def models() -> list[dict[str, Any]]:
    """Checked JSON models of every dashboard."""
    result = []
    for dashboard in dashboards():
        check_metrics(dashboard)
        result.append(dashboard.to_json())
    return result


__all__ = ["check_metrics", "dashboards", "export", "known_metrics", "models", "render_json"]
