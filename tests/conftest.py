"""Shared fixtures: real Delta tables on tmp_path, one real local Ray per test session."""

from __future__ import annotations

import os
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
def artifacts_dir() -> Path:
    """Where tests save artefacts people look at (screenshots, reports)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
