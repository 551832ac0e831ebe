"""Shared noun groups, so several modules can add verbs to one noun (e.g. ``covary source ...``)."""

from __future__ import annotations

import typer

_GROUPS: dict[str, typer.Typer] = {}

HELP = {
    "source": "Data sources: declarative specs, built-in connectors, uploads, synthetic systems.",
    "findings": "Correlation findings: list, show.",
    "model": "MLflow models: list, show, promote.",
    "serve": "The Ray Serve app: up, down, status.",
    "deploy": "Kubernetes: render, apply, status.",
    "grafana": "Grafana dashboards as code: export, provision.",
    "dq": "Data-quality reports.",
}


def group(app: typer.Typer, name: str) -> typer.Typer:
    """The Typer for noun ``name``, created and attached to ``app`` on first use."""
    if name not in _GROUPS:
        sub = typer.Typer(help=HELP.get(name, name), no_args_is_help=True)
        app.add_typer(sub, name=name)
        _GROUPS[name] = sub
    return _GROUPS[name]
