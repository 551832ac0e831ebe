"""``covary source synth``: generate the systems and land them bronze -> silver -> gold in one load."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
import polars as pl

from connectors.synth import records as rec
from connectors.synth.errors import SynthConfigError
from connectors.synth.systems import SYSTEMS, raw_payload, record_key, rows_by_system
from connectors.synth.world import GENERATOR_VERSION, PREFIX, SITE_WEATHER, World, simulate
from lakehouse import BatchKey, Lakehouse

log = logging.getLogger(__name__)

DEFAULT_START = date(2023, 1, 1)
MIN_DAYS, MAX_DAYS = 120, 3660
DEFAULT_ORDER_LINES, MAX_ORDER_LINES = 50_000, 10**8
"""``--scale``: order lines to generate (the demo default is small; benchmarks use 10^7)."""
DEFAULT_CUSTOMERS = 5_000

# gold series: key -> (system, column, aggregation across rows, description, unit, domain)
GOLD: dict[str, tuple[str, str, str, str, str, str]] = {
    "marketing.spend": ("marketing", "spend", "sum", "Ad spend, all platforms", "USD", "marketing"),
    "marketing.impressions": ("marketing", "impressions", "sum", "Ad impressions, all platforms", "count", "marketing"),
    "marketing.clicks": ("marketing", "clicks", "sum", "Ad clicks, all platforms", "count", "marketing"),
    "marketing.conversions": ("marketing", "conversions", "sum", "New customers from ads", "count", "marketing"),
    "marketing.revenue": ("marketing", "revenue", "sum", "Revenue attributed to ads", "USD", "marketing"),
    "crm.leads": ("crm", "leads", "sum", "New CRM leads", "count", "sales"),
    "crm.deals_won": ("crm", "deals_won", "sum", "Deals closed-won", "count", "sales"),
    "crm.deal_value": ("crm", "deal_value", "sum", "Value of deals won", "USD", "sales"),
    "finance.revenue": ("finance", "revenue", "sum", "Booked revenue", "USD", "finance"),
    "finance.expenses": ("finance", "expenses", "sum", "Booked expenses", "USD", "finance"),
    "hr.headcount": ("hr", "headcount", "sum", "Employees at end of day", "count", "hr"),
    "hr.hires": ("hr", "hires", "sum", "New hires", "count", "hr"),
    "hr.attrition": ("hr", "attrition", "sum", "Employees leaving", "count", "hr"),
    "hr.absences": ("hr", "absences", "sum", "Employees absent", "count", "hr"),
    "hr.hours_logged": ("hr", "hours_logged", "sum", "Hours logged on timesheets", "hours", "hr"),
    "support.tickets": ("support", "tickets", "sum", "Support tickets opened", "count", "support"),
    "support.csat": ("support", "csat", "mean", "Mean customer satisfaction (1-5)", "score", "support"),
    "support.response_time_h": ("support", "response_time_h", "mean", "Mean first-response time", "hours", "support"),
    "operations.output_units": ("operations", "output_units", "sum", "Units produced", "count", "operations"),
    "operations.defects": ("operations", "defects", "sum", "Defective units", "count", "operations"),
    "operations.equipment_failures": (
        "operations",
        "equipment_failures",
        "sum",
        "Equipment failure events",
        "count",
        "operations",
    ),
    "operations.uptime_pct": ("operations", "uptime_pct", "mean", "Equipment uptime", "percent", "operations"),
    "operations.energy_kwh": ("operations", "energy_kwh", "sum", "Energy used by the plants", "kWh", "operations"),
    "operations.complaints": (
        "equipment_daily",
        "complaints",
        "sum",
        "Customer complaints about the plants' output",
        "count",
        "operations",
    ),
    "weather.temp_c": (
        "drivers",
        "temp_c",
        "mean",
        "Outside temperature at the main site (Chicago, public weather)",
        "degC",
        "weather",
    ),
    "market.demand_index": ("drivers", "demand_index", "mean", "Market demand index", "index", "market"),
}

# Series the systems compute from other series (accounting identities and roll-ups): lineage for discovery.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "finance.revenue": ("marketing.revenue", "crm.deal_value"),  # booked revenue = ad revenue + deals won
    "finance.expenses": ("marketing.spend", "hr.headcount"),  # spend + payroll (headcount x rate) + fixed
    "hr.headcount": ("hr.hires", "hr.attrition"),  # running sum of hires - attrition
    "crm.deal_value": ("crm.deals_won",),  # deals x price
    "marketing.revenue": ("marketing.conversions",),  # conversions x order value
    "marketing.clicks": ("marketing.impressions",),  # impressions x click-through rate
}
# Parents outside the synthetic systems (full series ids): the site thermometer follows the public weather.
EXTERNAL_PARENTS: dict[str, tuple[str, ...]] = {"weather.temp_c": SITE_WEATHER}


# silver lineage of the gold series that are not one of the daily system tables
LINEAGE: dict[str, str] = {"equipment_daily": "silver.synth_equipment_events"}
RECORD_TABLES: dict[str, str] = {
    "campaigns": "silver.synth_campaigns",
    "tickets": "silver.synth_tickets",
    "releases": "silver.synth_releases",
    "equipment_events": "silver.synth_equipment_events",
    "employees": "silver.synth_employees",
    "projects": "silver.synth_projects",
    "ledger_entries": "silver.synth_ledger_entries",
    "budget_lines": "silver.synth_budget_lines",
}

# record columns named apart from the daily tables' measures, so a plain "conversions" or "csat" question still
# reads the daily table and only a region/feature/ticket-level question reads the records
SILVER_NAMES: dict[str, dict[str, str]] = {
    "campaigns": {
        "spend": "spend_usd",
        "impressions": "impression_count",
        "clicks": "click_count",
        "conversions": "conversion_count",
        "revenue": "revenue_usd",
    },
    "tickets": {"csat": "satisfaction_score", "response_time_h": "first_response_hours"},
}


@dataclass(frozen=True)
class SynthResult:
    load_id: str
    dataset: str
    days: int
    seed: int
    start: date
    records: dict[str, int]
    series: int
    truth: dict[str, int]
    entities: dict[str, Any] | None
    tables: dict[str, int] | None = None
    cleaning: dict[str, dict[str, int]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "load_id": self.load_id,
            "dataset": self.dataset,
            "days": self.days,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": date.fromordinal(self.start.toordinal() + self.days - 1).isoformat(),
            "records": self.records,
            "series": self.series,
            "truth": self.truth,
            "entities": self.entities,
            "tables": self.tables,
            "cleaning": self.cleaning,
        }


def generate(*, days: int, seed: int, start: date = DEFAULT_START) -> tuple[World, dict[str, list[dict[str, Any]]]]:
    """The world and every system's typed rows (daily tables derived from the records), without the lake."""
    world, rows, _ = generate_records(days=days, seed=seed, start=start)
    return world, rows


