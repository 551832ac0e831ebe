"""A real two-node Ray cluster on this machine, for tests: a head and a worker node as separate raylets.

Both nodes run ``ray start --block`` in their own process group, with token auth on
(``RAY_AUTH_MODE=token``; the token lives in a 0600 file named by ``RAY_AUTH_TOKEN_PATH``, never in an
environment variable's value), on OS-assigned free loopback ports and their own short temp dirs.
Teardown kills exactly those processes (never ``ray stop``: it kills every Ray on the machine).

Usage::

    with two_node_cluster() as cluster:
        cluster.dashboard_url, cluster.gcs_address, cluster.head_node_id, cluster.worker_node_id
        subprocess.run([...], env=cluster.client_env())  # talks to the cluster with the token

In pytest use the session fixture ``ray_two_nodes`` (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    """An OS-assigned free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RayCluster:
    """Where a running test cluster answers, and how to authenticate to it."""

    gcs_address: str  # 127.0.0.1:PORT (ray.init(address=...), ray start --address=...)
    dashboard_url: str  # http://127.0.0.1:PORT: the Jobs API and the state API
    head_node_id: str
    worker_node_id: str
    token: str
    token_path: Path
    temp_dirs: tuple[Path, Path]  # head, worker (each holds session_latest/ with the logs)
    node_env: dict[str, str] = field(default_factory=dict)  # extra env the raylets were started with
    private_dir: Path | None = None  # same path on both nodes, different disks (None: no mount namespaces)

    @property
    def node_ids(self) -> tuple[str, str]:
        return (self.head_node_id, self.worker_node_id)

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a client process (covary CLI, ray CLI) of this cluster."""
        env = dict(os.environ if base is None else base)
        env.pop("RAY_AUTH_TOKEN", None)
        env.update(
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN_PATH=str(self.token_path),
            RAY_ADDRESS=self.dashboard_url,
            COVARY_RAY__DASHBOARD_URL=self.dashboard_url,
            RAY_USAGE_STATS_ENABLED="0",
        )
        return env

    def api(self, path: str, **params: Any) -> Any:
        """GET a dashboard/state API path (``/api/v0/tasks`` ...) with the token; returns the JSON."""
        response = httpx.get(f"{self.dashboard_url}{path}", params=params, headers=self.auth_headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def tasks(self, *, limit: int = 10000) -> list[dict[str, Any]]:
        """Every task the cluster remembers (state API), each with its ``node_id`` and ``name``."""
        body = self.api("/api/v0/tasks", limit=limit, detail="true", exclude_driver="true")
        return list(body["data"]["result"]["result"])

    def nodes(self) -> list[dict[str, Any]]:
        body = self.api("/api/v0/nodes", limit=100, detail="true")
        return list(body["data"]["result"]["result"])


def _pids_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(proc.name))
    return pids


def _kill(procs: list[subprocess.Popen[bytes]], temp_dirs: list[Path]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    for temp_dir in temp_dirs:  # raylet/GCS/workers that left the process group
        for pid in _pids_mentioning(str(temp_dir)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _can_unshare() -> bool:
    """Whether this process may give the worker raylet its own mount namespace (root + util-linux)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "true"], check=False, capture_output=True, timeout=30)
    return probe.returncode == 0


def _ray_bin() -> str:
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent))
    if not ray_bin:
        raise RuntimeError("ray CLI not installed beside this interpreter")
    return ray_bin


def _node_args(temp_dir: Path, cpus: int, object_store_mb: int, resources: dict[str, float]) -> list[str]:
    return [
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={cpus}",
        "--num-gpus=0",
        f"--object-store-memory={object_store_mb * 1024 * 1024}",
        f"--resources={json.dumps(resources)}",
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]


@contextlib.contextmanager
def two_node_cluster(*, attempts: int = 3, **kwargs: Any) -> Iterator[RayCluster]:
    """Start head + worker raylets with token auth; yield a :class:`RayCluster`; kill both on exit.

    A loaded machine sometimes loses a Ray daemon during start-up (``ray start --block`` then tears the
    node down): up to ``attempts`` fresh clusters are tried. Keyword arguments: see ``_cluster_once``.
    """
    for attempt in range(1, attempts + 1):
        manager = _cluster_once(**kwargs)
        try:
            cluster = manager.__enter__()
            break
        except RuntimeError:
            if attempt == attempts:
                raise
    try:
        yield cluster
    except BaseException:
        if not manager.__exit__(*sys.exc_info()):
            raise
    else:
        manager.__exit__(None, None, None)


