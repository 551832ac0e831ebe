"""The work of one partition: bronze (framework run) and silver in one load, each table committed once.

A fresh partition fetches its pages, maps its records to silver in memory and commits, per table touched,
one Delta commit: ``bronze.api_records``, silver tables, ``ops.quarantine`` (only when something was
rejected), ``bronze.api_pages`` (the resume checkpoint, last), then ``ops.loads`` (the load's one
'finished' event: nothing of it is visible before) and ``ops.cursors``. Every commit carries a batch
key, so a retry or a resume lands nothing twice; the job's ledger (``ops.ingest_partitions``) is the
driver's, written in batches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow.compute as pc
import ray

from jobs.ingest.errors import IngestConfigError
from jobs.ingest.plan import FINALIZE_ONLY, PARENT_ENDPOINTS, Partition, children_of
from jobs.runtime import ray_retry_options
from lakehouse import BatchKey, Lakehouse, TableNotFoundError
from lakehouse.loads import Load

if TYPE_CHECKING:
    from connectors.core.client import HttpClient

log = logging.getLogger(__name__)

LEDGER = "ops.ingest_partitions"


@dataclass(frozen=True)
class PartitionJob:
    """Everything a worker needs to run one partition (picklable; the spec dict travels with it)."""

    run_key: str
    part: Partition
    spec: dict[str, Any]
    lake_root: str
    base_url: str | None = None
    namespace: str | None = None
    chaos: dict[str, Any] | None = None
    local: bool = False
    """Run in this process with the spec's in-process rate limiter (the sequential executor), no Ray."""
    events: dict[str, dict[str, Any]] | None = None
    """The partition's ledger events as the driver read them (batched): when given, the task neither reads
    nor writes the ledger; the driver recorded 'started' before submitting and records 'done' from the result."""


def _ledger(lake: Lakehouse, run_key: str, partition_id: str) -> dict[str, dict[str, Any]]:
    if not lake.exists(LEDGER):
        return {}
    expr = (pc.field("run_key") == run_key) & (pc.field("partition_id") == partition_id)
    return {r["event"]: r for r in lake.read(LEDGER, filter=expr).to_pylist()}


def ledger_row(job: PartitionJob, event: str, **values: Any) -> dict[str, Any]:
    """One ``ops.ingest_partitions`` row of ``job``'s partition."""
    return {
        "run_key": job.run_key,
        "partition_id": job.part.id,
        "event": event,
        "source": job.part.source,
        "endpoint": job.part.endpoint,
        "run_seq": None,
        "records": None,
        "silver_rows": None,
        "pid": os.getpid(),
        "at": datetime.now(UTC),
    } | values


def ledger_batch(run_key: str, rows: list[dict[str, Any]]) -> BatchKey:
    """The idempotency key of a batch of ledger rows (the same rows always get the same key)."""
    ids = sorted(f"{r['partition_id']}|{r['event']}|{r['run_seq']}" for r in rows)
    digest = hashlib.sha1("\n".join(ids).encode()).hexdigest()[:20]
    return BatchKey(f"ingest/{run_key}/events/{digest}")


def _event(lake: Lakehouse, job: PartitionJob, event: str, **values: Any) -> None:
    row = ledger_row(job, event, **values)
    lake.write(LEDGER, [row], mode="append", batch=BatchKey(f"ingest/{job.run_key}/{job.part.short_id}/{event}"))


def _bronze_records(lake: Lakehouse, part: Partition, run_seq: int) -> list[dict[str, Any]]:
    expr = (
        (pc.field("source") == part.source)
        & (pc.field("endpoint") == part.endpoint)
        & (pc.field("partition") == part.key)
        & (pc.field("run_seq") == run_seq)
    )
    try:
        table = lake.read("bronze.api_records", filter=expr, columns=["page_key", "record_index", "record"])
    except TableNotFoundError:  # a fresh lake whose first partitions returned no records: zero rows
        return []
    table = table.sort_by([("page_key", "ascending"), ("record_index", "ascending")])
    return [orjson.loads(r) for r in table.column("record").to_pylist()]


