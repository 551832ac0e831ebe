"""One Delta commit per partition per table, and exactly-once when a partition dies inside its load.

Runs the job with ``executor: local`` (every partition in this process, no Ray) against the replay server.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from lakehouse import Lakehouse

FRED = {"fred": {"series": ["UNRATE", "SP500"]}}  # 4 partitions: series + observations of each
PER_PARTITION = ("bronze.api_records", "bronze.api_pages", "ops.cursors")


@pytest.fixture
def home_lake(covary_home: Path) -> Lakehouse:
    from covary.settings import get_settings

    return Lakehouse.from_settings(get_settings())


def _job(config: dict[str, Any]) -> dict[str, Any]:
    from jobs.ingest import main

    return main({"replay": True, "sources": ["fred"], "options": FRED, "executor": "local"} | config)


def _commits(lake: Lakehouse, table: str) -> list[dict[str, Any]]:
    return [h for h in lake.history(table) if h.get("operation") != "CREATE TABLE"]


def test_each_partition_commits_once_per_table(home_lake: Lakehouse) -> None:
    result = _job({})
    lake = home_lake
    parts = result["sources"]["fred"]["partitions"]
    assert parts == 4
    for table in PER_PARTITION:
        assert len(_commits(lake, table)) == parts, table
    # the load ledger: one 'finished' event per partition (no 'running', no second load for silver), plus
    # the job's finalize load (announced) and the gold writer's
    events = lake.read("ops.loads").to_pylist()
    fred = [e for e in events if e["source"] == "fred"]
    assert len(fred) == parts and {e["status"] for e in fred} == {"finished"}
    assert len(_commits(lake, "ops.loads")) == parts + len({e["load_id"] for e in events if e["source"] != "fred"}) * 2
    # silver: one commit per partition that maps to the table, in the partition's load
    loads_of = Counter(h.get("covary.load_id") for h in _commits(lake, "silver.fred_observations"))
    assert len(loads_of) == 2 and set(loads_of.values()) == {1}
    assert set(loads_of) <= {e["load_id"] for e in fred}
    assert lake.read("silver.fred_observations").num_rows == 203 + 123


def test_partition_dying_inside_its_load_lands_exactly_once_on_resume(home_lake: Lakehouse, tmp_path: Path) -> None:
    from jobs.ingest import resume_key
    from jobs.ingest.errors import PartitionFailedError

    marker = tmp_path / "die-in-load"
    victim = 'fred/observations/{"series_id":"UNRATE"}'
    chaos = {"marker": str(marker), "partition_id": victim, "mode": "raise", "at": "in_load"}
    with pytest.raises(PartitionFailedError, match="UNRATE"):
        _job({"chaos": chaos})
    lake = home_lake
    assert marker.exists()
    # silver was committed before the failure, the pages checkpoint and the 'finished' event were not
    assert lake.read("silver.fred_observations", include_unfinished=True).num_rows == 203 + 123
    assert lake.read("silver.fred_observations").num_rows == 123  # the dead load's rows are invisible
    failed = [e for e in lake.read("ops.loads").to_pylist() if e["status"] == "failed"]
    assert len(failed) == 1 and "chaos" in failed[0]["error"]
    result = _job({"run_key": resume_key(lake)})
    fred = result["sources"]["fred"]
    assert fred["skipped"] == 3 and fred["requests"] > 0  # only the victim ran again (no checkpoint: refetch)
    expr = (pc.field("source") == "fred") & (pc.field("endpoint") == "observations")
    bronze = lake.read("bronze.api_records", filter=expr, columns=["partition", "record_key"]).to_pylist()
    unrate = [r["record_key"] for r in bronze if "UNRATE" in r["partition"]]
    assert len(unrate) == len(set(unrate)) == 203
    silver = lake.read("silver.fred_observations").filter(pc.field("series_id") == "UNRATE")
    assert silver.num_rows == 203  # the dead load's silver, adopted: not written twice
    assert lake.read("silver.fred_observations", include_unfinished=True).num_rows == 203 + 123
    adopted = lake.loads.get(failed[0]["load_id"])
    assert adopted["status"] == "finished" and adopted["adopted_by"]