@contextlib.contextmanager
def _cluster_once(
    *,
    head_cpus: int = 1,
    worker_cpus: int = 1,
    object_store_mb: int = 128,
    env: Mapping[str, str] | None = None,
    startup_timeout_s: float = 300,
) -> Iterator[RayCluster]:
    """One try at the cluster.

    ``env`` is added to both raylets' environment (workers inherit it): e.g. ``COVARY_SECRETS_FILE``
    or S3 endpoint settings, never secret values. Custom resources ``node:head``/``node:worker``
    style names are avoided; each node gets ``covary_head`` or ``covary_worker`` = 1 for pinning.
    """
    ray_bin = _ray_bin()
    tag = secrets.token_hex(3)
    head_tmp, worker_tmp = Path(f"/tmp/rh{tag}"), Path(f"/tmp/rw{tag}")  # short: unix socket paths <= 107 B
    auth_dir = Path(f"/tmp/ra{tag}")
    auth_dir.mkdir(mode=0o700)
    token = secrets.token_hex(32)
    token_path = auth_dir / "auth_token"
    token_path.touch(mode=0o600)
    token_path.write_text(token)
    node_env = dict(env or {})
    private_dir: Path | None = None
    if _can_unshare():
        private_dir = auth_dir / "private"
        private_dir.mkdir()
    base_env = {k: v for k, v in os.environ.items() if k not in {"RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_JOB_ID"}}
    ray_env = (
        base_env
        | {
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(token_path),
            "HF_HUB_OFFLINE": "1",
        }
        | node_env
    )
    port, dash, client_port = free_port(), free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    logs = [(auth_dir / "head.log").open("wb"), (auth_dir / "worker.log").open("wb")]
    try:
        head_cmd = [
            ray_bin,
            "start",
            "--head",
            f"--port={port}",
            f"--ray-client-server-port={client_port}",
            "--include-dashboard=true",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dash}",
            *_node_args(head_tmp, head_cpus, object_store_mb, {"covary_head": 1}),
        ]
        procs.append(
            subprocess.Popen(head_cmd, env=ray_env, stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True)
        )
        url = f"http://127.0.0.1:{dash}"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + startup_timeout_s

        def _wait(what: str, ready: Any) -> Any:
            while True:
                for proc, log in zip(procs, ("head.log", "worker.log"), strict=False):
                    if proc.poll() is not None:
                        raise RuntimeError(f"ray start exited early: {(auth_dir / log).read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                    if (result := ready()) is not None:
                        return result
                if time.monotonic() > deadline:
                    raise RuntimeError(f"two-node Ray cluster: {what} not ready after {startup_timeout_s:.0f}s")
                time.sleep(1.0)

        def _alive_nodes() -> list[dict[str, Any]]:
            r = httpx.get(f"{url}/api/v0/nodes", params={"detail": "true"}, headers=headers, timeout=10)
            r.raise_for_status()
            return [n for n in r.json()["data"]["result"]["result"] if n["state"] == "ALIVE"]

        from jobs.local_cluster import _listening

        # the Ray client server is the head's last daemon: once it listens, start-up is over
        head_nodes = _wait("head node", lambda: (_alive_nodes() or None) if _listening(client_port) else None)
        worker_cmd = [
            ray_bin,
            "start",
            f"--address=127.0.0.1:{port}",
            *_node_args(worker_tmp, worker_cpus, object_store_mb, {"covary_worker": 1}),
        ]
        if private_dir is not None:  # the worker sees an empty tmpfs at private_dir: a disk of its own
            worker_cmd = [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                'mount -t tmpfs -o size=64m tmpfs "$0" && exec "$@"',
                str(private_dir),
                *worker_cmd,
            ]
        procs.append(
            subprocess.Popen(worker_cmd, env=ray_env, stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True)
        )
        nodes = _wait("worker node", lambda: n if len(n := _alive_nodes()) >= 2 else None)
        head_id = head_nodes[0]["node_id"]
        (worker_id,) = [n["node_id"] for n in nodes if n["node_id"] != head_id]
        _wait(  # the Jobs API answers "No available agent" until the head's job agent is up
            "jobs API", lambda: True if httpx.get(f"{url}/api/jobs/", headers=headers, timeout=10).is_success else None
        )
        yield RayCluster(
            gcs_address=f"127.0.0.1:{port}",
            dashboard_url=url,
            head_node_id=head_id,
            worker_node_id=worker_id,
            token=token,
            token_path=token_path,
            temp_dirs=(head_tmp, worker_tmp),
            node_env=node_env,
            private_dir=private_dir,
        )
    finally:
        _kill(procs, [head_tmp, worker_tmp])
        for log in logs:
            log.close()
        for path in (head_tmp, worker_tmp, auth_dir):
            shutil.rmtree(path, ignore_errors=True)


__all__ = ["RayCluster", "free_port", "two_node_cluster"]
