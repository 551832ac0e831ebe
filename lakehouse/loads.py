"""The load ledger (``ops.loads``) and the ``Load`` context that ties a unit of work together."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.errors import LoadError, TableNotFoundError
from lakehouse.model import BatchKey, LakeWriter, WriteResult

TERMINAL = ("finished", "failed")


def _now() -> datetime:
    return datetime.now(UTC)


def new_load_id(source: str) -> str:
    return f"{source}-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


class LoadLedger:
    """Append-only event log of loads; a load's status is its latest event.

    The latest event per load is folded incrementally from the lake's process-wide log snapshot, so a
    status lookup costs the events added since the last one, not the whole history.
    """

    TABLE = "ops.loads"

    def __init__(self, lake: LakeWriter) -> None:
        self.lake = lake

    def _append(self, *rows: dict[str, Any]) -> None:
        """Append ledger events, all in one commit."""
        now = _now()
        base = {"finished_at": None, "rows": None, "bytes": None, "error": None, "adopted_by": None}
        self.lake.write(self.TABLE, [base | row | {"event_at": now} for row in rows], mode="append")

    def start(self, source: str, *, load_id: str | None = None, announce: bool = True) -> str:
        """A new load's id; with ``announce`` (default) its 'running' event is committed now.

        Without it the load commits no event until it finishes (or fails): its rows are invisible until
        then either way, and a load that resumes its batches adopts it from the batches' commit metadata.
        """
        if load_id is None and not announce:
            return new_load_id(source)
        load_id = load_id or new_load_id(source)
        previous = self.get(load_id)
        if previous is not None and previous["status"] == "finished":
            raise LoadError(f"load {load_id} already finished; start a new load id")
        if announce:
            started = previous["started_at"] if previous else _now()
            self._append({"load_id": load_id, "source": source, "status": "running", "started_at": started})
        return load_id

    def finish(self, load_id: str, *, rows: int = 0, bytes_: int = 0, adopted_by: str | None = None) -> None:
        current = self._require(load_id)
        if current["status"] == "finished":
            return
        self._append(_finished(load_id, current["source"], current["started_at"], rows, bytes_, adopted_by))

    def finish_with(
        self,
        load_id: str,
        *,
        source: str,
        started_at: datetime,
        rows: int = 0,
        bytes_: int = 0,
        adopted: set[str] | frozenset[str] = frozenset(),
        fresh: bool = False,
    ) -> None:
        """Finish ``load_id`` and every unfinished load in ``adopted`` (``adopted_by`` = this load) in one
        commit; loads that never announced themselves (no event yet) are finished with ``source``.
        ``fresh``: ``load_id`` is a new id that committed no event yet (then only ``adopted`` is looked up)."""
        if fresh and not adopted - {load_id}:
            self._append(_finished(load_id, source, started_at, rows, bytes_, None))
            return
        latest = self._latest()
        rows_out = []
        for other in sorted(adopted - {load_id}):
            before = latest.get(other)
            if before is not None and before["status"] == "finished":
                continue
            other_source = before["source"] if before is not None else source
            other_started = before["started_at"] if before is not None else started_at
            rows_out.append(_finished(other, other_source, other_started, 0, 0, load_id) | {"rows": None})
        own = latest.get(load_id)
        if own is not None and own["status"] == "finished":
            if rows_out:
                self._append(*rows_out)
            return
        if own is not None:
            source, started_at = own["source"], own["started_at"]
        self._append(*rows_out, _finished(load_id, source, started_at, rows, bytes_, None))

    def fail(self, load_id: str, error: str, *, source: str | None = None, started_at: datetime | None = None) -> None:
        """Mark ``load_id`` failed; ``source`` (and ``started_at``) name a load that never announced itself."""
        current = self.get(load_id)
        if current is None:
            if source is None:
                raise LoadError(f"unknown load {load_id!r}", hint="start it with lake.loads.start(source)")
            current = {"source": source, "started_at": started_at or _now(), "status": "running"}
        if current["status"] == "finished":
            raise LoadError(f"load {load_id} already finished; it cannot fail afterwards")
        self._append(
            {
                "load_id": load_id,
                "source": current["source"],
                "status": "failed",
                "started_at": current["started_at"],
                "finished_at": _now(),
                "error": error[:4000],
            }
        )

    def _require(self, load_id: str) -> dict[str, Any]:
        current = self.get(load_id)
        if current is None:
            raise LoadError(f"unknown load {load_id!r}", hint="start it with lake.loads.start(source)")
        return current

    def _latest(self) -> dict[str, dict[str, Any]]:
        return self._fold().latest

    def _fold(self) -> _Folded:
        snap = self.lake.log_snapshot(self.TABLE)
        if snap is None:
            return _Folded()
        with _FOLD_LOCK:
            key = snap.epoch
            folded = _FOLDS.get(key)
            if folded is None:
                folded = _FOLDS[key] = _Folded()
                if len(_FOLDS) > 64:  # epochs of other tables/roots; keep the newest
                    for old in sorted(_FOLDS)[:-32]:
                        del _FOLDS[old]
            if folded.rows < snap.table.num_rows:
                new = snap.table.slice(folded.rows)
                order = pc.sort_indices(new, sort_keys=[("event_at", "ascending")])
                for row in new.take(order).to_pylist():
                    folded.add(row)
                folded.rows = snap.table.num_rows
            return folded

    def get(self, load_id: str) -> dict[str, Any] | None:
        return self._latest().get(load_id)

    def status(self, load_id: str) -> str | None:
        row = self.get(load_id)
        return row["status"] if row else None

    def finished_ids(self) -> set[str]:
        return set(self._fold().finished)

    def list(self, *, source: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        rows = sorted((dict(r) for r in self._latest().values()), key=lambda r: r["started_at"], reverse=True)
        if source:
            rows = [r for r in rows if r["source"] == source]
        return rows[:limit] if limit else rows


class _Folded:
    """The latest event of every load (and the finished ones) over the first ``rows`` rows of a snapshot."""

    def __init__(self) -> None:
        self.rows = 0
        self.latest: dict[str, dict[str, Any]] = {}
        self.finished: set[str] = set()

    def add(self, row: dict[str, Any]) -> None:
        load_id = row["load_id"]
        before = self.latest.get(load_id)
        new_at, old_at = row["event_at"], (before["event_at"] if before is not None else None)
        if new_at is not None and old_at is not None and new_at < old_at:
            return
        self.latest[load_id] = row
        if row["status"] == "finished":
            self.finished.add(load_id)
        else:
            self.finished.discard(load_id)


def _finished(
    load_id: str, source: str, started_at: datetime, rows: int, bytes_: int, adopted_by: str | None
) -> dict[str, Any]:
    return {
        "load_id": load_id,
        "source": source,
        "status": "finished",
        "started_at": started_at,
        "finished_at": _now(),
        "rows": rows,
        "bytes": bytes_,
        "adopted_by": adopted_by,
    }


_FOLDS: dict[int, _Folded] = {}
_FOLD_LOCK = threading.Lock()


class Load:
    """One unit of work: its writes become visible to readers together, when it finishes.

    On a clean exit the load is marked finished (with rows and bytes); on an exception it is
    marked failed with the error and the exception propagates. A batch that an earlier, crashed
    load already committed is skipped and that load is *adopted*: it is finished along with this
    one, in the same ledger commit, so resumed work becomes visible exactly once.

    ``announce=False`` skips the 'running' event: the load's only ledger commit is its 'finished' (or
    'failed') event, and a load that committed nothing and adopted nothing commits no event at all.
    """

    def __init__(self, lake: LakeWriter, source: str, *, load_id: str | None = None, announce: bool = True) -> None:
        self.lake = lake
        self.source = source
        self.requested_id = load_id
        self.announce = announce
        self.load_id = ""
        self.started_at = _now()
        self.rows = 0
        self.bytes = 0
        self.quarantined = 0
        self.results: list[WriteResult] = []
        self._adopted: set[str] = set()
        self._committed = False

    def __enter__(self) -> Load:
        self.started_at = _now()
        self.load_id = self.lake.loads.start(self.source, load_id=self.requested_id, announce=self.announce)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self.finish()
        elif self.announce or self._committed:
            self.lake.loads.fail(
                self.load_id, f"{type(exc).__name__}: {exc}", source=self.source, started_at=self.started_at
            )

    def adopt(self, load_id: str) -> None:
        """Finish ``load_id`` (an interrupted load whose committed work this one resumes) with this one."""
        if load_id and load_id != self.load_id:
            self._adopted.add(load_id)

    def finish(self) -> None:
        if not self.announce and not self._committed:
            ledger = self.lake.loads
            if all(ledger.status(other) == "finished" for other in self._adopted):
                return  # committed nothing, left nothing unfinished to adopt: no ledger event
        self.lake.loads.finish_with(
            self.load_id,
            source=self.source,
            started_at=self.started_at,
            rows=self.rows,
            bytes_=self.bytes,
            adopted=self._adopted,
            fresh=not self.announce and self.requested_id is None,
        )

    def write(self, name: str, data: Any, *, batch: BatchKey | None = None, **kwargs: Any) -> WriteResult:
        result = self.lake.write(name, data, load_id=self.load_id, batch=batch, **kwargs)
        if result.skipped and result.committed_by_load:
            self.adopt(result.committed_by_load)
        self._committed = self._committed or not result.skipped
        self.rows += result.rows
        self.bytes += result.bytes
        self.results.append(result)
        return result

    def quarantine(
        self,
        records: list[dict[str, Any]],
        *,
        entity: str | None = None,
        batch: BatchKey | None = None,
    ) -> int:
        """Store rejected records, each a dict with ``reason``, ``raw`` and optional ``location``."""
        if not records:
            return 0
        now = datetime.now(UTC)
        rows = [
            {
                "load_id": self.load_id,
                "source": self.source,
                "entity": r.get("entity", entity),
                "reason": str(r["reason"]),
                "raw": r["raw"] if isinstance(r["raw"], str) else json.dumps(r["raw"], default=str),
                "location": None if r.get("location") is None else str(r["location"]),
                "quarantined_at": now,
            }
            for r in records
        ]
        result = self.lake.write("ops.quarantine", rows, batch=batch, mode="append")
        self._committed = self._committed or not result.skipped
        self.quarantined += result.rows
        return result.rows


def quarantine_rows(lake: LakeWriter, *, source: str | None = None) -> pa.Table:
    try:
        table = lake.read("ops.quarantine")
    except TableNotFoundError:
        return pa.table({})
    if source:
        table = table.filter(pc.field("source") == source)
    return table


__all__ = ["Load", "LoadLedger", "new_load_id", "quarantine_rows"]
