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
    # the node has covary's environment installed: its python first on PATH (`--no-pip` runs `python -m ...`)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = os.environ | {"RAY_USAGE_STATS_ENABLED": "0", "PATH": path}
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
    status = json.loads(capsys.readouterr().out)
    assert status["status"] == "SUCCEEDED"
    # the demo is orchestrated by the CLI, which the cluster runs from the job's working dir
    assert status["entrypoint"].startswith("python -m covary job run demo"), "never this machine's interpreter path"
    assert sys.executable not in status["entrypoint"]
    assert main(["job", "logs", sid, "--address", ray_head]) == 0
    assert "series" in capsys.readouterr().out


def test_uploaded_working_dir_leaves_out_envs_caches_and_local_state(tmp_path: Path) -> None:
    """The zip Ray builds from the repository with covary's excludes (even if .gitignore were ignored)."""
    import zipfile

    from ray._private.runtime_env.packaging import create_package

    from jobs.runtime import REPO_ROOT, WORKING_DIR_EXCLUDES

    target = tmp_path / "pkg.zip"
    create_package(str(REPO_ROOT), target, include_gitignore=False, excludes=list(WORKING_DIR_EXCLUDES))
    names = zipfile.ZipFile(target).namelist()
    assert "jobs/runtime.py" in names and "requirements.lock" in names
    banned = (".venv/", ".covary/", ".git/", "test-artifacts/", ".pytest_cache/", ".ruff_cache/", ".mypy_cache/")
    leaked = [n for n in names if n.startswith(banned) or "__pycache__/" in n or n.endswith((".pyc", ".db"))]
    assert not leaked, leaked[:10]
    assert target.stat().st_size < 64 * 1024 * 1024


def test_local_execution_is_for_small_jobs_only(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "run", "correlate", "--local"]) == 2
    err = capsys.readouterr().err
    assert "cannot run with --local" in err and "kpi" in err


def test_local_kpi_job_runs_without_ray(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    import ray

    from covary.settings import get_settings
    from lakehouse import Lakehouse

    lake = Lakehouse.from_settings(get_settings())
    rows = [
        {
            "date": date(2024, 1, d),
            "platform": "google_ads",
            "campaign": "google-search-US",
            "country": "US",
            "device": "mobile",
            "spend": 10.0 * d,
            "impressions": 1000,
            "clicks": 50,
            "conversions": 5,
            "revenue": 30.0 * d,
        }
        for d in range(1, 8)
    ]
    with lake.load("synth") as load:
        load.write("silver.synth_marketing", rows)
    was = ray.is_initialized()
    assert main(["job", "run", "kpi", "--local", "--json"]) == 0, capsys.readouterr().err
    assert ray.is_initialized() == was, "--local must not start or join Ray"
    assert lake.read("gold.marketing_kpis").num_rows > 0
