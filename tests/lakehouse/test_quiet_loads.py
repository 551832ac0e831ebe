"""Loads that commit one ledger event (``announce=False``): invisible until finished, adopted after a crash."""

from __future__ import annotations

import pytest

from lakehouse import BatchKey, Lakehouse
from tests.lakehouse.test_exactly_once import EVENTS

ROWS = [{"writer": "q", "seq": 1, "value": 1.0}, {"writer": "q", "seq": 2, "value": 2.0}]


def _ledger_commits(lake: Lakehouse) -> int:
    """Appends to the load ledger (its version 0 is the create)."""
    return lake.table("ops.loads").version() if lake.exists("ops.loads") else 0


def test_a_quiet_load_commits_only_its_finished_event(lake: Lakehouse) -> None:
    assert EVENTS.name == "bronze.test_events"
    with lake.load("quiet", announce=False) as load:
        load.write(EVENTS.name, ROWS, batch=BatchKey("quiet/1"))
        assert not lake.exists("ops.loads")  # no 'running' event
        assert lake.read(EVENTS.name).num_rows == 0  # invisible until it finishes
        assert lake.loads.status(load.load_id) is None
    assert _ledger_commits(lake) == 1  # the one 'finished' event
    assert lake.loads.status(load.load_id) == "finished" and lake.loads.get(load.load_id)["rows"] == 2
    assert lake.read(EVENTS.name).num_rows == 2
    with lake.load("eager") as eager:  # the default still announces: 'running' then 'finished'
        eager.write(EVENTS.name, [{"writer": "e", "seq": 1, "value": 0.0}])
    assert _ledger_commits(lake) == 3


def test_a_crashed_quiet_load_is_adopted_in_the_resumers_one_ledger_commit(lake: Lakehouse) -> None:
    crashed = lake.load("src", announce=False).__enter__()  # the process dies inside: no exit, no event
    crashed.write(EVENTS.name, ROWS, batch=BatchKey("src/page-0"))
    assert lake.read(EVENTS.name).num_rows == 0 and lake.loads.status(crashed.load_id) is None
    with lake.load("src", announce=False) as resumed:
        again = resumed.write(EVENTS.name, ROWS, batch=BatchKey("src/page-0"))
        assert again.skipped and again.committed_by_load == crashed.load_id
        resumed.write(EVENTS.name, [{"writer": "q", "seq": 3, "value": 3.0}], batch=BatchKey("src/page-1"))
    assert _ledger_commits(lake) == 1  # both loads finished in one append
    assert sorted(lake.read(EVENTS.name).column("seq").to_pylist()) == [1, 2, 3]  # exactly once
    adopted = lake.loads.get(crashed.load_id)
    assert adopted["status"] == "finished" and adopted["adopted_by"] == resumed.load_id
    assert adopted["source"] == "src"


def test_a_quiet_load_that_replays_committed_batches_only_adopts(lake: Lakehouse) -> None:
    with lake.load("src", announce=False) as first:
        first.write(EVENTS.name, ROWS, batch=BatchKey("src/page-0"))
    with lake.load("src", announce=False) as replay:
        assert replay.write(EVENTS.name, ROWS, batch=BatchKey("src/page-0")).skipped
    assert _ledger_commits(lake) == 1  # the replay adopted a finished load: nothing to record
    assert lake.loads.status(replay.load_id) is None and lake.read(EVENTS.name).num_rows == 2


def test_a_failing_quiet_load_records_failed_only_when_it_committed(lake: Lakehouse) -> None:
    with pytest.raises(RuntimeError), lake.load("early", announce=False):
        raise RuntimeError("before any commit")
    assert not lake.exists("ops.loads")
    with pytest.raises(RuntimeError), lake.load("late", announce=False) as late:
        late.write(EVENTS.name, ROWS, batch=BatchKey("late/0"))
        raise RuntimeError("after a commit")
    failed = lake.loads.get(late.load_id)
    assert failed["status"] == "failed" and failed["source"] == "late" and "after a commit" in failed["error"]
    assert lake.read(EVENTS.name).num_rows == 0
    with lake.load("late", announce=False) as resumed:  # a resume adopts the failed load's batch
        assert resumed.write(EVENTS.name, ROWS, batch=BatchKey("late/0")).skipped
    assert lake.loads.get(late.load_id)["adopted_by"] == resumed.load_id
    assert lake.read(EVENTS.name).num_rows == 2


def test_committed_reads_the_transaction_marker(lake: Lakehouse) -> None:
    assert not lake.committed(EVENTS.name, BatchKey("m/1"))  # no table yet
    with lake.load("m", announce=False) as load:
        load.write(EVENTS.name, ROWS, batch=BatchKey("m/1", 2))
    assert lake.committed(EVENTS.name, BatchKey("m/1", 2)) and lake.committed(EVENTS.name, BatchKey("m/1", 1))
    assert not lake.committed(EVENTS.name, BatchKey("m/1", 3)) and not lake.committed(EVENTS.name, BatchKey("m/2"))
