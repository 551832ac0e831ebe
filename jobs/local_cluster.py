"""A persistent local Ray cluster (``covary up`` / ``covary down``) that every covary command attaches to.

Starting Ray per command costs 10-60 s and, on a loaded machine, fails with "node timed out during
startup". ``covary up`` starts one head (``ray start --head --block``, token auth on, loopback, free
ports) in its own session and records it in ``COVARY_HOME/ray/cluster.json``; ``ensure_ray`` and
``covary job submit`` use that record while the head is alive. ``covary down`` kills exactly the
processes of that head (never ``ray stop``, which kills every Ray on the machine).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from covary.settings import Settings, get_settings
from jobs.errors import RayUnavailableError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def state_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.home.resolve() / "ray" / "cluster.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current(settings: Settings | None = None) -> dict[str, Any] | None:
    """The running cluster recorded by ``covary up`` (None if there is none or its head died)."""
    path = state_path(settings)
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not _alive(int(info.get("pid", 0))):
        return None
    return info


def up(
    *, num_cpus: int | None = None, settings: Settings | None = None, timeout_s: float = 300, attempts: int = 3
) -> dict[str, Any]:
    """Start the persistent head (or return the running one).

    On a loaded machine a Ray daemon may time out during start-up and ``ray start --block`` then tears
    the node down; up to ``attempts`` fresh starts are tried before giving up.
    """
    settings = settings or get_settings()
    if (running := current(settings)) is not None:
        return running | {"already_running": True}
    for attempt in range(1, attempts + 1):
        try:
            return _start(num_cpus=num_cpus, settings=settings, timeout_s=timeout_s)
        except RayUnavailableError:
            if attempt == attempts:
                raise
            time.sleep(2.0 * attempt)
    raise AssertionError("unreachable")


def _start(*, num_cpus: int | None, settings: Settings, timeout_s: float) -> dict[str, Any]:
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if not ray_bin:
        raise RayUnavailableError("the ray CLI is not installed", hint="pip install 'ray[default]'")
    state = state_path(settings)
    state.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tag = hashlib.sha256(str(state).encode()).hexdigest()[:8]
    temp_dir = Path(f"/tmp/covary-ray-{tag}")  # short: Ray's unix socket paths are limited to 107 bytes
    token_path = state.parent / "auth_token"
    if not token_path.exists():
        token_path.touch(mode=0o600)
        token_path.write_text(secrets.token_hex(32))
    port, dash, client = _free_port(), _free_port(), _free_port()
    cmd = [
        ray_bin,
        "start",
        "--head",
        "--block",
        f"--port={port}",
        f"--ray-client-server-port={client}",
        "--node-ip-address=127.0.0.1",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dash}",
        "--include-dashboard=true",
        f"--num-cpus={num_cpus or settings.ray.num_cpus or os.cpu_count() or 2}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]
    env = {k: v for k, v in os.environ.items() if k not in {"RAY_ADDRESS", "RAY_AUTH_TOKEN"}}
    env |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_path), "RAY_USAGE_STATS_ENABLED": "0"}
    log = (state.parent / "head.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{dash}"
    headers = {"Authorization": f"Bearer {token_path.read_text().strip()}"}
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            tail = (state.parent / "head.log").read_text(errors="replace")[-1500:]
            _kill(proc.pid, temp_dir)
            raise RayUnavailableError(f"ray start --head exited ({proc.returncode}): {tail}")
        with contextlib.suppress(httpx.HTTPError, OSError):
            # the Ray client server is the last daemon to come up
            if httpx.get(f"{url}/api/jobs/", headers=headers, timeout=5).is_success and _listening(client):
                break
        if time.monotonic() > deadline:
            _kill(proc.pid, temp_dir)
            raise RayUnavailableError(f"the local Ray head did not come up within {timeout_s:.0f}s")
        time.sleep(1.0)
    time.sleep(3.0)  # `ray start --block` tears the node down when a daemon fails late in start-up
    if proc.poll() is not None:
        _kill(proc.pid, temp_dir)
        raise RayUnavailableError("the local Ray head exited right after start-up")
    info = {
        "pid": proc.pid,
        "gcs_address": f"127.0.0.1:{port}",
        "dashboard_url": url,
        "temp_dir": str(temp_dir),
        "token_path": str(token_path),
        "started_at": time.time(),
    }
    state.write_text(json.dumps(info, indent=2))
    return info


def _listening(port: int) -> bool:
    """Whether some process listens on TCP ``port`` here (Linux /proc; elsewhere assume yes)."""
    found = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            return True
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found = True
    return found


def _kill(pid: int, temp_dir: Path) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for proc in Path("/proc").iterdir():  # daemons that left the process group
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if str(temp_dir) in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    os.kill(int(proc.name), signal.SIGKILL)


def down(settings: Settings | None = None) -> bool:
    """Stop the cluster ``covary up`` started; False if none was running."""
    path = state_path(settings)
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    running = _alive(int(info.get("pid", 0)))
    _kill(int(info["pid"]), Path(info["temp_dir"]))
    shutil.rmtree(info["temp_dir"], ignore_errors=True)
    path.unlink(missing_ok=True)
    return running


def attach_env(info: dict[str, Any]) -> None:
    """Make this process a client of the recorded cluster (token auth by file, never by value)."""
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN_PATH"] = info["token_path"]
    os.environ.pop("RAY_AUTH_TOKEN", None)
    with contextlib.suppress(ImportError, AttributeError):  # Ray caches its config and token at first use
        from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()


__all__ = ["attach_env", "current", "down", "state_path", "up"]
