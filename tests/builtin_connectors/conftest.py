"""Fixtures of the built-in connector tests: one replay server of all eight recordings per module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobs.ingest.plan import SOURCES, source_spec


@pytest.fixture(scope="module")
def replay() -> Iterator[Any]:
    from connectors.replay import ReplayServer

    with ReplayServer(list(SOURCES)) as server:
        yield server


@pytest.fixture
def spec_for(replay: Any) -> Any:
    """``spec_for(name)``: the connector's parsed spec with the recording's credentials."""
    import connectors.tmdb.client  # noqa: F401
    from connectors.core import parse_spec

    def make(name: str, **changes: Any) -> Any:
        spec = source_spec(name, replay_url=replay.base_url(name)) | changes
        return parse_spec(spec, origin=name)

    return make
