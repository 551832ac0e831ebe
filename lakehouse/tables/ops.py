"""Operational tables: the load ledger and the quarantine of rejected records."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")

LOADS = register(
    TableSpec(
        name="ops.loads",
        description=(
            "Load ledger, append-only: one event row per state change of a load (running, finished, "
            "failed). The latest event of a load is its status. Readers of silver/gold see only rows "
            "written by finished loads."
        ),
        columns=(
            col("load_id", pa.string(), "Unique id of the load.", nullable=False),
            col("source", pa.string(), "What produced the load (connector, job or upload name).", nullable=False),
            col("status", pa.string(), "running | finished | failed.", nullable=False),
            col("started_at", TS, "When the load started (UTC).", nullable=False),
            col("finished_at", TS, "When the load finished or failed (UTC); null while running."),
            col("rows", pa.int64(), "Rows committed by the load."),
            col("bytes", pa.int64(), "Arrow bytes committed by the load."),
            col("error", pa.string(), "Why the load failed; null otherwise."),
            col("adopted_by", pa.string(), "Load that finished this one after a crash-resume, if any."),
            col("event_at", TS, "When this ledger event was written.", nullable=False),
        ),
        keys=("load_id", "status"),
        track_loads=False,
    )
)

QUARANTINE = register(
    TableSpec(
        name="ops.quarantine",
        description=(
            "Rejected records: every record that failed validation, with the reason, the raw payload "
            "and the load that met it. Nothing is dropped silently."
        ),
        columns=(
            col("load_id", pa.string(), "Load that rejected the record.", nullable=False),
            col("source", pa.string(), "Connector, job or upload that produced the record.", nullable=False),
            col("entity", pa.string(), "Entity or endpoint the record was meant for."),
            col("reason", pa.string(), "Why the record was rejected.", nullable=False),
            col("raw", pa.string(), "The raw record as received (JSON or text).", nullable=False),
            col("location", pa.string(), "Where it came from: page key, file line number, ..."),
            col("quarantined_at", TS, "When it was quarantined (UTC).", nullable=False),
        ),
        partition_by=("source",),
        track_loads=False,
    )
)
