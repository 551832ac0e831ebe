"""The covary overview dashboard: ingestion, jobs, findings and alerts, the query service, Serve and Ray."""

from __future__ import annotations

from charts.grafana.builtin_metrics import RAY_BUILTIN_METRICS
from charts.grafana.errors import UnknownMetricError
from charts.grafana.model import Dashboard, Panel, Query, Row
from covary.metrics import CATALOGUE, exported_names

RATE = "$__rate_interval"


def series(name: str, suffix: str = "") -> str:
    """The Prometheus series of catalogue metric ``name`` (``_total``, ``_bucket``...); unknown names fail."""
    if name not in CATALOGUE:
        raise UnknownMetricError(f"metric {name!r} is not in covary.metrics.CATALOGUE", hint="add it there first")
    wanted = f"ray_{name}{suffix}"
    names = exported_names(name)
    if wanted not in names:
        raise UnknownMetricError(f"{wanted!r} is not exported for {name!r}; Ray exports {names}")
    return wanted


def builtin(name: str) -> str:
    """A Ray built-in series from the checked allow-list."""
    if name not in RAY_BUILTIN_METRICS:
        raise UnknownMetricError(
            f"Ray metric {name!r} is not in the allow-list", hint="verify it in Ray's source first"
        )
    return name


def _ingestion() -> Row:
    records, errors = series("covary_ingest_records", "_total"), series("covary_ingest_errors", "_total")
    quarantined, retries = series("covary_quarantined_records", "_total"), series("covary_ingest_retries", "_total")
    return Row(
        "Ingestion",
        (
            Panel(
                "Records landed by source",
                (Query(f"sum by (source) (rate({records}[{RATE}]))", "{{source}}"),),
                unit="rps",
                stacked=True,
            ),
            Panel(
                "Ingestion errors by source",
                (Query(f"sum by (source, kind) (increase({errors}[{RATE}]))", "{{source}} {{kind}}"),),
                description="Requests that failed after all retries.",
            ),
            Panel(
                "Quarantined records by source",
                (Query(f"sum by (source) (increase({quarantined}[{RATE}]))", "{{source}}"),),
                description="Records sent to ops.quarantine (bad payloads).",
            ),
            Panel(
                "HTTP retries by reason",
                (Query(f"sum by (source, reason) (rate({retries}[{RATE}]))", "{{source}} {{reason}}"),),
                unit="rps",
                width=24,
                height=6,
            ),
        ),
    )


def _failed_runs(runs: str) -> str:
    """Failed runs in 24h: the increase of series older than the window plus the value of series born in it
    (Ray cannot start a counter at 0, so ``increase`` alone misses a counter's first +1)."""
    failed = f'{runs}{{status=~"fail.*|error"}}'
    old = f"(sum(increase({failed}[24h]) and {failed} offset 24h) or vector(0))"
    new = f"(sum({failed} unless {failed} offset 24h) or vector(0))"
    return f"{old} + {new}"


def _jobs() -> Row:
    runs, duration = series("covary_job_runs", "_total"), series("covary_job_duration_s", "_bucket")
    by_job_le = f"sum by (job_name, le) (rate({duration}[{RATE}]))"
    return Row(
        "Jobs",
        (
            Panel(
                "Job duration p95",
                (
                    Query(f"histogram_quantile(0.95, {by_job_le})", "{{job_name}} p95"),
                    Query(f"histogram_quantile(0.50, {by_job_le})", "{{job_name}} p50"),
                ),
                unit="s",
                width=12,
            ),
            Panel(
                "Job runs by outcome",
                (Query(f"sum by (job_name, status) (increase({runs}[1h]))", "{{job_name}} {{status}}"),),
                width=6,
                stacked=True,
            ),
            Panel(
                "Failed job runs (24h)",
                (Query(_failed_runs(runs), "failed"),),
                kind="stat",
                width=6,
                thresholds=((1, "red"),),
            ),
        ),
    )