def generate_records(
    *, days: int, seed: int, start: date = DEFAULT_START
) -> tuple[World, dict[str, list[dict[str, Any]]], rec.Records]:
    """The world, the daily system rows and the cleaned record tables; the records' truth joins ``world.truth``."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise SynthConfigError(
            f"--days {days} is out of range", hint=f"use {MIN_DAYS}..{MAX_DAYS} days (365+ enables year-ago KPIs)"
        )
    world = simulate(days=days, seed=seed, start=start)
    rows = rows_by_system(world, np.random.default_rng([seed, 1]))
    records = rec.build(world, rows)
    world.truth.extend(records.truth)
    return world, rows, records


def gold_series(silver: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Gold daily series (values, catalogue) aggregated from the typed system tables."""
    frames = []
    catalog = []
    for key, (system, column, agg, desc, unit, domain) in GOLD.items():
        frame = silver[system]
        expr = pl.col(column).cast(pl.Float64)
        grouped = frame.group_by("date").agg((expr.sum() if agg == "sum" else expr.mean()).alias("value"))
        sid = f"{PREFIX}.{key}"
        frames.append(grouped.select(pl.lit(sid).alias("series_id"), pl.col("date").alias("ts"), "value"))
        catalog.append(
            {
                "series_id": sid,
                "description": f"{desc} (synthetic {system} system)",
                "unit": unit,
                "frequency": "D",
                "aggregation": "mean" if agg == "mean" or key == "hr.headcount" else "sum",
                "source": "synth",
                "lineage": LINEAGE.get(system) or SYSTEMS[system].silver,
                "domain": domain,
                "derived_from": [f"{PREFIX}.{k}" for k in DERIVED_FROM.get(key, ())]
                + list(EXTERNAL_PARENTS.get(key, ())),
            }
        )
    return pl.concat(frames).sort("series_id", "ts"), catalog