def _crash_here(job: PartitionJob, where: str) -> None:
    """Test hook: the worker dies once (``os._exit``, or raises with ``mode: raise``) at ``chaos.at``:
    ``after_load`` (default: bronze and silver landed, before the task reports) or ``in_load`` (silver
    and bronze records committed, the pages checkpoint and the load's 'finished' event not yet)."""
    chaos = job.chaos or {}
    marker = chaos.get("marker")
    if chaos.get("at", "after_load") != where:
        return
    if marker and chaos.get("partition_id") == job.part.id and not Path(marker).exists():
        Path(marker).write_text(f"{chaos.get('mode', 'exit')} in pid {os.getpid()}\n")
        if chaos.get("mode") == "raise":
            raise IngestConfigError(f"chaos: {job.part.id} fails once on purpose", hint="resume the run")
        os._exit(1)


_THREAD = threading.local()


def _lake(root: str) -> Lakehouse:
    """This worker thread's handle on the lake: its open Delta tables stay warm between partitions."""
    from covary.settings import get_settings

    key = (root, json.dumps(get_settings().lake_storage_options(), sort_keys=True))
    lakes: dict[tuple[str, str], Lakehouse] = _THREAD.__dict__.setdefault("lakes", {})
    lake = lakes.get(key)
    if lake is None:
        if len(lakes) >= 4:
            lakes.clear()
        lake = lakes[key] = Lakehouse.from_settings(root=root)  # credentials from this worker's settings
    return lake


def run_partition_job(job: PartitionJob) -> dict[str, Any]:
    """Run one partition; safe to repeat: a done partition is skipped, a half-done one continues."""
    import connectors.core.registry  # noqa: F401  (registers every connector's paginators in this worker)
    from connectors.core import RunOptions, parse_spec, run_endpoint
    from connectors.core.state import read_state
    from jobs.ingest.limiter import ClusterLimiter

    lake = _lake(job.lake_root)
    part = job.part
    by_driver = job.events is not None
    events = job.events if job.events is not None else _ledger(lake, job.run_key, part.id)
    if "done" in events:  # resumed run: nothing to redo, but children are planned from what landed
        done = events["done"]
        parent = (part.source, part.endpoint) in PARENT_ENDPOINTS
        landed = _bronze_records(lake, part, int(done["run_seq"])) if parent else []
        return {
            "id": part.id,
            "source": part.source,
            "endpoint": part.endpoint,
            "records": done["records"] or 0,
            "silver_rows": done["silver_rows"] or 0,
            "children": children_of(part.source, part.endpoint, landed),
            "skipped": True,
            "run_seq": int(done["run_seq"]) if done.get("run_seq") is not None else None,
            "requests": 0,
        }
    state = read_state(lake, part.source, part.endpoint, part.key)
    if "started" in events:
        run_seq = int(events["started"]["run_seq"])
    else:
        run_seq = state.run_seq + 1
        if by_driver:  # the driver records 'started' before it submits; without it a retry could refetch
            raise IngestConfigError(f"{part.id}: no 'started' event from the driver", hint="a bug in jobs.ingest")
        _event(lake, job, "started", run_seq=run_seq)
    summary: dict[str, Any] = {"requests": 0, "retries": 0, "waited_s": 0.0, "quarantined": 0}
    derived: dict[str, Any] = {}
    if state.run_seq < run_seq:  # bronze run not complete yet: run (or resume) it, silver in the same load

        def on_records(load: Load, records: list[dict[str, Any]], client: HttpClient) -> list[dict[str, Any]]:
            rejected = _derive(job, load, records, client, derived)
            _crash_here(job, "in_load")
            return rejected

        options = RunOptions(
            limiter=None if job.local else ClusterLimiter(part.source, namespace=job.namespace),
            base_url=job.base_url,
            on_records=on_records,
            announce=False,
        )
        spec = parse_spec(job.spec, origin=f"connectors.{part.source}")
        run = run_endpoint(lake, spec, part.endpoint, partition=part.partition, options=options, state=state)
        summary = run.to_dict()
        run_seq = run.run_seq
    _crash_here(job, "after_load")
    if derived:
        records, silver_rows = derived["records"], derived["silver_rows"]
    else:  # a resume after the last pages commit: silver landed with them; read back what children need
        records, silver_rows = _bronze_records(lake, part, run_seq), 0
    if not by_driver:
        _event(lake, job, "done", run_seq=run_seq, records=len(records), silver_rows=silver_rows)
    return {
        "id": part.id,
        "source": part.source,
        "endpoint": part.endpoint,
        "records": len(records),
        "silver_rows": silver_rows,
        "quarantined": summary.get("quarantined", 0),  # the silver rejects were quarantined with the pages
        "children": children_of(part.source, part.endpoint, records),
        "skipped": False,
        "run_seq": run_seq,
        "requests": summary.get("requests", 0),
        "retries": summary.get("retries", 0),
        "waited_s": summary.get("waited_s", 0.0),
        "pid": os.getpid(),
    }


