"""Exactly-once writes: concurrent writers, replays, and a Ray task killed right after its commit."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse import BatchKey, Lakehouse, register
from lakehouse.registry import TableSpec, col

EVENTS = register(
    TableSpec(
        name="bronze.test_events",
        description="Test table: one row per (writer, seq).",
        columns=(
            col("writer", pa.string(), "Writer process.", nullable=False),
            col("seq", pa.int64(), "Batch number within the writer.", nullable=False),
            col("value", pa.float64(), "Payload."),
        ),
    )
)

WRITERS, BATCHES = 8, 50


def _append_many(root: str, writer: int) -> None:
    import tests.lakehouse.test_exactly_once  # noqa: F401  (registers the test table in the child)

    lake = Lakehouse(root, commit_retries=50)
    with lake.load(f"writer-{writer}", load_id=f"load-{writer}") as load:
        for seq in range(BATCHES):
            rows = [{"writer": f"w{writer}", "seq": seq, "value": float(seq)}]
            load.write("bronze.test_events", rows, batch=BatchKey(f"w{writer}", seq + 1))


def _keys(table: pa.Table) -> list[tuple[str, int]]:
    return list(zip(table.column("writer").to_pylist(), table.column("seq").to_pylist(), strict=True))


def test_eight_processes_fifty_appends_each(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    lake = Lakehouse(root)
    lake.ensure("bronze.test_events")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(root, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    data = lake.read("bronze.test_events")
    keys = _keys(data)
    assert len(keys) == WRITERS * BATCHES, "rows lost or duplicated"
    assert len(set(keys)) == WRITERS * BATCHES, "duplicated rows"
    versions = [h["version"] for h in lake.history("bronze.test_events")]
    assert sorted(versions) == list(range(len(versions))), "versions must be unique and consecutive"
    assert max(versions) == WRITERS * BATCHES  # version 0 is the create, then one commit per batch

    # Replaying every committed batch adds nothing.
    with lake.load("replay") as load:
        for w in range(WRITERS):
            for seq in range(BATCHES):
                rows = [{"writer": f"w{w}", "seq": seq, "value": float(seq)}]
                result = load.write("bronze.test_events", rows, batch=BatchKey(f"w{w}", seq + 1))
                assert result.skipped and result.rows == 0
    assert lake.read("bronze.test_events").num_rows == WRITERS * BATCHES
    assert lake.table("bronze.test_events").version() == WRITERS * BATCHES


def test_replay_of_merge_and_overwrite_batches_adds_nothing(lake: Lakehouse) -> None:
    rows = [{"series": "a", "ts": "2020-01-01", "value": 1.0}, {"series": "a", "ts": "2020-04-01", "value": 2.0}]
    data = pa.table({"series": ["a", "a"], "ts": pa.array([18262, 18353], pa.date32()), "value": [1.0, 2.0]})
    assert rows  # documented shape
    with lake.load("t") as load:
        first = load.write("silver.macro_observations", data, batch=BatchKey("macro", 1))
        again = load.write("silver.macro_observations", data, batch=BatchKey("macro", 1))
    assert first.rows == 2 and not first.skipped
    assert again.skipped and again.rows == 0
    assert lake.read("silver.macro_observations").num_rows == 2


@pytest.mark.usefixtures("ray_local")
def test_ray_task_killed_after_commit_is_retried_exactly_once(tmp_path: Path) -> None:
    import ray

    root = str(tmp_path / "lake")
    marker = tmp_path / "crashed-once"

    @ray.remote(max_retries=2)
    def write_then_crash(root: str, marker: str) -> str:
        import os

        import tests.lakehouse.test_exactly_once  # noqa: F401

        lake = Lakehouse(root)
        load_id = lake.loads.start("ray-test", load_id="ray-load-1")
        rows = [{"writer": "ray", "seq": i, "value": 1.0} for i in range(10)]
        result = lake.write("bronze.test_events", rows, load_id=load_id, batch=BatchKey("ray/partition-7", 1))
        if not Path(marker).exists():
            Path(marker).write_text("x")
            os._exit(1)  # the worker dies right after its commit, before reporting success
        lake.loads.finish(load_id, rows=result.rows)
        return "skipped" if result.skipped else "written"

    outcome = ray.get(write_then_crash.remote(root, str(marker)))
    assert marker.exists(), "the first attempt must have crashed"
    assert outcome == "skipped", "the retry must find the batch committed"
    lake = Lakehouse(root)
    data = lake.read("bronze.test_events")
    assert data.num_rows == 10
    assert sorted(data.column("seq").to_pylist()) == list(range(10))


def test_crashed_load_is_adopted_by_resumed_load(lake: Lakehouse) -> None:
    rows = [{"writer": "a", "seq": 1, "value": 1.0}]
    crashed = lake.loads.start("src")
    lake.write("bronze.test_events", rows, load_id=crashed, batch=BatchKey("src/page-1"))
    # the process died here: the load never finished, so readers do not see its rows
    assert lake.read("bronze.test_events").num_rows == 0
    with lake.load("src") as resumed:
        result = resumed.write("bronze.test_events", rows, batch=BatchKey("src/page-1"))
        assert result.skipped and result.committed_by_load == crashed
    assert lake.read("bronze.test_events").num_rows == 1
    assert lake.loads.get(crashed)["adopted_by"] == resumed.load_id


def test_unfinished_and_failed_loads_are_invisible(lake: Lakehouse) -> None:
    running = lake.loads.start("a")
    lake.write("bronze.test_events", [{"writer": "r", "seq": 1, "value": 1.0}], load_id=running)
    with pytest.raises(RuntimeError), lake.load("b") as load:
        load.write("bronze.test_events", [{"writer": "f", "seq": 1, "value": 1.0}])
        raise RuntimeError("boom")
    with lake.load("c") as load:
        load.write("bronze.test_events", [{"writer": "ok", "seq": 1, "value": 1.0}])
    visible = lake.read("bronze.test_events")
    assert visible.column("writer").to_pylist() == ["ok"]
    assert lake.read("bronze.test_events", include_unfinished=True).num_rows == 3
    assert lake.loads.status(running) == "running"
    failed = next(r for r in lake.loads.list() if r["source"] == "b")
    assert failed["status"] == "failed" and "boom" in failed["error"]
    lake.loads.finish(running, rows=1)
    assert sorted(lake.read("bronze.test_events").column("writer").to_pylist()) == ["ok", "r"]


def test_merge_upserts_on_keys_last_row_wins(lake: Lakehouse) -> None:
    batch1 = pa.table({"series": ["a", "b"], "ts": pa.array([0, 0], pa.date32()), "value": [1.0, 2.0]})
    batch2 = pa.table({"series": ["a", "a", "c"], "ts": pa.array([0, 0, 0], pa.date32()), "value": [5.0, 6.0, 7.0]})
    with lake.load("m") as load:
        load.write("silver.macro_observations", batch1)
        load.write("silver.macro_observations", batch2)
    data = lake.read("silver.macro_observations").sort_by("series")
    assert data.column("series").to_pylist() == ["a", "b", "c"]
    assert data.column("value").to_pylist() == [6.0, 2.0, 7.0]


def test_overwrite_partitions_replaces_only_those(lake: Lakehouse) -> None:
    def q(source: str, reason: str) -> dict:
        return {
            "load_id": "x",
            "source": source,
            "reason": reason,
            "raw": "{}",
            "quarantined_at": datetime(2026, 1, 1, tzinfo=UTC),
        }

    lake.write("ops.quarantine", [q("s1", "old"), q("s2", "keep")])
    lake.write("ops.quarantine", [q("s1", "new")], mode="overwrite_partitions")
    data = lake.read("ops.quarantine")
    got = sorted(zip(data.column("source").to_pylist(), data.column("reason").to_pylist(), strict=True))
    assert got == [("s1", "new"), ("s2", "keep")]
    assert pc.sum(pc.equal(data.column("source"), "s1")).as_py() == 1
