"""Time travel, history, optimize/z-order, vacuum within retention, checkpoints, DuckDB views."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from lakehouse import Lakehouse, LakehouseError
from lakehouse.maintenance import checkpoint, optimize, vacuum
from lakehouse.sql import connect


def _write_versions(lake: Lakehouse, n: int) -> list[int]:
    versions = []
    for i in range(n):
        data = pa.table({"series_id": ["s"], "ts": pa.array([i], pa.date32()), "value": [float(i)]})
        with lake.load("t") as load:
            versions.append(load.write("gold.series_values", data).version)
    return versions


def test_time_travel_by_version_and_timestamp(lake: Lakehouse) -> None:
    versions = _write_versions(lake, 3)
    assert lake.read("gold.series_values", version=versions[0]).num_rows == 1
    assert lake.read("gold.series_values").num_rows == 3
    ts = lake.history("gold.series_values")[0]["timestamp"]  # newest commit, ms since epoch
    assert isinstance(ts, int)


def test_vacuum_keeps_time_travel_within_retention(lake: Lakehouse) -> None:
    _write_versions(lake, 4)
    before = lake.table("gold.series_values").version()
    optimize(lake, "gold.series_values")  # compaction tombstones the small files
    assert lake.read("gold.series_values").num_rows == 4
    # retention 1h covers every version written in this test: nothing referenced may go
    result = vacuum(lake, "gold.series_values", retention_hours=1, dry_run=False)
    assert result["files"] == 0
    for version in range(1, before + 1):
        assert lake.read("gold.series_values", version=version).num_rows == version
    # a retention of 0 removes the tombstoned files, and only then old versions become unreadable
    time.sleep(0.01)
    removed = vacuum(lake, "gold.series_values", retention_hours=0, dry_run=False, force=True)
    assert removed["files"] >= 1
    assert lake.read("gold.series_values").num_rows == 4


def test_vacuum_below_minimum_retention_is_refused(lake: Lakehouse) -> None:
    _write_versions(lake, 1)
    with pytest.raises(LakehouseError, match="below the minimum"):
        vacuum(lake, "gold.series_values", retention_hours=0, dry_run=True)


def test_zorder_and_checkpoint(lake: Lakehouse) -> None:
    _write_versions(lake, 3)
    result = optimize(lake, "gold.series_values")  # declared zorder_by=(series_id, ts)
    assert result["zorder"] == ["series_id", "ts"]
    assert checkpoint(lake, "gold.series_values")["checkpointed"]
    assert lake.read("gold.series_values").num_rows == 3


def test_duckdb_views_show_only_finished_loads(lake: Lakehouse) -> None:
    _write_versions(lake, 2)
    unfinished = lake.loads.start("x")
    lake.write(
        "gold.series_values",
        pa.table({"series_id": ["z"], "ts": pa.array([0], pa.date32()), "value": [1.0]}),
        load_id=unfinished,
    )
    con = connect(lake, ["gold.series_values"])
    assert con.execute("select count(*) from gold.series_values").fetchone() == (2,)


def test_stats_from_log(lake: Lakehouse) -> None:
    _write_versions(lake, 2)
    stats = lake.stats("gold.series_values")
    assert stats["exists"] and stats["rows"] == 2 and stats["version"] == 2
    assert lake.stats("gold.series_catalog")["exists"] is False


def test_string_filters_work_on_tables_written_by_merges(lake: Lakehouse) -> None:
    """delta-rs merges may write string_view columns; filters must still work on every file."""
    import pyarrow.compute as pc

    for i in range(3):
        with lake.load("t") as load:
            load.write(
                "gold.series_values",
                pa.table({"series_id": ["a", "b"], "ts": pa.array([i, i], pa.date32()), "value": [1.0, 2.0]}),
            )
    picked = lake.read("gold.series_values", filter=pc.field("series_id") == "a")
    assert picked.num_rows == 3 and set(picked.column("series_id").to_pylist()) == {"a"}
    assert lake.read("gold.series_values", filter=pc.field("series_id").isin(["a", "b"])).num_rows == 6
