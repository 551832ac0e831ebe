"""The source systems: split world totals into each system's records, as raw exports and typed rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from connectors.synth.dims import COUNTRIES, COUNTRY_SHARE, PLATFORM_SHARE, PLATFORMS, REGION_SHARE, US_REGIONS
from connectors.synth.world import Q3_DROP_FRACTION, Q3_DROP_PLATFORM, Q3_DROP_REGION, SURGE_TEAMS, World

CAMPAIGNS = ("brand", "performance")
CAMPAIGN_SHARE = (0.35, 0.65)
DEVICES = ("mobile", "desktop")
DEVICE_SHARE = (0.62, 0.38)
SUPPORT_CHANNELS = ("email", "chat", "phone")
SUPPORT_SHARE = (0.5, 0.3, 0.2)
PLANTS = ("plant-north", "plant-south")
PLANT_SHARE = (0.6, 0.4)
DEPARTMENTS = ("sales", "marketing", "operations", "support", "finance")
DEPT_SHARE = (0.22, 0.12, 0.4, 0.18, 0.08)
BUSINESS_UNITS = ("online", "enterprise")


@dataclass(frozen=True)
class System:
    """One source system: its silver table, record key columns and raw (de)serialisers."""

    name: str
    entity: str
    silver: str
    key: tuple[str, ...]
    to_raw: Callable[[dict[str, Any]], dict[str, Any]]
    parse: Callable[[dict[str, Any]], dict[str, Any]]


def _split_counts(rng: np.random.Generator, total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split integer totals (n,) into (n, k) counts that add up exactly."""
    out = np.zeros((len(total), len(shares)))
    for i, v in enumerate(total):
        out[i] = rng.multinomial(int(max(0, round(v))), shares)
    return out


def _split_amounts(rng: np.random.Generator, total: np.ndarray, shares: np.ndarray, jitter: float) -> np.ndarray:
    """Split amounts (n,) into (n, k) parts that add up (to the cent) with day-to-day jitter."""
    w = shares[None, :] * np.exp(rng.normal(0, jitter, (len(total), len(shares))))
    w /= w.sum(axis=1, keepdims=True)
    parts = np.round(total[:, None] * w, 2)
    parts[:, -1] = np.round(total - parts[:, :-1].sum(axis=1), 2)
    return parts


def _mean_offsets(rng: np.random.Generator, n: int, k: int, sd: float) -> np.ndarray:
    """Per-row offsets (n, k) with zero mean per day, so a plain mean across rows equals the total."""
    o = rng.normal(0, sd, (n, k)) + np.linspace(-sd, sd, k)[None, :]
    return o - o.mean(axis=1, keepdims=True)


