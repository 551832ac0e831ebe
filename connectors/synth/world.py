"""The seeded latent world: company-level daily series with planted lags, confounders and anomalies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from connectors.synth.calendar import us_business_holidays

GENERATOR_VERSION = "1"
PREFIX = "synth"

# Planted lead-lag relationships: (driver, follower, lag in days, coefficient, description).
RELATIONSHIPS: tuple[tuple[str, str, int, float, str], ...] = (
    ("marketing.spend", "marketing.conversions", 2, 1 / 45, "ad spend converts to customers two days later"),
    ("crm.leads", "crm.deals_won", 14, 0.18, "a lead closes as a won deal after a 14-day sales cycle"),
    (
        "support.tickets",
        "operations.equipment_failures",
        21,
        0.05,
        "support-ticket spikes (product issues in the field) precede equipment failures by 3 weeks",
    ),
    ("support.tickets", "support.response_time_h", 0, 0.01, "more tickets, slower first response the same day"),
)

# Confounded pairs: (a, b, common cause, description). a and b do not drive each other.
CONFOUNDED: tuple[tuple[str, str, str, str], ...] = (
    ("crm.leads", "operations.output_units", "market.demand_index", "market demand drives both leads and output"),
    ("operations.energy_kwh", "hr.absences", "weather.temp_c", "cold weather drives heating energy and sick days"),
)

# Series that receive planted point anomalies (spikes/dips) and level shifts.
POINT_TARGETS: tuple[str, ...] = (
    "marketing.revenue",
    "crm.leads",
    "finance.expenses",
    "support.csat",
    "operations.output_units",
    "operations.defects",
)
SHIFT_TARGETS: tuple[tuple[str, int], ...] = (("operations.uptime_pct", -1), ("support.response_time_h", +1))
CASCADE_LAG = 21  # ticket burst -> failure burst


@dataclass
class World:
    """Company-level daily totals (observed, anomalies included) and the planted truth."""

    start: date
    days: int
    seed: int
    dates: list[date]
    holidays: set[date]
    totals: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]
    """Per system: boolean mask of days with no export at all (outage)."""
    truth: list[dict[str, Any]] = field(default_factory=list)

    def system_of(self, key: str) -> str:
        return key.split(".", 1)[0]


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    out = np.empty(n)
    prev = rng.normal(0, sigma / np.sqrt(1 - phi**2))
    shocks = rng.normal(0, sigma, n)
    for i in range(n):
        prev = phi * prev + shocks[i]
        out[i] = prev
    return out


def _lag(x: np.ndarray, k: int) -> np.ndarray:
    if k == 0:
        return x.copy()
    return np.concatenate([np.full(k, x[0]), x[:-k]])


def robust_scale(y: np.ndarray) -> float:
    """Noise scale of a daily series: MAD of its week-over-week differences, per observation."""
    d = y[7:] - y[:-7]
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))


def series_id(key: str) -> str:
    return f"{PREFIX}.{key}"


def simulate(*, days: int, seed: int, start: date) -> World:
    """Simulate ``days`` days from ``start``; identical for identical arguments."""
    rng = np.random.default_rng(seed)
    n = days
    t = np.arange(n, dtype=float)
    dates = [start + timedelta(days=i) for i in range(n)]
    holidays = us_business_holidays(dates[0], dates[-1])
    dow = np.array([d.weekday() for d in dates])
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    hol = np.array([d in holidays for d in dates])
    workday = (dow < 5) & ~hol
    annual = np.sin(2 * np.pi * (doy - 80) / 365.25)  # peaks in late June
    tot: dict[str, np.ndarray] = {}

    # external drivers (published so an engine can find them as confounders)
    temp = 12 - 9 * np.cos(2 * np.pi * (doy - 20) / 365.25) + _ar1(rng, n, 0.75, 2.0)
    demand = 100 + 0.01 * t + 3 * annual + _ar1(rng, n, 0.8, 9.0)
    tot["weather.temp_c"], tot["market.demand_index"] = temp, demand

    # marketing: spend is planned with weekly rhythm and budget changes; conversions follow 2 days later
    spend = (6000 * (1 + 0.1 * annual) * np.where(dow >= 5, 0.8, 1.0) * np.exp(_ar1(rng, n, 0.6, 0.1))).round(2)
    conv_mean = _lag(spend, 2) / 45 * np.exp(rng.normal(0, 0.04, n))
    conversions = rng.poisson(conv_mean).astype(float)
    impressions = np.round(spend / 6.5 * 1000 * np.exp(rng.normal(0, 0.05, n)))
    clicks = np.round(impressions * 0.018 * np.exp(rng.normal(0, 0.05, n)))
    revenue = (conversions * 118 * np.exp(rng.normal(0, 0.05, n))).round(2)
    tot |= {
        "marketing.spend": spend,
        "marketing.impressions": impressions,
        "marketing.clicks": clicks,
        "marketing.conversions": conversions,
        "marketing.revenue": revenue,
    }

    # CRM: leads follow demand (confounder), deals close 14 days later
    leads = rng.poisson(np.maximum(1, 2.0 * demand) * np.where(workday, 1.0, 0.3)).astype(float)
    deals = rng.binomial(_lag(leads, 14).astype(int), 0.18).astype(float)
    deal_value = (deals * 5200 * np.exp(rng.normal(0, 0.15, n))).round(2)
    tot |= {"crm.leads": leads, "crm.deals_won": deals, "crm.deal_value": deal_value}

    # support: an AR "product issue" process drives tickets now and equipment failures 3 weeks later
    issue = np.clip(_ar1(rng, n, 0.7, 1.0), -2.5, None)
    cascades = _pick_days(rng, n, count=max(1, days // 300), margin=45, avoid=set(), holidays=hol, tail=CASCADE_LAG)
    for d in cascades:
        issue[d] += rng.uniform(9, 12)
    tickets = np.round(np.where(workday, 220, 110) + 20 * issue + rng.normal(0, 8, n)).clip(0)
    tot["support.tickets"] = tickets
    tot["support.response_time_h"] = 2.5 + 0.01 * tickets + rng.normal(0, 0.15, n)
    tot["support.csat"] = 4.45 - 0.0003 * (tickets - 200) + rng.normal(0, 0.04, n)

    # operations: output follows demand; failures follow the issue process 21 days later
    failures = np.round(8 + 1.0 * _lag(issue, CASCADE_LAG) + rng.normal(0, 0.5, n)).clip(0)
    # continuous process plants: they run through weekends and holidays, output follows demand
    output = np.round(10000 * demand / 100 + rng.normal(0, 120, n))
    tot["operations.equipment_failures"] = failures
    tot["operations.output_units"] = output
    defect_rate = 0.02 * np.exp(_ar1(rng, n, 0.7, 0.15))  # process quality drifts on its own
    tot["operations.defects"] = np.round(output * defect_rate + rng.normal(0, 3, n)).clip(0)
    tot["operations.uptime_pct"] = (99.2 - 0.015 * failures + rng.normal(0, 0.08, n)).clip(None, 100)
    tot["operations.energy_kwh"] = np.round(
        40000 + 1.5 * output + 900 * np.maximum(0, 18 - temp) + rng.normal(0, 700, n)
    )

    # HR: hires and attrition accumulate into headcount; cold weather raises absences
    hires = rng.poisson(np.where(workday, 1.1, 0.0)).astype(float)
    attrition = rng.poisson(np.where(workday, 0.8, 0.0)).astype(float)
    headcount = 480 + np.cumsum(hires - attrition)
    absences = np.round(0.02 * headcount + 1.0 * np.maximum(0, 18 - temp) + rng.normal(0, 2.5, n)).clip(0)
    hours = np.round((headcount - absences) * np.where(workday, 7.6, 0.3) + rng.normal(0, 40, n), 1)
    tot |= {
        "hr.headcount": headcount,
        "hr.hires": hires,
        "hr.attrition": attrition,
        "hr.absences": absences,
        "hr.hours_logged": hours,
    }

    # finance: booked from the clean operational numbers (before any measurement glitch)
    payroll = headcount * 310.0
    tot["finance.revenue"] = (revenue + deal_value).round(2)
    tot["finance.expenses"] = (spend + payroll + 9000 + rng.normal(0, 600, n)).round(2)

    world = World(start=start, days=days, seed=seed, dates=dates, holidays=holidays, totals=tot, missing={})
    taken: set[int] = set()
    for d in cascades:
        taken |= {d, d + CASCADE_LAG}
        _truth_cascade(world, d, issue[d])
    _plant_anomalies(world, rng, hol, taken)
    _plant_missing(world, rng, taken)
    _truth_relationships(world)
    return world


def _pick_days(
    rng: np.random.Generator,
    n: int,
    *,
    count: int,
    margin: int,
    avoid: set[int],
    holidays: np.ndarray,
    tail: int = 0,
    spacing: int = 20,
) -> list[int]:
    """Distinct days away from the edges, holidays and each other (deterministic for the rng)."""
    chosen: list[int] = []
    candidates = [
        i for i in range(margin, n - margin - tail) if not holidays[i] and (tail == 0 or not holidays[i + tail])
    ]
    for i in rng.permutation(candidates):
        if len(chosen) == count:
            break
        if all(abs(int(i) - j) >= spacing for j in chosen) and all(abs(int(i) - a) > 3 for a in avoid):
            chosen.append(int(i))
    return sorted(chosen)


def _truth_row(world: World, kind: str, a: str, **kw: Any) -> dict[str, Any]:
    row = {
        "truth_id": "",
        "dataset": PREFIX,
        "kind": kind,
        "series_a": series_id(a),
        "series_b": None,
        "confounder": None,
        "lag_days": None,
        "strength": None,
        "coefficient": None,
        "ts": None,
        "magnitude": None,
        "seed": world.seed,
        "description": "",
    } | kw
    ts = row["ts"].isoformat() if row["ts"] else ""
    row["truth_id"] = f"{kind}:{row['series_a']}:{row['series_b'] or ''}:{ts}"
    return row


def _truth_cascade(world: World, day: int, size: float) -> None:
    world.truth.append(
        _truth_row(
            world,
            "cascade",
            "support.tickets",
            series_b=series_id("operations.equipment_failures"),
            lag_days=CASCADE_LAG,
            ts=world.dates[day],
            magnitude=float(size),
            description="product-issue burst: ticket spike now, equipment-failure spike 21 days later",
        )
    )
    effects = (
        ("support.tickets", day, 20 * size),
        ("support.response_time_h", day, 0.2 * size),  # 0.01 h per ticket
        ("operations.equipment_failures", day + CASCADE_LAG, size),
    )
    for key, d, magnitude in effects:
        world.truth.append(
            _truth_row(
                world, "anomaly", key, ts=world.dates[d], magnitude=float(magnitude), description="cascade burst"
            )
        )


def _plant_anomalies(world: World, rng: np.random.Generator, hol: np.ndarray, taken: set[int]) -> None:
    n = world.days
    per_series = max(1, n // 240)
    for key in POINT_TARGETS:
        y = world.totals[key]
        scale = robust_scale(y)
        for d in _pick_days(rng, n, count=per_series, margin=30, avoid=taken, holidays=hol):
            sign = -1.0 if (key == "support.csat" or rng.random() < 0.4) else 1.0
            delta = sign * rng.uniform(7, 10) * scale
            if y[d] + delta < 0.2 * y[d]:  # a dip cannot go below zero: plant a spike instead
                delta = -delta
            y[d] += delta
            taken.add(d)
            world.truth.append(
                _truth_row(
                    world, "anomaly", key, ts=world.dates[d], magnitude=float(delta), description="planted spike/dip"
                )
            )
    for key, sign in SHIFT_TARGETS:
        y = world.totals[key]
        scale = robust_scale(y)
        picked = _pick_days(rng, n, count=1, margin=max(30, n // 4), avoid=taken, holidays=hol)
        if not picked:
            continue
        d = picked[0]
        delta = sign * rng.uniform(5, 7) * scale
        y[d:] += delta
        taken.add(d)
        world.truth.append(
            _truth_row(world, "level_shift", key, ts=world.dates[d], magnitude=float(delta), description="level shift")
        )


def _plant_missing(world: World, rng: np.random.Generator, taken: set[int]) -> None:
    """Whole-day export outages per system (about 1.5% of days), never on a planted event."""
    systems = sorted({k.split(".", 1)[0] for k in world.totals} - {"weather", "market"})
    blocked = {d + o for d in taken for o in range(-2, 3)}
    for system in systems:
        mask = rng.random(world.days) < 0.015
        mask[list(b for b in blocked if 0 <= b < world.days)] = False
        mask[:30] = False
        world.missing[system] = mask
    world.missing["weather"] = np.zeros(world.days, dtype=bool)
    world.missing["market"] = np.zeros(world.days, dtype=bool)


def _corr_at_lag(x: np.ndarray, y: np.ndarray, lag: int, mx: np.ndarray, my: np.ndarray) -> float:
    xs, ys = (x[:-lag], y[lag:]) if lag else (x, y)
    ok = (~mx[:-lag] & ~my[lag:]) if lag else (~mx & ~my)
    return float(np.corrcoef(xs[ok], ys[ok])[0, 1])


def _truth_relationships(world: World) -> None:
    tot, miss = world.totals, world.missing
    for a, b, lag, coef, text in RELATIONSHIPS:
        r = _corr_at_lag(tot[a], tot[b], lag, miss[a.split(".")[0]], miss[b.split(".")[0]])
        world.truth.append(
            _truth_row(
                world,
                "lead_lag",
                a,
                series_b=series_id(b),
                lag_days=lag,
                strength=r,
                coefficient=coef,
                description=text,
            )
        )
    for a, b, cause, text in CONFOUNDED:
        r = _corr_at_lag(tot[a], tot[b], 0, miss[a.split(".")[0]], miss[b.split(".")[0]])
        world.truth.append(
            _truth_row(
                world,
                "confounded",
                a,
                series_b=series_id(b),
                confounder=series_id(cause),
                lag_days=0,
                strength=r,
                description=text,
            )
        )


__all__ = ["CONFOUNDED", "GENERATOR_VERSION", "RELATIONSHIPS", "World", "robust_scale", "series_id", "simulate"]
