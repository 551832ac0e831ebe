"""``covary config show``."""

from __future__ import annotations

import typer

from covary.cli._common import emit_json
from covary.settings import get_settings


def register(app: typer.Typer) -> None:
    config = typer.Typer(help="Effective settings (env COVARY_*, covary.yaml, defaults).", no_args_is_help=True)

    @config.command("show")
    def show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Print the effective settings, secrets masked."""
        data = get_settings().public_dict()
        if as_json:
            emit_json(data)
            return
        for section, value in data.items():
            if isinstance(value, dict):
                typer.echo(f"[{section}]")
                for k, v in value.items():
                    typer.echo(f"  {k} = {v}")
            else:
                typer.echo(f"{section} = {value}")

    app.add_typer(config, name="config")
