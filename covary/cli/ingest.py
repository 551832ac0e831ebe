"""``covary source ingest``: every built-in connector (or some) fanned out over Ray into bronze, silver and gold."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from covary.cli._common import emit_json
from covary.cli._groups import group


def run_ingest(
    *,
    all_: bool,
    names: list[str],
    replay: bool,
    resume: bool = False,
    run_key: str | None = None,
    config_json: str | None = None,
    as_json: bool = False,
) -> None:
    """Run the ingest job (shared by `covary source ingest` and `covary source run --all`)."""
    from jobs.runtime import run_job

    config = json.loads(config_json) if config_json else {}
    config |= {"sources": "all" if all_ or not names else names, "replay": replay or config.get("replay", False)}
    if resume:
        config["resume"] = True
    if run_key:
        config["run_key"] = run_key
    if as_json:
        result = run_job("ingest", config)
        emit_json(result)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("ingesting", total=None, last="")

        def on_progress(result: dict[str, Any], done: int, total: int) -> None:
            state = "FAILED" if result.get("failed") else ("skipped" if result.get("skipped") else "ok")
            last = f"{result['id'][:60]} {state} {result.get('records', 0)} records"
            bar.update(task, completed=done, total=total, last=last)

        result = run_job("ingest", config | {"on_progress": on_progress})
    for line in result["lines"]:
        typer.echo(line)
    typer.echo(f"done in {result['seconds']} s")


def register(app: typer.Typer) -> None:
    source = group(app, "source")

    @source.command("ingest")
    def ingest(
        all_: bool = typer.Option(False, "--all", help="Every built-in connector (default when none is named)."),
        names: list[str] = typer.Option([], "--source", "-s", help="Only these connectors (repeatable)."),
        replay: bool = typer.Option(False, "--replay", help="Serve the bundled recordings on 127.0.0.1 (offline)."),
        resume: bool = typer.Option(False, "--resume", help="Continue the last crashed or failed ingest run."),
        run_key: str | None = typer.Option(None, "--run-key", help="Continue this ingest run."),
        config_json: str | None = typer.Option(None, "--config-json", help="More job config (options per source)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Ingest built-in connectors through Ray (cluster-wide rate limits, exactly-once, resumable)."""
        run_ingest(
            all_=all_,
            names=names,
            replay=replay,
            resume=resume,
            run_key=run_key,
            config_json=config_json,
            as_json=as_json,
        )
