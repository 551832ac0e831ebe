"""Errors of the Grafana dashboards-as-code package."""

from __future__ import annotations

from covary.errors import CovaryError, TerminalError, TransientError


class GrafanaError(CovaryError):
    """Root of the dashboard errors."""


class UnknownMetricError(GrafanaError, TerminalError, KeyError):
    """A panel queries a metric that neither covary nor Ray emits."""


class GrafanaAuthError(GrafanaError, TerminalError, PermissionError):
    """Grafana refused the token (401/403)."""


class GrafanaRequestError(GrafanaError, TerminalError, ValueError):
    """Grafana rejected a request (4xx other than auth)."""


class GrafanaUnavailableError(GrafanaError, TransientError, ConnectionError):
    """Grafana could not be reached or answered 5xx; retrying may help."""


__all__ = [
    "GrafanaAuthError",
    "GrafanaError",
    "GrafanaRequestError",
    "GrafanaUnavailableError",
    "UnknownMetricError",
]
