"""``covary demo``: the main job end to end on embedded defaults and bundled offline data."""

from __future__ import annotations

import json
import os

import typer
from rich.console import Console
from rich.table import Table

_QUIET = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        as_json: bool = typer.Option(False, "--json"),
        serve: bool = typer.Option(False, "--serve", help="Keep the Serve app up and print its URL."),
        steps: str | None = typer.Option(None, help="Comma-separated subset of step modules."),
    ) -> None:
        """Run every pipeline step on bundled offline data (local Ray, local Delta, sqlite MLflow)."""
        from jobs.runtime import run_job

        for key, value in _QUIET.items():  # progress bars of libraries would drown the step summaries
            os.environ.setdefault(key, value)

        config: dict = {"serve": serve, "steps": steps.split(",") if steps else []}
        if as_json:
            typer.echo(json.dumps(run_job("demo", config), indent=2, default=str))
            return
        console = Console(soft_wrap=True)

        def started(title: str) -> None:
            console.print(f"[bold]…[/bold] {title}", highlight=False)

        def done(title: str, summary: dict) -> None:
            console.print(f"[bold green]✓[/bold green] {title} ({summary.pop('seconds')} s)", highlight=False)
            for line in summary.pop("lines", []):
                console.print(f"    {line}", highlight=False, markup=False)
            for k, v in summary.items():
                console.print(f"    {k}: {v}", highlight=False, markup=False)

        result = run_job("demo", config | {"on_step_start": started, "on_step_done": done})
        out = Table("table", "version", "rows", "files", title="lakehouse")
        for t in result["tables"]:
            out.add_row(t["table"], str(t["version"]), str(t["rows"]), str(t["files"]))
        console.print(out)
        console.print(f"COVARY_HOME: {result['home']}\nlake: {result['lake']}")
