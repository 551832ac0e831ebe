"""Errors of ``covary deploy``: rendering the chart, talking to the Kubernetes API."""

from __future__ import annotations

from covary.errors import CovaryError, TerminalError, TransientError


class DeployError(CovaryError):
    """Root of the deploy errors."""


class ChartRenderError(DeployError, TerminalError, ValueError):
    """The chart refused the values (schema or validateConfig); the message names the bad value."""


class ChartFilesOutOfDateError(DeployError, TerminalError, RuntimeError):
    """A generated chart file (README, Serve config copy, dashboard) differs from its source."""


class UnsupportedKindError(DeployError, TerminalError, KeyError):
    """A manifest has a kind covary deploy does not know how to apply."""


class ChartLintError(DeployError, RuntimeError):
    """`helm lint --strict` found warnings or errors."""


class ReleaseUnhealthyError(DeployError, RuntimeError):
    """A RayService, RayCluster or RayJob of the release is not healthy (``covary deploy status`` exits 1)."""


class KubeAuthError(DeployError, TerminalError, PermissionError):
    """The API server refused the credentials (401/403)."""


class KubeRequestError(DeployError, TerminalError, ValueError):
    """The API server rejected an object (4xx); the message carries its reason."""


class KubeUnavailableError(DeployError, TransientError, ConnectionError):
    """The API server could not be reached or answered 5xx; retrying may help."""


__all__ = [
    "ChartFilesOutOfDateError",
    "ChartLintError",
    "ChartRenderError",
    "DeployError",
    "KubeAuthError",
    "KubeRequestError",
    "KubeUnavailableError",
    "ReleaseUnhealthyError",
    "UnsupportedKindError",
]
