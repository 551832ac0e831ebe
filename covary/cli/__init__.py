"""The ``covary`` command: ``covary <noun> <verb>``; thin wrappers over library functions."""

from __future__ import annotations

import importlib
import sys

import typer

from covary.cli._common import run_cli

app = typer.Typer(
    name="covary",
    help="covary: lakehouse, honest correlations, models and answers over HTTP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion [bash|zsh|fish|powershell]
)


def _version(value: bool) -> None:
    if value:
        from covary import __version__

        typer.echo(f"covary {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """covary: lakehouse, honest correlations, models and answers over HTTP."""


# Each module defines ``register(app)`` and owns its nouns. Add a module here to add commands.
COMMAND_MODULES: list[str] = [
    "covary.cli.config",
    "covary.cli.table",
    "covary.cli.job",
    "covary.cli.cluster",
    "covary.cli.demo",
    "covary.cli.source",
    "covary.cli.deploy",
    "covary.cli.grafana",
    "covary.cli.serve",
    "covary.cli.query",
    "covary.cli.correlate",
    "covary.cli.reconcile",
    "covary.cli.ingest",
    "covary.cli.enterprise",
    "covary.cli.ask",
]

_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(app)
    _registered = True


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: one line + hint on errors, traceback only with --debug."""
    _register()
    return run_cli(app, sys.argv[1:] if argv is None else argv)


__all__ = ["app", "main"]
