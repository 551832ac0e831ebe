"""Helpers for connector tests: fixture directories on tmp_path served by the real replay server, and one
replay server of the built-in connectors' bundled recordings (``replay``, ``spec_for``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

# tests/ is on sys.path (pytest prepends conftest dirs) and tests/lakehouse, tests/connectors ... would shadow the real
# packages as namespace packages; with the repo root on sys.path the real (regular) packages win.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)


def write_fixtures(directory: Path, routes: list[dict[str, Any]], files: dict[str, Any] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.yaml").write_text(yaml.safe_dump({"routes": routes}), encoding="utf-8")
    for name, data in (files or {}).items():
        (directory / name).write_bytes(orjson.dumps(data))
    return directory


def items(n: int, *, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"item {i}",
            "score": round(i * 1.5, 2),
            "updated_at": f"2024-01-{1 + i % 28:02d}T00:00:{i % 60:02d}Z",
        }
        for i in range(start, start + n)
    ]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(routes, files, faults=..., clock=...)`` -> a started ReplayServer mounting them as ``api``."""
    from connectors.replay import ReplayServer

    servers: list[ReplayServer] = []

    def start(routes: list[dict[str, Any]], files: dict[str, Any] | None = None, **kwargs: Any) -> ReplayServer:
        d = write_fixtures(tmp_path / f"fx{len(servers)}", routes, files)
        server = ReplayServer({"api": d}, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(autouse=True)
def _home(covary_home: Path) -> Path:
    return covary_home


@pytest.fixture
def make_items() -> Any:
    return items


@pytest.fixture(scope="module")
def replay() -> Iterator[Any]:
    """One replay server of every built-in connector's recording per test module."""
    from connectors.replay import ReplayServer
    from jobs.ingest.plan import SOURCES

    with ReplayServer(list(SOURCES)) as server:
        yield server


@pytest.fixture
def spec_for(replay: Any) -> Any:
    """``spec_for(name, **changes)``: the connector's parsed spec with the recording's credentials."""
    import connectors.tmdb.client  # noqa: F401
    from connectors.core import parse_spec
    from jobs.ingest.plan import source_spec

    def make(name: str, **changes: Any) -> Any:
        spec = source_spec(name, replay_url=replay.base_url(name)) | changes
        return parse_spec(spec, origin=name)

    return make
