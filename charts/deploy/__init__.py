"""Kubernetes deployment of covary: render the Helm chart, server-side apply it, report Ray object status."""

from __future__ import annotations

from charts.deploy.apply import apply_objects
from charts.deploy.chartfiles import stale_files, sync
from charts.deploy.kube import KubeClient
from charts.deploy.readme import parse_values, render_readme
from charts.deploy.render import CHART_DIR, Rendered, lint, load_values, read_manifests, render, write_manifests
from charts.deploy.status import release_status

__all__ = [
    "CHART_DIR",
    "KubeClient",
    "Rendered",
    "apply_objects",
    "lint",
    "load_values",
    "parse_values",
    "read_manifests",
    "release_status",
    "render",
    "render_readme",
    "stale_files",
    "sync",
    "write_manifests",
]