def rows_by_system(world: World, rng: np.random.Generator) -> dict[str, list[dict[str, Any]]]:
    """Typed silver rows of every system (outage days dropped)."""
    tot, dates, n = world.totals, world.dates, world.days
    out: dict[str, list[dict[str, Any]]] = {}

    # marketing: platform x campaign x country x device x day
    cells = [(p, c, k, d) for p in PLATFORMS for c in CAMPAIGNS for k in COUNTRIES for d in DEVICES]
    share = np.array(
        [
            PLATFORM_SHARE[PLATFORMS.index(p)]
            * CAMPAIGN_SHARE[CAMPAIGNS.index(c)]
            * COUNTRY_SHARE[COUNTRIES.index(k)]
            * DEVICE_SHARE[DEVICES.index(d)]
            for p, c, k, d in cells
        ]
    )
    spend = _split_amounts(rng, tot["marketing.spend"], share, 0.08)
    impressions = _split_counts(rng, tot["marketing.impressions"], spend.mean(axis=0) / spend.mean(axis=0).sum())
    clicks = _split_counts(rng, tot["marketing.clicks"], share)
    conversions = _split_counts(rng, tot["marketing.conversions"], share)
    # the planted Q3 drop (one platform, one US region): that platform's US cells get less of the (lower) total
    q3 = world.latent.get("q3", np.zeros(n, dtype=bool))
    if q3.any():
        dropped = np.array([p == Q3_DROP_PLATFORM and k == "US" for p, _, k, _ in cells])
        q3_share = np.where(
            dropped, share * (1 - Q3_DROP_FRACTION * REGION_SHARE[US_REGIONS.index(Q3_DROP_REGION)]), share
        )
        q3_share /= q3_share.sum()
        conversions[q3] = _split_counts(rng_q3(world), tot["marketing.conversions"][q3], q3_share)
    revenue = np.zeros_like(spend)
    for i in range(n):
        c = conversions[i]
        w = c / c.sum() if c.sum() else share
        revenue[i] = np.round(tot["marketing.revenue"][i] * w, 2)
    rows = []
    for i, day in enumerate(dates):
        if world.missing["marketing"][i]:
            continue
        for j, (p, c, k, d) in enumerate(cells):
            rows.append(
                {
                    "date": day,
                    "platform": p,
                    "campaign": f"{p.split('_')[0]}-{c}-{k.lower()}",
                    "country": k,
                    "device": d,
                    "spend": float(spend[i, j]),
                    "impressions": int(impressions[i, j]),
                    "clicks": int(clicks[i, j]),
                    "conversions": int(conversions[i, j]),
                    "revenue": float(revenue[i, j]),
                }
            )
    out["marketing"] = rows

    # CRM per country
    leads = _split_counts(rng, tot["crm.leads"], np.array(COUNTRY_SHARE))
    deals = _split_counts(rng, tot["crm.deals_won"], np.array(COUNTRY_SHARE))
    value = np.zeros_like(leads)
    for i in range(n):
        w = deals[i] / deals[i].sum() if deals[i].sum() else np.array(COUNTRY_SHARE)
        value[i] = np.round(tot["crm.deal_value"][i] * w, 2)
    out["crm"] = [
        {
            "date": day,
            "country": k,
            "leads": int(leads[i, j]),
            "deals_won": int(deals[i, j]),
            "deal_value": float(value[i, j]),
        }
        for i, day in enumerate(dates)
        if not world.missing["crm"][i]
        for j, k in enumerate(COUNTRIES)
    ]

    # support per channel
    tickets = _split_counts(rng, tot["support.tickets"], np.array(SUPPORT_SHARE))
    csat = tot["support.csat"][:, None] + _mean_offsets(rng, n, 3, 0.05)
    resp = tot["support.response_time_h"][:, None] + _mean_offsets(rng, n, 3, 0.4)
    out["support"] = [
        {
            "date": day,
            "channel": ch,
            "tickets": int(tickets[i, j]),
            "csat": float(csat[i, j]),
            "response_time_h": float(resp[i, j]),
        }
        for i, day in enumerate(dates)
        if not world.missing["support"][i]
        for j, ch in enumerate(SUPPORT_CHANNELS)
    ]

    # operations per plant
    ps = np.array(PLANT_SHARE)
    output = _split_counts(rng, tot["operations.output_units"], ps)
    defects = _split_counts(rng, tot["operations.defects"], ps)
    failures = _split_counts(rng, tot["operations.equipment_failures"], ps)
    energy = _split_counts(rng, tot["operations.energy_kwh"], ps)
    uptime = tot["operations.uptime_pct"][:, None] + _mean_offsets(rng, n, 2, 0.05)
    out["operations"] = [
        {
            "date": day,
            "plant": pl,
            "output_units": int(output[i, j]),
            "defects": int(defects[i, j]),
            "equipment_failures": int(failures[i, j]),
            "uptime_pct": float(uptime[i, j]),
            "energy_kwh": float(energy[i, j]),
        }
        for i, day in enumerate(dates)
        if not world.missing["operations"][i]
        for j, pl in enumerate(PLANTS)
    ]

    # HR per department (headcount is a level: split the opening headcount, then accumulate flows)
    ds = np.array(DEPT_SHARE)
    surge = world.latent.get("surge", np.zeros((n, 0)))
    hires = _split_counts(rng, tot["hr.hires"] - surge.sum(axis=1), ds)
    for si, surge_team in enumerate(SURGE_TEAMS):
        hires[:, DEPARTMENTS.index(surge_team)] += surge[:, si]
    attrition = _split_counts(rng, tot["hr.attrition"], ds)
    opening = rng.multinomial(int(tot["hr.headcount"][0] - tot["hr.hires"][0] + tot["hr.attrition"][0]), ds)
    headcount = opening[None, :] + np.cumsum(hires - attrition, axis=0)
    world.latent["hr_flows"] = np.stack([hires, attrition])  # (2, days, departments), outage days included
    world.latent["hr_opening"] = np.asarray(opening, dtype=float)
    absences = _split_counts(rng, tot["hr.absences"], ds)
    hours = _split_amounts(rng, tot["hr.hours_logged"], ds, 0.02)
    out["hr"] = [
        {
            "date": day,
            "department": dep,
            "headcount": int(headcount[i, j]),
            "hires": int(hires[i, j]),
            "attrition": int(attrition[i, j]),
            "absences": int(absences[i, j]),
            "hours_logged": float(hours[i, j]),
        }
        for i, day in enumerate(dates)
        if not world.missing["hr"][i]
        for j, dep in enumerate(DEPARTMENTS)
    ]

    # finance (the daily ledger per business unit) and budget vs actual are derived from the journal and the
    # budget lines (connectors/synth/ledger.py, via records.build)
    world.latent["hr_headcount"] = headcount.astype(float)  # (days, departments)

    # external drivers (weather station and a market-demand index)
    out["drivers"] = [
        {"date": day, "temp_c": float(tot["weather.temp_c"][i]), "demand_index": float(tot["market.demand_index"][i])}
        for i, day in enumerate(dates)
    ]
    return out


