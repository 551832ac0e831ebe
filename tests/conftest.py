"""Shared fixtures: real Delta tables on tmp_path, one real local Ray per test session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def covary_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh COVARY_HOME for this test; settings are re-read."""
    from covary.settings import reset_settings

    home = tmp_path / "home"
    monkeypatch.setenv("COVARY_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    reset_settings()
    yield home
    reset_settings()


@pytest.fixture
def lake(tmp_path: Path):
    from lakehouse import Lakehouse

    return Lakehouse(tmp_path / "lake")


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """One local Ray for the whole session (2 CPUs), shut down at the end."""
    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            namespace="covary-tests",
            log_to_driver=False,
            runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1"}},
        )
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto, PyPI) on loopback for the session; see tests/_cluster/s3.py."""
    from tests._cluster.s3 import NO_METADATA_ENV, moto_server

    for key, value in NO_METADATA_ENV.items():
        os.environ.setdefault(key, value)
    with moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def ray_two_nodes():
    """A real two-node Ray cluster (head + worker raylets, token auth) for the session; see tests/_cluster."""
    from tests._cluster.ray_cluster import two_node_cluster

    # the nodes have covary's environment installed (its python first on PATH), as a cluster admin sets up
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with two_node_cluster(env={"AWS_EC2_METADATA_DISABLED": "true", "PATH": path}) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save artefacts people look at (screenshots, reports)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
