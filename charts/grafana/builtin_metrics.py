"""Allow-list of Ray's built-in Prometheus series the dashboards use, each with the source it was checked in."""

from __future__ import annotations

from types import MappingProxyType

# Ray exports its own metrics with the ``ray_`` prefix (counters with ``_total``). Checked against the
# Ray 2.60.0 wheel installed in the project venv (and ray-project/ray master) on the paths below.
_SERVE = "python/ray/serve/_private/deployment_state.py (metrics.Gauge 'serve_deployment_replica_healthy')"
_REPLICA = "python/ray/serve/_private/replica.py (metrics.Counter 'serve_deployment_replica_starts')"
_REPORTER = "python/ray/dashboard/modules/reporter/reporter_agent.py (METRICS_GAUGES)"

RAY_BUILTIN_METRICS: MappingProxyType[str, str] = MappingProxyType(
    {
        "ray_serve_deployment_replica_healthy": _SERVE,
        "ray_serve_deployment_replica_starts_total": _REPLICA,
        "ray_node_cpu_utilization": _REPORTER,
        "ray_node_cpu_count": _REPORTER,
        "ray_node_mem_used": _REPORTER,
        "ray_node_mem_total": _REPORTER,
        "ray_node_gpus_utilization": _REPORTER,
        "ray_cluster_active_nodes": _REPORTER,
    }
)

__all__ = ["RAY_BUILTIN_METRICS"]