def _findings() -> Row:
    findings, alerts = series("covary_findings"), series("covary_alerts", "_total")
    return Row(
        "Findings and alerts",
        (
            Panel(
                "Findings of the last correlation run",
                (Query(f"sum by (state) ({findings})", "{{state}}"),),
                kind="stat",
                width=8,
            ),
            Panel(
                "Alerts by kind",
                (Query(f"sum by (kind) (increase({alerts}[1h]))", "{{kind}}"),),
                description="Anomalies, correlation changes and data-quality alerts per hour.",
                width=16,
                stacked=True,
            ),
        ),
    )


def _queries() -> Row:
    latency = series("covary_request_latency_ms", "_bucket")
    requests, blocked = series("covary_requests", "_total"), series("covary_blocked_queries", "_total")
    auth, rows = series("covary_auth_failures", "_total"), series("covary_rows_returned", "_total")
    return Row(
        "Query service",
        (
            Panel(
                "Request latency p50 / p95",
                (
                    Query(f"histogram_quantile(0.50, sum by (le) (rate({latency}[{RATE}])))", "p50"),
                    Query(f"histogram_quantile(0.95, sum by (le) (rate({latency}[{RATE}])))", "p95"),
                ),
                unit="ms",
                width=12,
                thresholds=((300, "red"),),
            ),
            Panel(
                "Requests by status",
                (Query(f"sum by (status) (rate({requests}[{RATE}]))", "{{status}}"),),
                unit="reqps",
                width=12,
                stacked=True,
            ),
            Panel(
                "Blocked queries by reason",
                (Query(f"sum by (reason) (increase({blocked}[{RATE}]))", "{{reason}}"),),
                description="SQL the guard refused; nothing ran.",
            ),
            Panel(
                "401 / 403 responses",
                (Query(f'sum by (status) (increase({auth}{{status=~"401|403"}}[{RATE}]))', "{{status}}"),),
                thresholds=((10, "orange"),),
            ),
            Panel("Rows returned", (Query(f"sum by (route) (rate({rows}[{RATE}]))", "{{route}}"),), unit="rps"),
        ),
    )


def _ray() -> Row:
    healthy, starts = (
        builtin("ray_serve_deployment_replica_healthy"),
        builtin("ray_serve_deployment_replica_starts_total"),
    )
    cpu, cpus = builtin("ray_node_cpu_utilization"), builtin("ray_node_cpu_count")
    mem_used, mem_total = builtin("ray_node_mem_used"), builtin("ray_node_mem_total")
    gpu, nodes = builtin("ray_node_gpus_utilization"), builtin("ray_cluster_active_nodes")
    return Row(
        "Serve and Ray cluster",
        (
            Panel(
                "Healthy Serve replicas",
                (Query(f"sum by (application, deployment) ({healthy})", "{{application}}/{{deployment}}"),),
                width=8,
            ),
            Panel(
                "Serve replica (re)starts",
                (Query(f"sum by (application, deployment) (increase({starts}[1h]))", "{{deployment}}"),),
                description="More than one start per replica means crashes.",
                width=8,
            ),
            Panel("Active Ray nodes", (Query(f"sum by (node_type) ({nodes})", "{{node_type}}"),), kind="stat", width=8),
            Panel(
                "Ray CPU utilisation",
                (
                    Query(f"avg({cpu})", "mean over nodes"),
                    Query(f"sum({cpus})", "CPUs"),
                ),
                unit="percent",
            ),
            Panel("Ray memory used", (Query(f"sum({mem_used}) / sum({mem_total})", "used"),), unit="percentunit"),
            Panel(
                "GPUs busy",
                (
                    Query(f"sum({gpu}) / 100 or vector(0)", "busy (GPU-equivalents)"),
                    Query(f"count({gpu}) or vector(0)", "GPUs reporting"),
                ),
                description="Sum of GPU utilisation in GPU-equivalents, and GPUs reporting; 0 on a CPU-only cluster.",
            ),
        ),
    )


def overview() -> Dashboard:
    """The covary overview dashboard."""
    return Dashboard(
        uid="covary-overview",
        title="covary overview",
        description="Ingestion, jobs, findings and alerts, the query service, Serve replicas and Ray utilisation.",
        rows=[_ingestion(), _jobs(), _findings(), _queries(), _ray()],
    )


__all__ = ["builtin", "overview", "series"]
