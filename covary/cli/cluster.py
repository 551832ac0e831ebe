"""``covary up`` / ``covary down``: a persistent local Ray cluster that every command attaches to."""

from __future__ import annotations

import typer

from covary.cli._common import emit_json


def register(app: typer.Typer) -> None:
    @app.command("up")
    def up(
        num_cpus: int | None = typer.Option(None, "--num-cpus", help="CPUs of the head (default: settings/all)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Start a local Ray head (token auth, loopback) once; later commands attach to it."""
        from jobs import local_cluster

        info = local_cluster.up(num_cpus=num_cpus)
        shown = {k: info[k] for k in ("gcs_address", "dashboard_url", "pid")} | {
            "already_running": bool(info.get("already_running")),
            "state": str(local_cluster.state_path()),
        }
        if as_json:
            emit_json(shown)
        else:
            state = "already running" if shown["already_running"] else "started"
            typer.echo(
                f"ray {state}: {shown['gcs_address']} (jobs API {shown['dashboard_url']}); `covary down` stops it"
            )

    @app.command("down")
    def down(as_json: bool = typer.Option(False, "--json")) -> None:
        """Stop the local Ray head that `covary up` started."""
        from jobs import local_cluster

        stopped = local_cluster.down()
        emit_json({"stopped": stopped}) if as_json else typer.echo("stopped" if stopped else "no cluster was running")