def run_synth(
    lake: Lakehouse,
    *,
    days: int = 731,
    seed: int = 7,
    start: date = DEFAULT_START,
    with_entities: bool = True,
    scale: int = DEFAULT_ORDER_LINES,
) -> SynthResult:
    """Generate and land the systems through the normal path; replays of the same dataset are skipped.

    ``scale`` is the number of order lines (streamed to the lake in batches: memory stays bounded)."""
    if not 0 <= scale <= MAX_ORDER_LINES:
        raise SynthConfigError(f"--scale {scale} is out of range", hint=f"use 0..{MAX_ORDER_LINES:,} order lines")
    world, rows, records = generate_records(days=days, seed=seed, start=start)
    dataset = f"v{GENERATOR_VERSION}-s{seed}-d{days}-{start.isoformat()}"
    fingerprint = hashlib.sha256(dataset.encode()).hexdigest()[:12]
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    tables: dict[str, int] = {}
    with lake.load("synth") as load:
        silver: dict[str, pl.DataFrame] = {}
        for name, system in SYSTEMS.items():
            bronze = []
            for row in rows[name]:
                payload = raw_payload(system, row)
                bronze.append(
                    {
                        "system": name,
                        "entity": system.entity,
                        "record_key": record_key(system, row),
                        "payload": payload,
                        "content_hash": hashlib.sha256(payload.encode()).hexdigest(),
                        "generated_at": now,
                    }
                )
            load.write("bronze.synth_records", bronze, batch=BatchKey(f"synth/{fingerprint}/bronze/{name}"))
            typed = [system.parse(json.loads(str(r["payload"]))) for r in bronze]
            load.write(system.silver, typed, batch=BatchKey(f"synth/{fingerprint}/silver/{name}"))
            silver[name] = pl.DataFrame(typed, infer_schema_length=None)
            counts[name] = len(bronze)
        for name, table in RECORD_TABLES.items():
            frame = records.tables[name].rename(SILVER_NAMES.get(name, {}))
            load.write(table, frame, batch=BatchKey(f"synth/{fingerprint}/records/{name}"))
            tables[table] = frame.height
            bad = records.quarantine.get(name)
            if bad:
                load.quarantine(bad, entity=name, batch=BatchKey(f"synth/{fingerprint}/quarantine/{name}"))
        silver["equipment_daily"] = records.tables["equipment_daily"]
        tables |= _land_orders(load, world, fingerprint, scale)
        values, catalog = gold_series(silver)
        load.write("gold.series_catalog", catalog, batch=BatchKey(f"synth/{fingerprint}/catalog"))
        load.write("gold.series_values", values, batch=BatchKey(f"synth/{fingerprint}/values"))
        load.write("gold.synth_truth", world.truth, batch=BatchKey(f"synth/{fingerprint}/truth"))
    entities = _entities(lake, seed=seed) if with_entities else None
    kinds: dict[str, int] = {}
    for t in world.truth:
        kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
    return SynthResult(
        load.load_id, dataset, days, seed, start, counts, len(catalog), kinds, entities, tables, records.cleaning
    )


def _land_orders(load: Any, world: World, fingerprint: str, scale: int) -> dict[str, int]:
    """Customers, then orders and order lines streamed in batches (one Delta commit per batch)."""
    if scale == 0:
        return {}
    customers = rec.customers(world, DEFAULT_CUSTOMERS)
    load.write("silver.synth_customers", customers, batch=BatchKey(f"synth/{fingerprint}/customers"))
    n_orders = n_lines = 0
    for k, (orders, lines) in enumerate(rec.order_batches(world, customers, scale)):
        load.write("silver.synth_orders", orders, batch=BatchKey(f"synth/{fingerprint}/orders/{scale}/{k}"))
        load.write("silver.synth_order_lines", lines, batch=BatchKey(f"synth/{fingerprint}/order_lines/{scale}/{k}"))
        n_orders += orders.height
        n_lines += lines.height
    return {
        "silver.synth_customers": customers.height,
        "silver.synth_orders": n_orders,
        "silver.synth_order_lines": n_lines,
    }


def _entities(lake: Lakehouse, *, seed: int, customers: int = 200, products: int = 120) -> dict[str, Any] | None:
    """Messy customer/product records (issue 7's ``connectors.synth.entities``) and their true entity ids."""
    import importlib.util

    if importlib.util.find_spec("connectors.synth.entities") is None:
        log.info("connectors.synth.entities not available; skipping messy entity records")
        return None
    from connectors.synth import entities

    now = datetime.now(UTC)
    out: dict[str, Any] = {}
    truth: list[dict[str, Any]] = []
    with lake.load("synth.entities") as load:
        plan: tuple[tuple[Literal["customers", "products"], int, str], ...] = (
            ("customers", customers, "silver.customer_records"),
            ("products", products, "silver.product_records"),
        )
        for kind, n, table in plan:
            made = entities.generate(kind, n, seed=seed)
            records = [r | {"ingested_at": now} for r in made.records]
            load.write(table, records, batch=BatchKey(f"synth/entities/{kind}/s{seed}-n{n}"))
            out[kind] = {"records": len(records), "entities": len(set(made.truth.values()))}
            truth.extend(
                {
                    "truth_id": f"entity:{kind}:{key}",
                    "dataset": f"{PREFIX}.entities",
                    "kind": "entity",
                    "series_a": f"{kind}:{key}",
                    "series_b": entity,
                    "seed": seed,
                    "description": f"record {key} is true {kind[:-1]} {entity}",
                }
                for key, entity in sorted(made.truth.items())
            )
        load.write("gold.synth_truth", truth, batch=BatchKey(f"synth/entities/truth/s{seed}-{customers}-{products}"))
    return out


__all__ = [
    "DEFAULT_START",
    "GOLD",
    "RECORD_TABLES",
    "SynthResult",
    "generate",
    "generate_records",
    "gold_series",
    "run_synth",
]
