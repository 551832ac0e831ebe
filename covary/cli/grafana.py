"""``covary grafana export|provision``: dashboards as code."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from covary.cli._common import emit_json
from covary.cli._groups import group
from covary.errors import ConfigError


def register(app: typer.Typer) -> None:
    grafana = group(app, "grafana")

    @grafana.command("export")
    def export_cmd(directory: Path, as_json: bool = typer.Option(False, "--json")) -> None:
        """Write the dashboards' JSON models (what the Helm chart packages) into DIRECTORY."""
        from charts.grafana import export

        paths = export(directory)
        emit_json([str(p) for p in paths]) if as_json else typer.echo("\n".join(f"wrote {p}" for p in paths))

    @grafana.command("provision")
    def provision_cmd(
        url: str = typer.Option(..., "--url", help="Grafana base URL, e.g. https://grafana.example.com"),
        token_env: str = typer.Option("GRAFANA_TOKEN", "--token-env", help="Environment variable holding the token."),
        folder: str = typer.Option("covary", "--folder", help="Folder uid and title."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Create the folder if needed and upsert every dashboard (POST /api/dashboards/db)."""
        from charts.grafana import provision

        token = os.environ.get(token_env)
        if not token:
            raise ConfigError(f"${token_env} is empty", hint=f"export {token_env}=<Grafana service-account token>")
        rows = provision(url, token, folder_uid=folder, folder_title=folder)
        if as_json:
            emit_json(rows)
            return
        for row in rows:
            typer.echo(f"{row['status'] or 'ok'}: {row['title']} v{row['version']} {row['url']}")
