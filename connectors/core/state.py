"""Incremental cursor state in ``ops.cursors`` and the resume checkpoint read back from ``bronze.api_pages``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow.compute as pc

from lakehouse import Lakehouse

CURSORS = "ops.cursors"
PAGES = "bronze.api_pages"


def canonical(partition: dict[str, Any] | None) -> str:
    """A partition as canonical JSON (sorted keys) so the same partition always has the same key."""
    return orjson.dumps(partition or {}, option=orjson.OPT_SORT_KEYS, default=str).decode()


@dataclass
class CursorState:
    """The committed state of one (source, endpoint, partition)."""

    run_seq: int = 0
    cursor_value: Any = None
    boundary_keys: set[str] = field(default_factory=set)


def read_state(lake: Lakehouse, source: str, endpoint: str, partition: str) -> CursorState:
    if not lake.exists(CURSORS):
        return CursorState()
    expr = (pc.field("source") == source) & (pc.field("endpoint") == endpoint) & (pc.field("partition") == partition)
    rows = lake.read(CURSORS, filter=expr, columns=["run_seq", "cursor_value", "boundary_keys"]).to_pylist()
    if not rows:
        return CursorState()
    last = max(rows, key=lambda r: r["run_seq"])
    value = orjson.loads(last["cursor_value"]) if last["cursor_value"] is not None else None
    keys = set(orjson.loads(last["boundary_keys"])) if last["boundary_keys"] else set()
    return CursorState(int(last["run_seq"]), value, keys)


def all_states(lake: Lakehouse, source: str | None = None) -> list[dict[str, Any]]:
    """The latest state row of every (source, endpoint, partition), optionally of one source."""
    if not lake.exists(CURSORS):
        return []
    rows = lake.read(CURSORS, filter=(pc.field("source") == source) if source else None).to_pylist()
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["source"], row["endpoint"], row["partition"])
        if key not in latest or row["run_seq"] > latest[key]["run_seq"]:
            latest[key] = row
    return [latest[k] for k in sorted(latest)]


def advance(
    lake: Lakehouse,
    *,
    source: str,
    endpoint: str,
    partition: str,
    run_seq: int,
    cursor_field: str | None,
    cursor_value: Any,
    boundary_keys: set[str],
    load_id: str,
    pages: int,
    records: int,
) -> None:
    """Record a completed run. Call only after the load that committed its data has finished."""
    lake.write(
        CURSORS,
        [
            {
                "source": source,
                "endpoint": endpoint,
                "partition": partition,
                "run_seq": run_seq,
                "cursor_field": cursor_field,
                "cursor_value": None if cursor_value is None else orjson.dumps(cursor_value).decode(),
                "boundary_keys": orjson.dumps(sorted(boundary_keys)).decode() if boundary_keys else None,
                "load_id": load_id,
                "pages": pages,
                "records": records,
                "updated_at": datetime.now(UTC),
            }
        ],
        mode="append",
    )


@dataclass
class Checkpoint:
    """What an interrupted run already committed: its pages, their loads and where to go on."""

    pages: int = 0
    records: int = 0
    quarantined: int = 0
    keys: set[str] = field(default_factory=set)
    loads: set[str] = field(default_factory=set)
    next_request: dict[str, Any] | None = None
    done: bool = False
    last_index: int = -1
    cursor_values: list[Any] = field(default_factory=list)


def read_checkpoint(lake: Lakehouse, source: str, endpoint: str, partition: str, run_seq: int) -> Checkpoint:
    if not lake.exists(PAGES):
        return Checkpoint()
    expr = (
        (pc.field("source") == source)
        & (pc.field("endpoint") == endpoint)
        & (pc.field("partition") == partition)
        & (pc.field("run_seq") == run_seq)
    )
    cols = ["page_index", "page_key", "records", "quarantined", "next_request", "cursor_max", "_load_id"]
    rows = lake.read(PAGES, filter=expr, columns=cols, include_unfinished=True).to_pylist()
    if not rows:
        return Checkpoint()
    last = max(rows, key=lambda r: r["page_index"])
    nxt = orjson.loads(last["next_request"]) if last["next_request"] else None
    return Checkpoint(
        pages=len(rows),
        records=sum(r["records"] or 0 for r in rows),
        quarantined=sum(r["quarantined"] or 0 for r in rows),
        keys={r["page_key"] for r in rows},
        loads={r["_load_id"] for r in rows},
        next_request=nxt,
        done=nxt is None,
        last_index=int(last["page_index"]),
        cursor_values=[orjson.loads(r["cursor_max"]) for r in rows if r["cursor_max"] is not None],
    )


__all__ = ["Checkpoint", "CursorState", "advance", "all_states", "canonical", "read_checkpoint", "read_state"]
