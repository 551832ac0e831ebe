"""Ray runtime: local job run, and submission to a real `ray start --head` cluster via the Jobs API."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from covary.cli import main
from covary.errors import TransientError
from jobs.errors import JobFailedError, RayUnavailableError, UnknownJobError
from jobs.runtime import available_jobs, ray_retry_options


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_jobs_are_discovered() -> None:
    assert "demo" in available_jobs()
    assert "runtime" not in available_jobs()


def test_unknown_job_is_a_clear_cli_error(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "run", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown job 'nope'" in err and "available:" in err


def test_retry_options_retry_only_transient_errors() -> None:
    assert ray_retry_options()["retry_exceptions"] == [TransientError]
    assert issubclass(RayUnavailableError, TransientError)
    assert not issubclass(JobFailedError, TransientError)
    assert not issubclass(UnknownJobError, TransientError)


@pytest.mark.usefixtures("ray_local")
def test_demo_job_runs_on_local_ray(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "run", "demo", "--json", "--config-json", '{"steps": ["macro"]}']) == 0
    result = json.loads(capsys.readouterr().out)
    tables = {t["table"]: t for t in result["tables"]}
    assert tables["silver.macro_observations"]["rows"] == 203 * 12
    assert tables["gold.series_catalog"]["rows"] == 12
    # running it again changes nothing: every batch is keyed by the dataset's content hash
    assert main(["job", "run", "demo", "--json", "--config-json", '{"steps": ["macro"]}']) == 0
    again = {t["table"]: t for t in json.loads(capsys.readouterr().out)["tables"]}
    assert again["gold.series_values"]["version"] == tables["gold.series_values"]["version"]


def _pids_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(proc.name))
    return pids


@pytest.fixture
def ray_head(tmp_path: Path):
    """A real single-node Ray cluster of its own (``ray start --head --block``), on free loopback ports.

    Never ``ray stop``: it kills every Ray process on the machine, this session's local Ray included.
    The cluster is torn down by killing its own processes (those under its temp dir).
    """
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent))
    assert ray_bin, "ray CLI not installed in the venv"
    port, dash, agent, grpc, metrics, rt_agent = (_free_port() for _ in range(6))
    env = os.environ | {"RAY_USAGE_STATS_ENABLED": "0"}
    temp_dir = Path("/tmp") / f"rayhead{port}"  # short: unix socket paths are limited to 107 bytes
    cmd = [
        ray_bin,
        "start",
        "--head",
        "--block",
        f"--port={port}",
        f"--dashboard-port={dash}",
        "--num-cpus=1",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        "--node-ip-address=127.0.0.1",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={grpc}",
        f"--metrics-export-port={metrics}",
        f"--runtime-env-agent-port={rt_agent}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]
    head = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.monotonic() + 180
        while True:  # wait for the dashboard (Jobs API) to answer at all
            assert head.poll() is None, "ray start --head exited early"
            try:
                httpx.get(f"{url}/api/version", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "Ray dashboard did not come up"
                time.sleep(1)
        yield url
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=30)
        for pid in _pids_mentioning(str(temp_dir)):  # daemons that left the process group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_submit_to_ray_cluster_through_jobs_api(
    ray_head: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "cluster-home"
    args = [
        "job",
        "submit",
        "demo",
        "--address",
        ray_head,
        "--no-pip",
        "--wait",
        "--json",
        "--env",
        f"COVARY_HOME={home}",
        "--config-json",
        '{"steps": ["macro"]}',
    ]
    assert main(args) == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED"
    assert (home / "lake" / "gold" / "series_values" / "_delta_log").is_dir()
    sid = result["submission_id"]
    assert main(["job", "status", sid, "--address", ray_head, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "SUCCEEDED"
    assert main(["job", "logs", sid, "--address", ray_head]) == 0
    assert "series" in capsys.readouterr().out
