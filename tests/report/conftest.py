"""Report fixtures: the planted lake with two correlation runs (so there are changes to report)."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse import Lakehouse
from tests.rag.planted import build


@pytest.fixture(scope="module")
def report_lake(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    lake = Lakehouse(tmp_path_factory.mktemp("report") / "lake")
    runs = build(lake)
    return {"lake": lake, "runs": runs}
