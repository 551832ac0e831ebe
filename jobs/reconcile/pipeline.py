"""Reconcile against the lake: read source records and earlier decisions, run the engine, write silver tables."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jobs.reconcile import engine
from jobs.reconcile.cluster import PriorState
from jobs.reconcile.features import RAW_FIELDS, EntityType
from lakehouse import LOAD_ID, BatchKey, Lakehouse

log = logging.getLogger(__name__)

RECORDS = {"customers": "silver.customer_records", "products": "silver.product_records"}
CANONICAL = {"customers": "silver.customers", "products": "silver.products"}
CROSSWALK = "silver.entity_crosswalk"
AUDIT = "silver.entity_audit"


@dataclass
class Plan:
    """Everything one run will write, computed before anything is committed."""

    entity_type: EntityType
    run_id: str
    crosswalk: list[dict[str, Any]] = field(default_factory=list)
    canonical: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def write_records(
    lake: Lakehouse, entity_type: EntityType, records: list[dict[str, Any]], *, source: str, batch_id: str
) -> int:
    """Upsert source records (target-schema dicts with source/source_id) into the records table."""
    now = datetime.now(UTC)
    rows = [
        {
            "source": str(r["source"]),
            "source_id": str(r["source_id"]),
            "ingested_at": now,
            **{f: (None if r.get(f) is None else str(r.get(f))) for f in RAW_FIELDS[entity_type]},
        }
        for r in records
    ]
    if not rows:
        return 0
    with lake.load(f"records.{source}") as load:
        result = load.write(RECORDS[entity_type], rows, batch=BatchKey(f"records/{entity_type}/{source}/{batch_id}"))
    return result.rows


def read_finished(lake: Lakehouse, name: str, *, columns: list[str], filter: pc.Expression | None = None) -> pa.Table:
    """``lake.read`` of finished loads, filtering the load ids here.

    Works around ``lake.read`` failing with "no kernel matching (string, string_view)" when a
    merge-mode table has files written with different string layouts (reported to the lead).
    """
    table = lake.read(name, include_unfinished=True, include_system=True)
    finished = pa.array(sorted(lake.loads.finished_ids()), pa.string())
    table = table.filter(pc.is_in(table[LOAD_ID].cast(pa.string()), value_set=finished))
    if filter is not None:
        table = table.filter(filter)
    return table.select(columns)


def read_records(lake: Lakehouse, entity_type: EntityType) -> list[dict[str, Any]]:
    if not lake.exists(RECORDS[entity_type]):
        return []
    table = read_finished(lake, RECORDS[entity_type], columns=["source", "source_id", *RAW_FIELDS[entity_type]])
    return table.to_pylist()


def read_prior(lake: Lakehouse, entity_type: EntityType) -> tuple[PriorState, dict[str, datetime]]:
    prior = PriorState()
    first_seen: dict[str, datetime] = {}
    if lake.exists(CROSSWALK):
        cw = read_finished(
            lake,
            CROSSWALK,
            columns=["source", "source_id", "entity_id", "record_hash"],
            filter=pc.field("entity_type") == entity_type,
        )
        for row in cw.to_pylist():
            key = f"{row['source']}:{row['source_id']}"
            prior.assignment[key] = row["entity_id"]
            prior.hashes[key] = row["record_hash"]
    if lake.exists(CANONICAL[entity_type]):
        for row in read_finished(
            lake, CANONICAL[entity_type], columns=["entity_id", "status", "first_seen"]
        ).to_pylist():
            prior.statuses[row["entity_id"]] = row["status"]
            first_seen[row["entity_id"]] = row["first_seen"]
    return prior, first_seen


def plan(lake: Lakehouse, entity_type: EntityType, *, config: engine.EngineConfig | None = None) -> Plan:
    """Compute one incremental run (reads only)."""
    now = datetime.now(UTC)
    run_id = f"reconcile-{entity_type}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    records = read_records(lake, entity_type)
    prior, first_seen = read_prior(lake, entity_type)
    result = engine.run(records, entity_type, prior, config=config)
    asg = result.assignment
    out = Plan(entity_type, run_id)
    hashes = {str(k): str(h) for k, h in zip(result.features.keys, result.features.hashes, strict=True)}
    for key in sorted(asg.changed_records):
        source, _, source_id = key.partition(":")
        out.crosswalk.append(
            {
                "entity_type": entity_type,
                "source": source,
                "source_id": source_id,
                "entity_id": asg.entity_of[key],
                "match_probability": asg.best_p.get(key),
                "record_hash": hashes[key],
                "assigned_at": now,
                "run_id": run_id,
            }
        )
    golden = engine.golden_rows(result, asg.changed_entities)
    for ent in sorted(asg.changed_entities):
        status, merged_into = asg.statuses.get(ent, ("active", None))
        values = golden.get(ent, {"record_count": 0, "sources": []})
        if status == "active" and ent not in golden:
            status = "retired"
        out.canonical.append(
            {
                "entity_id": ent,
                "status": status,
                "merged_into": merged_into,
                "first_seen": first_seen.get(ent, now),
                "updated_at": now,
                "run_id": run_id,
                **values,
            }
        )
    for event in asg.events:
        out.audit.append({"run_id": run_id, "entity_type": entity_type, "at": now, **event})
    out.summary = {"run_id": run_id, **result.summary()}
    return out


def commit(lake: Lakehouse, p: Plan) -> dict[str, Any]:
    """Write a plan in one load: readers see the new crosswalk, canonical rows and audit together."""
    with lake.load(f"reconcile.{p.entity_type}", load_id=p.run_id) as load:
        if p.crosswalk:
            load.write(CROSSWALK, p.crosswalk, batch=BatchKey(f"reconcile/{p.run_id}/crosswalk"))
        if p.canonical:
            load.write(CANONICAL[p.entity_type], p.canonical, batch=BatchKey(f"reconcile/{p.run_id}/canonical"))
        if p.audit:
            load.write(AUDIT, p.audit, batch=BatchKey(f"reconcile/{p.run_id}/audit"))
    return p.summary | {
        "written": {"crosswalk": len(p.crosswalk), "canonical": len(p.canonical), "audit": len(p.audit)}
    }


def reconcile(lake: Lakehouse, entity_type: EntityType, *, config: engine.EngineConfig | None = None) -> dict[str, Any]:
    """Plan and commit one incremental run for ``entity_type``."""
    return commit(lake, plan(lake, entity_type, config=config))


__all__ = [
    "CANONICAL",
    "CROSSWALK",
    "RECORDS",
    "Plan",
    "commit",
    "plan",
    "read_prior",
    "read_records",
    "reconcile",
    "write_records",
]
