"""``covary serve up|down|status|keys``: run the query service locally (or deploy it to a cluster) and manage keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from covary.cli._common import emit_json, fail
from covary.cli._groups import group
from covary.settings import get_settings


def _state_file() -> Path:
    return get_settings().home.resolve() / "serve" / "serve.json"


def _read_state() -> dict[str, Any] | None:
    path = _state_file()
    if not path.exists():
        return None
    return json.loads(path.read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _probe(url: str, token: str | None = None) -> dict[str, Any]:
    import httpx  # loaded when probing, not by every CLI command (they all register this module)

    out: dict[str, Any] = {"url": url}
    try:
        out["live"] = httpx.get(f"{url}/v1/healthz", timeout=3).status_code == 200
        if token:
            r = httpx.get(f"{url}/v1/health", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            out["health"] = r.json() if r.status_code == 200 else {"status": r.status_code, "body": r.text[:200]}
    except httpx.HTTPError as exc:
        out["live"] = False
        out["error"] = str(exc)
    return out


def start_local(host: str, port: int, config: Path | None = None, wait_s: float = 240.0) -> dict[str, Any]:
    """Start the query service daemon (``serve.query.daemon``) in the background; wait until it answers."""
    url = f"http://{host}:{port}"
    state = _read_state()
    if state and _alive(state["pid"]):
        raise fail(f"already running (pid {state['pid']}) at {state['url']}", hint="`covary serve down` first")
    state_file = _state_file()
    state_file.parent.mkdir(parents=True, exist_ok=True)
    ready = state_file.with_name("ready.json")
    ready.unlink(missing_ok=True)
    log_path = state_file.with_name("serve.log")
    cmd = [
        sys.executable,
        "-m",
        "serve.query.daemon",
        "--host",
        host,
        "--port",
        str(port),
        "--ready-file",
        str(ready),
        *(["--config", str(config)] if config else []),
    ]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    state = {"pid": proc.pid, "url": url, "log": str(log_path), "started": time.time()}
    state_file.write_text(json.dumps(state))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            state_file.unlink(missing_ok=True)
            raise fail(f"the service exited with code {proc.returncode}", hint=f"see {log_path}", code=1)
        if ready.exists() and _probe(url).get("live"):
            return {"url": url, "pid": proc.pid, "docs": f"{url}/docs", "log": str(log_path)}
        time.sleep(1.0)
    raise fail(f"the service did not answer within {wait_s:.0f}s", hint=f"see {log_path}", code=1)


def running_url() -> str | None:
    """The URL of the local service ``serve up`` started, when its process is alive and it answers."""
    state = _read_state()
    if state and _alive(state["pid"]) and _probe(state["url"]).get("live"):
        return str(state["url"])
    return None


def register(app: typer.Typer) -> None:
    serve_app = group(app, "serve")
    keys_app = typer.Typer(help="API keys (stored hashed): create, list, revoke.", no_args_is_help=True)
    serve_app.add_typer(keys_app, name="keys")
    console = Console()

    @serve_app.command("up")
    def up(
        port: int = typer.Option(None, help="HTTP port (default settings.serve.port)."),
        host: str = typer.Option(None, help="Bind address (default settings.serve.host)."),
        config: Path | None = typer.Option(None, help="Serve config YAML (or args YAML) for build_app."),
        foreground: bool = typer.Option(False, "--foreground", help="Run in this process until Ctrl-C."),
        wait_s: float = typer.Option(240.0, help="How long to wait for the service to answer."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Start the query service: a local Ray + Serve in the background, or deploy to COVARY_RAY__ADDRESS."""
        settings = get_settings()
        settings.ensure_home()
        host = host or settings.serve.host
        port = port or settings.serve.port
        url = f"http://{host}:{port}"
        if settings.ray.address:  # a cluster: the app outlives this command
            from jobs.runtime import ensure_ray
            from serve.query.daemon import deploy, load_args

            ensure_ray(settings)
            deploy(load_args(str(config) if config else None), host=host, port=port)
            result = {"deployed": "query", "ray": settings.ray.address, "url": url}
            emit_json(result) if as_json else typer.echo(f"deployed app 'query' to {settings.ray.address}")
            return
        if foreground:
            from serve.query.daemon import main as daemon_main

            typer.echo(f"serving on {url} (Ctrl-C to stop)")
            daemon_main(["--host", host, "--port", str(port), *(["--config", str(config)] if config else [])])
            return
        ready_info = start_local(host, port, config, wait_s)
        emit_json(ready_info) if as_json else typer.echo(f"serving on {url} (docs {url}/docs, pid {ready_info['pid']})")

    @serve_app.command("down")
    def down(as_json: bool = typer.Option(False, "--json")) -> None:
        """Stop the local service (or delete the app from the cluster)."""
        settings = get_settings()
        if settings.ray.address:
            from ray import serve

            from jobs.runtime import ensure_ray

            ensure_ray(settings)
            serve.delete("query")
            emit_json({"deleted": "query"}) if as_json else typer.echo("deleted app 'query'")
            return
        state = _read_state()
        if not state or not _alive(state["pid"]):
            _state_file().unlink(missing_ok=True)
            raise fail("the query service is not running", hint="start it with `covary serve up`")
        os.kill(state["pid"], signal.SIGTERM)
        for _ in range(60):
            if not _alive(state["pid"]):
                break
            time.sleep(0.5)
        else:
            os.kill(state["pid"], signal.SIGKILL)
        _state_file().unlink(missing_ok=True)
        emit_json({"stopped": state["pid"]}) if as_json else typer.echo(f"stopped (pid {state['pid']})")

    @serve_app.command("status")
    def status(
        token: str = typer.Option(None, envvar="COVARY_TOKEN", help="Token for health details."),
        url: str = typer.Option(None, help="Service URL (default: the one `serve up` started)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Is the service live? With a token: engine snapshot, tables, audit counters."""
        state = _read_state() or {}
        settings = get_settings()
        target = url or state.get("url") or f"http://{settings.serve.host}:{settings.serve.port}"
        out = _probe(target, token) | {"pid": state.get("pid"), "pid_alive": bool(state) and _alive(state["pid"])}
        if as_json:
            emit_json(out)
        else:
            typer.echo(f"{target}: {'live' if out.get('live') else 'not answering'}")
            if "health" in out:
                typer.echo(json.dumps(out["health"], indent=2, default=str))
        if not out.get("live"):
            raise typer.Exit(1)

    def _store() -> Any:
        from serve.auth import KeyStore

        return KeyStore(get_settings().api_keys_path)

    @keys_app.command("create")
    def keys_create(
        role: str = typer.Option(..., help="viewer | analyst | admin"),
        name: str = typer.Option("", help="Who or what the key is for."),
        grant: list[str] = typer.Option([], "--grant", help="Extra permission: pii (read personal data unmasked)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Create a key; the token is printed once (only its hash is stored)."""
        key, token = _store().create(role, name=name, grants=tuple(grant))
        if as_json:
            emit_json(key.public() | {"token": token})
            return
        typer.echo(f"key {key.key_id} ({key.role}) created; token (shown once):")
        typer.echo(token)

    @keys_app.command("list")
    def keys_list(as_json: bool = typer.Option(False, "--json")) -> None:
        """Key ids, roles and names (never secrets)."""
        keys = [k.public() for k in _store().list()]
        if as_json:
            emit_json(keys)
            return
        out = Table("key id", "role", "name", "created", "revoked")
        for k in keys:
            out.add_row(k["key_id"], k["role"], k["name"], k["created_at"], str(k["revoked"]))
        console.print(out)

    @keys_app.command("revoke")
    def keys_revoke(key_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
        """Revoke a key (takes effect on the next request; the file is re-read when it changes)."""
        key = _store().revoke(key_id)
        emit_json(key.public()) if as_json else typer.echo(f"revoked {key.key_id}")
