"""Shared CLI plumbing: error rendering, JSON output, exit codes."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import click
import typer

from covary.errors import CovaryError, TerminalError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def emit_json(data: Any) -> None:
    """Print one JSON document to stdout (dates and other objects as strings)."""
    typer.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


def fail(message: str, *, hint: str | None = None, code: int = EXIT_USAGE) -> typer.Exit:
    """Print a one-line error (and hint) to stderr; return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    return typer.Exit(code)


def run_cli(app: typer.Typer, argv: list[str]) -> int:
    debug = "--debug" in argv or os.environ.get("COVARY_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    try:
        # standalone_mode=False: click returns the exit code of typer.Exit instead of raising it
        result = app(args=argv, prog_name="covary", standalone_mode=False)
        return result if isinstance(result, int) else EXIT_OK
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (click.exceptions.Abort, typer.Abort):
        typer.echo("aborted", err=True)
        return 130
    except (click.ClickException, typer.TyperException) as exc:  # typer vendors its own click
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        return int(getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE)
    except CovaryError as exc:
        if debug:
            traceback.print_exc()
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"hint: {exc.hint}", err=True)
        return EXIT_USAGE if isinstance(exc, TerminalError | ValueError) else EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            typer.echo("hint: run again with --debug for the full traceback", err=True)
        return EXIT_ERROR
    finally:
        sys.stdout.flush()
