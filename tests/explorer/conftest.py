"""Explorer fixtures: the planted, indexed lake on a real local Serve app (module scope, shut down after)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.rag.env import make_env, serve_app


@pytest.fixture(scope="module")
def explorer_app(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    env = make_env(tmp_path_factory.mktemp("explorer"), kinds=["series", "finding", "user"])  # small: fast
    with serve_app(env, tmp_path_factory.mktemp("explorer-keys")) as app:
        yield app
