"""``covary source ingest``: every built-in connector (or some) fanned out over Ray into bronze, silver and gold."""

from __future__ import annotations

import json

import typer

from covary.cli._common import emit_json
from covary.cli._groups import group


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
        from jobs.runtime import run_job

        config = json.loads(config_json) if config_json else {}
        config |= {"sources": "all" if all_ or not names else names, "replay": replay or config.get("replay", False)}
        if resume:
            config["resume"] = True
        if run_key:
            config["run_key"] = run_key
        result = run_job("ingest", config)
        if as_json:
            emit_json(result)
            return
        for line in result["lines"]:
            typer.echo(line)
        typer.echo(f"done in {result['seconds']} s")