def rng_q3(world: World) -> np.random.Generator:
    """Own stream for the Q3 re-split, so the v1 draws of every other system are unchanged."""
    return np.random.default_rng([world.seed, 12])


# ------------------------------------------------------------------- raw export shapes (bronze)
def _d(value: Any) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _mk_raw(row: dict[str, Any]) -> dict[str, Any]:
    # an ads-API-like export: money in micros, counters as strings, nested segments
    return {
        "segments": {"date": _d(row["date"]), "device": row["device"].upper(), "geo": row["country"]},
        "campaign": {"name": row["campaign"], "platform": row["platform"]},
        "metrics": {
            "costMicros": str(round(row["spend"] * 1_000_000)),
            "impressions": str(row["impressions"]),
            "clicks": str(row["clicks"]),
            "conversions": str(row["conversions"]),
            "conversionsValue": f"{row['revenue']:.2f}",
        },
    }


def _mk_parse(raw: dict[str, Any]) -> dict[str, Any]:
    m = raw["metrics"]
    return {
        "date": date.fromisoformat(raw["segments"]["date"]),
        "platform": raw["campaign"]["platform"],
        "campaign": raw["campaign"]["name"],
        "country": raw["segments"]["geo"],
        "device": raw["segments"]["device"].lower(),
        "spend": int(m["costMicros"]) / 1_000_000,
        "impressions": int(m["impressions"]),
        "clicks": int(m["clicks"]),
        "conversions": int(m["conversions"]),
        "revenue": float(m["conversionsValue"]),
    }


def _flat_raw(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _d(v) if isinstance(v, date) else v for k, v in row.items()}


def _flat_parser(date_col: str, ints: tuple[str, ...], floats: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
    def parse(raw: dict[str, Any]) -> dict[str, Any]:
        row = dict(raw)
        row[date_col] = date.fromisoformat(raw[date_col])
        for c in ints:
            row[c] = int(raw[c])
        for c in floats:
            row[c] = float(raw[c])
        return row

    return parse


SYSTEMS: dict[str, System] = {
    s.name: s
    for s in (
        System(
            "marketing",
            "ad_performance",
            "silver.synth_marketing",
            ("date", "campaign", "country", "device"),
            _mk_raw,
            _mk_parse,
        ),
        System(
            "crm",
            "pipeline_daily",
            "silver.synth_crm",
            ("date", "country"),
            _flat_raw,
            _flat_parser("date", ("leads", "deals_won"), ("deal_value",)),
        ),
        System(
            "support",
            "ticket_stats",
            "silver.synth_support",
            ("date", "channel"),
            _flat_raw,
            _flat_parser("date", ("tickets",), ("csat", "response_time_h")),
        ),
        System(
            "operations",
            "plant_daily",
            "silver.synth_operations",
            ("date", "plant"),
            _flat_raw,
            _flat_parser("date", ("output_units", "defects", "equipment_failures"), ("uptime_pct", "energy_kwh")),
        ),
        System(
            "hr",
            "department_daily",
            "silver.synth_hr",
            ("date", "department"),
            _flat_raw,
            _flat_parser("date", ("headcount", "hires", "attrition", "absences"), ("hours_logged",)),
        ),
        System(
            "finance",
            "ledger_daily",
            "silver.synth_finance",
            ("date", "business_unit"),
            _flat_raw,
            _flat_parser("date", (), ("revenue", "expenses")),
        ),
        System(
            "budget",
            "budget_vs_actual",
            "silver.synth_budget",
            ("month", "department"),
            _flat_raw,
            _flat_parser("month", (), ("budget", "actual", "variance")),
        ),
        System(
            "drivers",
            "external_drivers",
            "silver.synth_drivers",
            ("date",),
            _flat_raw,
            _flat_parser("date", (), ("temp_c", "demand_index")),
        ),
    )
}


def record_key(system: System, row: dict[str, Any]) -> str:
    return "/".join(_d(row[k]) for k in system.key)


def raw_payload(system: System, row: dict[str, Any]) -> str:
    return json.dumps(system.to_raw(row), sort_keys=True, separators=(",", ":"))


__all__ = ["SYSTEMS", "System", "raw_payload", "record_key", "rows_by_system"]
