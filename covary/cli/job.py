"""``covary job run|submit|status|logs|stop|list``."""

from __future__ import annotations

import json

import typer

from covary.cli._common import emit_json, fail


def _config(config_json: str | None, sets: list[str] | None = None) -> dict:
    """``--config-json`` with each ``--set KEY=VALUE`` on top (VALUE is JSON, else text; ``a.b=V`` nests)."""
    value: dict = {}
    if config_json:
        try:
            value = json.loads(config_json)
        except json.JSONDecodeError as exc:
            raise fail(f"--config-json is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise fail("--config-json must be a JSON object")
    for item in sets or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set takes KEY=VALUE, got {item!r}")
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = raw
        *parents, leaf = key.strip().split(".")
        node = value
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise fail(f"--set {key}: {part!r} is a value, not a mapping")
        node[leaf] = parsed
    return value


DEMO = "demo"  # a job name run by covary/cli/demo_steps.py, not by a jobs.<name>.main
SETS = typer.Option([], "--set", help="KEY=VALUE config key (repeat; VALUE is JSON or text, a.b=V nests).")


def register(app: typer.Typer) -> None:
    job = typer.Typer(help="Ray jobs: run locally or submit to a cluster.", no_args_is_help=True)

    @job.command("list")
    def list_(as_json: bool = typer.Option(False, "--json")) -> None:
        """Jobs that can be run or submitted."""
        from jobs.runtime import available_jobs

        names = available_jobs()
        emit_json(names) if as_json else typer.echo("\n".join(names))

    @job.command("run")
    def run(
        name: str,
        config_json: str | None = typer.Option(None, "--config-json"),
        as_json: bool = typer.Option(False, "--json"),
        local: bool = typer.Option(False, "--local", help="Small jobs (kpi, dq): run in this process, no Ray."),
        sets: list[str] = SETS,
    ) -> None:
        """Run a job on Ray (`covary up`'s cluster, COVARY_RAY__ADDRESS, or one started on demand)."""
        config = _config(config_json, sets)
        if name == DEMO:  # orchestrated by the CLI (covary/cli/demo_steps.py), on Ray like a job
            from covary.cli.demo_steps import run_demo

            if local:
                raise fail("the demo runs Ray tasks and cannot run with --local")
            result = run_demo(config)
        else:
            from jobs.runtime import run_job

            result = run_job(name, config, local=local)
        emit_json(result) if as_json else typer.echo(json.dumps(result, indent=2, default=str))

    @job.command("submit")
    def submit(
        name: str,
        address: str | None = typer.Option(None, help="Ray Jobs API, http://HEAD:8265"),
        config_json: str | None = typer.Option(None, "--config-json"),
        no_pip: bool = typer.Option(False, "--no-pip", help="Cluster image already has covary's deps."),
        env: list[str] = typer.Option([], "--env", help="KEY=VALUE for the job's environment (repeat)."),
        wait: bool = typer.Option(False, help="Wait for the job and print its logs."),
        as_json: bool = typer.Option(False, "--json"),
        sets: list[str] = SETS,
    ) -> None:
        """Submit a job through the Ray Jobs API (working dir + pinned requirements)."""
        from jobs.runtime import job_logs, submit_job, wait_job

        pairs = dict(item.split("=", 1) for item in env if "=" in item)
        if len(pairs) != len(env):
            raise fail("--env takes KEY=VALUE")
        # the demo is orchestrated by the CLI: the cluster runs `covary job run demo` in the job's working dir
        entrypoint = "python -m covary job run demo --json" if name == DEMO else None
        config = _config(config_json, sets)
        sid = submit_job(name, config, address=address, pip=not no_pip, env=pairs, entrypoint=entrypoint)
        result: dict = {"submission_id": sid}
        if wait:
            result |= wait_job(sid, address=address)
            result["logs"] = job_logs(sid, address=address)[-4000:]
        emit_json(result) if as_json else typer.echo(json.dumps(result, indent=2, default=str))

    @job.command("status")
    def status(
        submission_id: str, address: str | None = typer.Option(None), as_json: bool = typer.Option(False, "--json")
    ) -> None:
        """State of a submitted job (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED)."""
        from jobs.runtime import job_status

        result = job_status(submission_id, address=address)
        emit_json(result) if as_json else typer.echo(f"{submission_id}: {result['status']} {result['message'] or ''}")

    @job.command("logs")
    def logs(submission_id: str, address: str | None = typer.Option(None)) -> None:
        """Logs of a submitted job."""
        from jobs.runtime import job_logs

        typer.echo(job_logs(submission_id, address=address))

    @job.command("stop")
    def stop(submission_id: str, address: str | None = typer.Option(None)) -> None:
        """Stop a submitted job."""
        from jobs.runtime import stop_job

        typer.echo("stopped" if stop_job(submission_id, address=address) else "not running")

    app.add_typer(job, name="job")
