"""The seeded latent world: company-level daily series with planted lags, confounders and anomalies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from connectors.synth.calendar import us_business_holidays

GENERATOR_VERSION = "2"
PREFIX = "synth"
COMPLAINT_LAG = 25  # complaints about a plant's output -> equipment failure at that plant
SITE_CITY = "Chicago"  # the main site (plant-north) whose weather drives heating energy and sick days
SITE_WEATHER = ("weather.temp_max.chicago.daily", "weather.temp_min.chicago.daily")
"""The public gold series (connectors/weather) the site temperature is computed from."""
# Direct planted drivers (cause, effect, lag, sign, description): recorded as kind=driver.
DRIVERS: tuple[tuple[str, str, int, int, str], ...] = (
    ("weather.temp_c", "operations.energy_kwh", 0, -1, "colder days at the site need more heating energy"),
    ("weather.temp_c", "hr.absences", 0, -1, "colder days bring more sick days"),
    ("market.demand_index", "crm.leads", 0, 1, "market demand brings new leads"),
    ("market.demand_index", "operations.output_units", 0, 1, "plants produce to market demand"),
)
SURGE_TEAMS = ("operations", "support")  # teams that get hiring surges (HR department names)
SURGE_DAYS, HIRE_SLIP_LAG = 30, 45
PAYROLL_PER_HEAD = 310.0  # USD per employee per calendar day (the finance ledger books it per cost centre)
# Planted Q3 conversion drop: conversions on one platform in one US region fall by this fraction in Jul-Sep.
Q3_DROP_PLATFORM, Q3_DROP_REGION, Q3_DROP_FRACTION = "meta_ads", "Northeast", 0.75

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
    (
        "operations.complaints",
        "operations.equipment_failures",
        COMPLAINT_LAG,
        0.5,
        "plant-quality complaints (wear noticed by customers) precede equipment failures by 25 days",
    ),
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
    latent: dict[str, np.ndarray] = field(default_factory=dict)
    """Unobserved drivers the record layer needs (product-issue and plant-quality processes, Q3 mask)."""

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


def site_temperature(start: date, days: int) -> np.ndarray:
    """Daily mean temperature at the main site (Chicago): the public weather clock, (max + min) / 2.

    The weather is public, so it does not depend on the enterprise seed: every seed sees the same weather,
    and what lands in ``silver.weather_daily`` from the public recordings is the same series."""
    from connectors.synth.public import DEFAULT_SEED, public_clock

    w = public_clock(start=start, days=days, seed=DEFAULT_SEED).weather[SITE_CITY]
    return np.round((w.temp_max + w.temp_min) / 2, 2)


def q3_drop_share() -> float:
    """Fraction of all conversions lost in Q3: the dropped cell's share of conversions times the drop."""
    from connectors.synth.dims import COUNTRIES, COUNTRY_SHARE, PLATFORM_SHARE, PLATFORMS, REGION_SHARE, US_REGIONS

    cell = (
        PLATFORM_SHARE[PLATFORMS.index(Q3_DROP_PLATFORM)]
        * COUNTRY_SHARE[COUNTRIES.index("US")]
        * REGION_SHARE[US_REGIONS.index(Q3_DROP_REGION)]
    )
    return Q3_DROP_FRACTION * cell


def robust_scale(y: np.ndarray) -> float:
    """Noise scale of a daily series: MAD of its week-over-week differences, per observation."""
    d = y[7:] - y[:-7]
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))


def series_id(key: str) -> str:
    return f"{PREFIX}.{key}"


