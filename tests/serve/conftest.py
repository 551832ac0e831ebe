"""Fixtures for the query service: a lake with planted series, keys, and one real Serve app per session."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from lakehouse import BatchKey, Lakehouse

QUARTERS = [date(y, m, 1) for y in range(2000, 2010) for m in (1, 4, 7, 10)]


def planted_values() -> dict[str, list[float]]:
    """Three quarterly series with known structure: a trend, a noisy copy of its changes, and a cycle."""
    trend = [100.0 + 2.0 * i + (3.0 if i % 4 == 1 else 0.0) for i in range(len(QUARTERS))]
    follower = [50.0]
    for i in range(1, len(QUARTERS)):
        follower.append(follower[-1] + 0.5 * (trend[i] - trend[i - 1]) + (0.2 if i % 3 == 0 else -0.1))
    cycle = [5.0 + 2.0 * math.sin(i / 2.0) for i in range(len(QUARTERS))]
    return {"test.output": trend, "test.follower": follower, "test.jobless": cycle}


CATALOG = [
    {
        "series_id": "test.output",
        "description": "Real gross domestic product",
        "unit": "bn",
        "frequency": "Q",
        "aggregation": "mean",
        "source": "planted",
        "lineage": None,
        "domain": "economy",
    },
    {
        "series_id": "test.follower",
        "description": "Household consumption spending",
        "unit": "bn",
        "frequency": "Q",
        "aggregation": "mean",
        "source": "planted",
        "lineage": None,
        "domain": "economy",
    },
    {
        "series_id": "test.jobless",
        "description": "Unemployment rate",
        "unit": "percent",
        "frequency": "Q",
        "aggregation": "mean",
        "source": "planted",
        "lineage": None,
        "domain": "labour",
    },
]


def write_planted(lake: Lakehouse) -> None:
    values = [
        {"series_id": sid, "ts": ts, "value": v}
        for sid, series in planted_values().items()
        for ts, v in zip(QUARTERS, series, strict=True)
    ]
    with lake.load("tests.serve") as load:
        load.write("gold.series_catalog", CATALOG, batch=BatchKey("tests/serve/catalog"))
        load.write("gold.series_values", values, batch=BatchKey("tests/serve/values"))


@pytest.fixture
def planted_lake(tmp_path: Path) -> Lakehouse:
    lake = Lakehouse(tmp_path / "lake")
    write_planted(lake)
    return lake


@pytest.fixture(scope="session")
def session_lake(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lake = Lakehouse(tmp_path_factory.mktemp("serve") / "lake")
    write_planted(lake)
    return lake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="package")
def serve_app(ray_local: None, session_lake: Lakehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One real Serve instance (HTTP proxy on a free port) running the query app; tokens for each role."""
    from ray import serve

    from serve.auth import KeyStore
    from serve.query.app import build_app
    from tests._serve import start_fresh_serve, stop_serve

    keys_path = tmp_path_factory.mktemp("keys") / "keys.yaml"
    store = KeyStore(keys_path)
    tokens = {role: store.create(role, name=f"test {role}")[1] for role in ("viewer", "analyst", "admin")}
    port = free_port()
    start_fresh_serve(port)
    args = {
        "lake_root": session_lake.root,
        "api_keys_path": str(keys_path),
        "audit_flush_s": 0.5,
        "engine": {"timeout_s": 3.0, "max_rows": 500, "threads": 1},
        "rate_limits": {"viewer": 0, "analyst": 0, "admin": 0},
    }
    serve.run(build_app(args), name="query", route_prefix="/")
    yield {
        "url": f"http://127.0.0.1:{port}",
        "tokens": tokens,
        "lake": session_lake,
        "keys": store,
        "keys_path": keys_path,
    }
    stop_serve()
