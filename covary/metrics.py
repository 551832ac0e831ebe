"""The catalogue of every metric covary emits (through Ray's metrics API) and how to record them.

Ray exports an application metric ``NAME`` to Prometheus as ``ray_NAME`` (counters as
``ray_NAME_total``; histograms as ``ray_NAME_bucket``/``_sum``/``_count``). Grafana dashboards
(``charts/``) may only query names from :func:`exported_names`; a test enforces that.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Kind = Literal["counter", "gauge", "histogram"]

LATENCY_MS_BOUNDARIES = [5, 10, 25, 50, 100, 200, 300, 500, 1000, 2500, 5000, 10000, 30000]
DURATION_S_BOUNDARIES = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]


@dataclass(frozen=True)
class MetricDef:
    name: str
    kind: Kind
    description: str
    tag_keys: tuple[str, ...] = ()
    boundaries: tuple[float, ...] = ()


CATALOGUE: dict[str, MetricDef] = {
    m.name: m
    for m in (
        # ingestion (connectors / jobs.ingest)
        MetricDef("covary_ingest_records", "counter", "Records landed in bronze.", ("source", "endpoint")),
        MetricDef("covary_ingest_errors", "counter", "Failed requests after retries.", ("source", "kind")),
        MetricDef("covary_ingest_retries", "counter", "HTTP retries (429/5xx/timeouts).", ("source", "reason")),
        MetricDef("covary_quarantined_records", "counter", "Records sent to ops.quarantine.", ("source",)),
        # jobs
        # tag `job_name`, not `job`: Prometheus sets `job` to the scrape job (and renames ours exported_job)
        MetricDef("covary_job_runs", "counter", "Job runs by outcome.", ("job_name", "status")),
        MetricDef(
            "covary_job_duration_s",
            "histogram",
            "Job wall time in seconds.",
            ("job_name",),
            tuple(DURATION_S_BOUNDARIES),
        ),
        MetricDef("covary_findings", "gauge", "Findings of the last correlation run.", ("state",)),
        MetricDef("covary_alerts", "counter", "Alerts raised (anomalies, correlation changes, DQ).", ("kind",)),
        # serve
        MetricDef("covary_requests", "counter", "HTTP requests by route and status.", ("route", "status")),
        MetricDef(
            "covary_request_latency_ms",
            "histogram",
            "End-to-end request latency (ms).",
            ("route",),
            tuple(LATENCY_MS_BOUNDARIES),
        ),
        MetricDef("covary_blocked_queries", "counter", "SQL statements blocked by the guard.", ("reason",)),
        MetricDef("covary_auth_failures", "counter", "401/403 responses.", ("route", "status")),
        MetricDef("covary_rows_returned", "counter", "Rows returned by query routes.", ("route",)),
    )
}


def exported_names(name: str) -> list[str]:
    """The Prometheus series names Ray exports for metric ``name``."""
    m = CATALOGUE[name]
    base = f"ray_{m.name}"
    if m.kind == "counter":
        return [f"{base}_total", base]
    if m.kind == "histogram":
        return [f"{base}_bucket", f"{base}_sum", f"{base}_count"]
    return [base]


def all_exported_names() -> set[str]:
    return {n for name in CATALOGUE for n in exported_names(name)}


class _NoOp:
    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None: ...
    def set(self, value: float, tags: dict[str, str] | None = None) -> None: ...
    def observe(self, value: float, tags: dict[str, str] | None = None) -> None: ...


_lock = threading.Lock()
_instances: dict[str, Any] = {}


def get(name: str) -> Any:
    """The metric object for ``name``; a no-op outside a Ray worker/driver (e.g. plain CLI use)."""
    definition = CATALOGUE[name]  # KeyError for unknown metrics: add them to the catalogue first
    try:
        import ray

        if not ray.is_initialized():
            return _NoOp()
        from ray.util import metrics as ray_metrics
    except Exception:  # pragma: no cover - ray is a hard dependency
        return _NoOp()
    with _lock:
        if name not in _instances:
            if definition.kind == "counter":
                obj: Any = ray_metrics.Counter(name, definition.description, definition.tag_keys)
            elif definition.kind == "gauge":
                obj = ray_metrics.Gauge(name, definition.description, definition.tag_keys)
            else:
                obj = ray_metrics.Histogram(
                    name, definition.description, list(definition.boundaries), definition.tag_keys
                )
            _instances[name] = obj
        return _instances[name]


def inc(name: str, value: float = 1.0, **tags: str) -> None:
    try:
        get(name).inc(value, tags=tags or None)
    except Exception as exc:  # metrics must never break the work they observe
        log.debug("metric %s not recorded: %s", name, exc)


def observe(name: str, value: float, **tags: str) -> None:
    try:
        get(name).observe(value, tags=tags or None)
    except Exception as exc:
        log.debug("metric %s not recorded: %s", name, exc)


def set_gauge(name: str, value: float, **tags: str) -> None:
    try:
        get(name).set(value, tags=tags or None)
    except Exception as exc:
        log.debug("metric %s not recorded: %s", name, exc)


__all__ = ["CATALOGUE", "MetricDef", "all_exported_names", "exported_names", "get", "inc", "observe", "set_gauge"]