def simulate(*, days: int, seed: int, start: date) -> World:
    """Simulate ``days`` days from ``start``; identical for identical arguments."""
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 11])  # draws added in v2 use their own stream: v1 draws are unchanged
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
    _ar1(rng, n, 0.75, 2.0)  # v1 drew its own temperature here; the draw is kept so later draws are unchanged
    temp = site_temperature(start, days)
    demand = 100 + 0.01 * t + 3 * annual + _ar1(rng, n, 0.8, 9.0)
    tot["weather.temp_c"], tot["market.demand_index"] = temp, demand

    # marketing: spend is planned with weekly rhythm and budget changes; conversions follow 2 days later
    spend = (6000 * (1 + 0.1 * annual) * np.where(dow >= 5, 0.8, 1.0) * np.exp(_ar1(rng, n, 0.6, 0.1))).round(2)
    conv_mean = _lag(spend, 2) / 45 * np.exp(rng.normal(0, 0.04, n))
    conversions = rng.poisson(conv_mean).astype(float)
    q3 = np.array([d.month in (7, 8, 9) for d in dates])
    conversions[q3] -= extra.binomial(conversions[q3].astype(int), q3_drop_share())
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
    # plant quality wear: customers complain about it now, the equipment fails COMPLAINT_LAG days later
    quality = _ar1(extra, n, 0.6, 1.0)
    failures = np.round(
        8 + 1.0 * _lag(issue, CASCADE_LAG) + 1.0 * _lag(quality, COMPLAINT_LAG) + rng.normal(0, 0.5, n)
    ).clip(0)
    tot["operations.complaints"] = extra.poisson(np.maximum(0.2, 8 + 2.5 * quality)).astype(float)
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
    # hiring surges: one team hires heavily for SURGE_DAYS (its projects slip HIRE_SLIP_LAG days later)
    surge = np.zeros((n, len(SURGE_TEAMS)))
    for k, d in enumerate(
        _pick_days(extra, n, count=max(1, days // 240), margin=60, avoid=set(), holidays=hol, spacing=90)
    ):
        team = k % len(SURGE_TEAMS)
        window = slice(d, min(n, d + SURGE_DAYS))
        surge[window, team] = extra.poisson(np.where(workday[window], 1.2, 0.0))
    hires = hires + surge.sum(axis=1)
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
    payroll = headcount * PAYROLL_PER_HEAD
    tot["finance.revenue"] = (revenue + deal_value).round(2)
    tot["finance.expenses"] = (spend + payroll + 9000 + rng.normal(0, 600, n)).round(2)

    world = World(start=start, days=days, seed=seed, dates=dates, holidays=holidays, totals=tot, missing={})
    world.latent = {"issue": issue, "quality": quality, "q3": q3, "surge": surge}
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


def truth_row(world: World, kind: str, series_a: str, **kw: Any) -> dict[str, Any]:
    """One ``gold.synth_truth`` row: ``series_a`` as given (a catalogue id or a record-level name such as
    ``hires:support``), the other columns from ``kw``; the id is kind:series_a:series_b:date."""
    row = {
        "truth_id": "",
        "dataset": PREFIX,
        "kind": kind,
        "series_a": series_a,
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


def _truth_row(world: World, kind: str, a: str, **kw: Any) -> dict[str, Any]:
    """A truth row about the synthetic series ``a`` (a key such as ``crm.leads``)."""
    return truth_row(world, kind, series_id(a), **kw)


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
    for a, b, lag, _sign, text in DRIVERS:
        r = _corr_at_lag(tot[a], tot[b], lag, miss[a.split(".")[0]], miss[b.split(".")[0]])
        world.truth.append(
            _truth_row(world, "driver", a, series_b=series_id(b), lag_days=lag, strength=r, description=text)
        )
        if a == "weather.temp_c":  # the same relation seen from the public weather series the site follows
            for public in SITE_WEATHER:
                world.truth.append(
                    truth_row(
                        world,
                        "driver",
                        public,
                        series_b=series_id(b),
                        lag_days=lag,
                        description=f"{text} (public weather)",
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


__all__ = [
    "COMPLAINT_LAG",
    "CONFOUNDED",
    "GENERATOR_VERSION",
    "PAYROLL_PER_HEAD",
    "Q3_DROP_FRACTION",
    "Q3_DROP_PLATFORM",
    "Q3_DROP_REGION",
    "RELATIONSHIPS",
    "World",
    "q3_drop_share",
    "robust_scale",
    "series_id",
    "simulate",
    "truth_row",
]