def _derive(
    job: PartitionJob, load: Load, records: list[dict[str, Any]], client: HttpClient, out: dict[str, Any]
) -> list[dict[str, Any]]:
    """Silver of a partition's records, written in the partition's load; returns the silver rejects."""
    from connectors.core.registry import get_connector

    part = job.part
    ctx = dict(part.partition)
    hook = get_connector(part.source).plan.context.get(part.endpoint)
    if hook is not None:  # extra mapping context the connector fetches (e.g. Spotify audio features)
        ctx |= hook(client, records)
    written: int = 0
    rejected: list[dict[str, Any]] = []
    if (part.source, part.endpoint) not in FINALIZE_ONLY:
        written, rejected = silver_into(load, job.run_key, part, records, ctx)
    out.update(records=records, silver_rows=written, quarantined=len(rejected))
    return rejected


def write_silver(
    lake: Lakehouse, run_key: str, part: Partition, records: list[dict[str, Any]], ctx: dict[str, Any]
) -> tuple[int, int]:
    """Typed rows of ``records`` merged into their silver tables in one load of their own; rejects
    quarantined. Returns (rows written, records rejected)."""
    tag = hashlib.sha1(f"{run_key}/{part.id}".encode()).hexdigest()[:16]
    with lake.load(f"ingest.{part.source}") as load:
        written, rejected = silver_into(load, run_key, part, records, ctx)
        if rejected:
            load.quarantine(rejected, batch=BatchKey(f"ingest/q/{tag}"))
    return written, len(rejected)


def silver_into(
    load: Load, run_key: str, part: Partition, records: list[dict[str, Any]], ctx: dict[str, Any]
) -> tuple[int, list[dict[str, Any]]]:
    """Typed rows of ``records`` merged into their silver tables in ``load`` (one commit per table, batch
    keys of the run and partition); returns the rows written and the rejects, for the caller to quarantine."""
    from jobs.ingest.silver import silver_batches, to_silver

    rows, rejected = to_silver(part.source, part.endpoint, records, ctx)
    batches = silver_batches(rows, rejected, lineage=part.id)  # the declared schema, never inferred
    written = 0
    tag = hashlib.sha1(f"{run_key}/{part.id}".encode()).hexdigest()[:16]
    for table, items in sorted(batches.items()):
        if not items.num_rows:
            continue
        written += load.write(table, items, batch=BatchKey(f"ingest/silver/{tag}/{table}")).rows
    entity = f"silver:{part.endpoint}"
    return written, [{"entity": entity} | r for r in rejected.items]


@ray.remote(**ray_retry_options())
def ingest_partition(job: PartitionJob) -> dict[str, Any]:
    """Ray task wrapper (transient errors and dead workers are retried; every step is idempotent)."""
    return run_partition_job(job)


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=3)
class PartitionWorker:
    """A long-lived worker of one source: runs its partitions (``max_concurrency`` at once, in threads).

    It keeps its process warm between partitions: imports, open Delta tables and the log snapshots of the
    load ledger and cursors (read incrementally), so a partition pays only for its own pages and commits.
    A worker that dies (``os._exit``, OOM, node lost) is restarted and its partitions are retried; a
    transient error is retried like the task's; every step is idempotent, so nothing lands twice.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.partitions = 0

    @ray.method(retry_exceptions=ray_retry_options()["retry_exceptions"])  # type: ignore[untyped-decorator,misc]
    def run(self, job: PartitionJob) -> dict[str, Any]:
        self.partitions += 1
        return run_partition_job(job)

    def ping(self) -> dict[str, Any]:
        return {"source": self.source, "pid": os.getpid(), "partitions": self.partitions}


__all__ = [
    "FINALIZE_ONLY",
    "LEDGER",
    "PartitionJob",
    "PartitionWorker",
    "ingest_partition",
    "ledger_batch",
    "ledger_row",
    "run_partition_job",
    "silver_into",
    "write_silver",
]
