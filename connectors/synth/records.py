"""The record layer: what the systems really export (campaign rows, tickets, releases, plant events, employees,
projects, customers, orders), messy, and the cleaning that turns the exports into typed silver rows.

The daily system tables (``silver.synth_marketing``, ``silver.synth_support``, the failures column of
``silver.synth_operations``, and through ``ledger.py`` ``silver.synth_finance`` and ``silver.synth_budget``) are
aggregated from the cleaned records, so they are exactly their sums. The messy-export machinery is in
``exports.py``.
Everything here draws from its own seeded streams: the same seed gives the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from connectors.synth import ledger
from connectors.synth.dims import (
    COUNTRY_SHARE,
    PLANT_CITY,
    PRODUCTS,
    REGION_SHARE,
    REGIONS,
    SEGMENT_SHARE,
    SEGMENTS,
    TEAMS,
    US_REGIONS,
)
from connectors.synth.exports import Export, clean, clean_export, mess
from connectors.synth.world import (
    HIRE_SLIP_LAG,
    Q3_DROP_FRACTION,
    Q3_DROP_PLATFORM,
    Q3_DROP_REGION,
    SURGE_DAYS,
    SURGE_TEAMS,
    World,
    series_id,
    truth_row,
)

PRODUCT_SHARE = (0.45, 0.35, 0.2)
RELEASE_BOOST, RELEASE_DAYS = 8.0, 14  # a major release multiplies its feature's ticket weight, decaying over 14 days
SLIP_PER_HIRE = 1.5  # days of delivery slip per hire the team made in the onboarding window
ORDER_CHANNELS = ("web", "app", "partner")
ORDER_CHANNEL_SHARE = (0.55, 0.3, 0.15)

_NEGATIVE = (
    "The {f} in {p} keeps failing since the update",
    "{p} {f} is broken again, this is costing us time",
    "Cannot use {f} in {p} at all after the release",
)
_NEUTRAL = ("Question about {f} in {p}", "How do I configure {f} in {p}?", "{p}: {f} behaves differently than the docs")
_POSITIVE = (
    "Thanks, the {f} fix in {p} works",
    "{p} {f} works well now, closing",
    "Quick help with {f} in {p}, solved",
)


@dataclass
class Records:
    """Cleaned record tables (polars, silver shape), what cleaning removed, and the truth they plant."""

    tables: dict[str, pl.DataFrame]
    quarantine: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cleaning: dict[str, dict[str, int]] = field(default_factory=dict)
    truth: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, frame: pl.DataFrame, bad: list[dict[str, Any]], counts: dict[str, int]) -> None:
        """A cleaned export: its rows, what was quarantined and the cleaning counts."""
        self.tables[name], self.quarantine[name], self.cleaning[name] = frame, bad, counts


def _rng(world: World, stream: int) -> np.random.Generator:
    return np.random.default_rng([world.seed, 100 + stream])


def _split(rng: np.random.Generator, total: int, shares: np.ndarray) -> np.ndarray:
    return rng.multinomial(max(0, int(total)), shares / shares.sum())


# ----------------------------------------------------------------------------------------------- campaigns
def campaign_exports(world: World, marketing: list[dict[str, Any]]) -> pl.DataFrame:
    """Daily campaign rows by platform x region x device as the ad platforms export them (before cleaning)."""
    rng = _rng(world, 1)
    q3 = world.latent.get("q3", np.zeros(world.days, dtype=bool))
    index = {d: i for i, d in enumerate(world.dates)}
    base = np.array(REGION_SHARE)
    dropped = base.copy()
    dropped[US_REGIONS.index(Q3_DROP_REGION)] *= 1 - Q3_DROP_FRACTION
    cols: dict[str, list[Any]] = {k: [] for k in _CAMPAIGN_COLS}
    for row in marketing:
        regions: tuple[str, ...] = US_REGIONS if row["country"] == "US" else (row["country"],)
        k = len(regions)
        if k == 1:
            parts = {m: np.array([row[m]]) for m in ("spend", "impressions", "clicks", "conversions", "revenue")}
        else:
            w = base * np.exp(rng.normal(0, 0.05, k))
            w /= w.sum()
            spend = np.round(row["spend"] * w, 2)
            spend[-1] = round(row["spend"] - spend[:-1].sum(), 2)
            conv_share = dropped if (row["platform"] == Q3_DROP_PLATFORM and q3[index[row["date"]]]) else base
            conv = _split(rng, row["conversions"], conv_share)
            cw = conv / conv.sum() if conv.sum() else base
            revenue = np.round(row["revenue"] * cw, 2)
            revenue[-1] = round(row["revenue"] - revenue[:-1].sum(), 2)
            parts = {
                "spend": spend,
                "impressions": _split(rng, row["impressions"], w),
                "clicks": _split(rng, row["clicks"], w),
                "conversions": conv,
                "revenue": revenue,
            }
        for j, region in enumerate(regions):
            for c in ("date", "platform", "campaign", "country", "device"):
                cols[c].append(row[c])
            cols["region"].append(region)
            for m, v in parts.items():
                cols[m].append(float(v[j]) if m in ("spend", "revenue") else int(v[j]))
    frame = pl.DataFrame(cols, schema=_CAMPAIGN_SCHEMA)
    return frame.with_columns(pl.col("date").cast(pl.Datetime("us", "UTC")).alias("exported_at"))


_CAMPAIGN_SCHEMA = {
    "date": pl.Date,
    "platform": pl.String,
    "campaign": pl.String,
    "region": pl.String,
    "country": pl.String,
    "device": pl.String,
    "spend": pl.Float64,
    "impressions": pl.Int64,
    "clicks": pl.Int64,
    "conversions": pl.Int64,
    "revenue": pl.Float64,
}
_CAMPAIGN_COLS = tuple(_CAMPAIGN_SCHEMA)
CAMPAIGN_KEY = ("date", "campaign", "region", "device")


def marketing_from_campaigns(campaigns: pl.DataFrame) -> list[dict[str, Any]]:
    """``silver.synth_marketing`` rows: the cleaned campaign rows summed over regions."""
    agg = (
        campaigns.group_by("date", "platform", "campaign", "country", "device", maintain_order=True)
        .agg(
            pl.col("spend").sum().round(2),
            pl.col("impressions").sum(),
            pl.col("clicks").sum(),
            pl.col("conversions").sum(),
            pl.col("revenue").sum().round(2),
        )
        .sort("date", "platform", "campaign", "country", "device")
    )
    return agg.to_dicts()


# ----------------------------------------------------------------------------------------------- releases
def release_calendar(world: World) -> pl.DataFrame:
    """Per product: a major release about every 4 months (one headline feature), minor ones monthly."""
    rng = _rng(world, 2)
    rows = []
    for product, (features, _) in PRODUCTS.items():
        major, minor = 0, 0
        day = int(rng.integers(20, 60))
        while day < world.days - RELEASE_DAYS:
            is_major = major == 0 or minor >= 3
            if is_major:
                major, minor = major + 1, 0
            else:
                minor += 1
            rows.append(
                {
                    "product": product,
                    "version": f"{major}.{minor}",
                    "release_date": world.dates[day],
                    "kind": "major" if is_major else "minor",
                    "feature": str(features[int(rng.integers(len(features)))]),
                }
            )
            day += int(rng.integers(24, 38))
    return pl.DataFrame(rows).sort("release_date", "product")


def _feature_weights(world: World, releases: pl.DataFrame) -> dict[str, np.ndarray]:
    """Per product: (days, features) ticket weights; major releases boost their feature for two weeks."""
    out = {}
    for product, (features, _) in PRODUCTS.items():
        w = np.ones((world.days, len(features)))
        for rel in releases.filter((pl.col("product") == product) & (pl.col("kind") == "major")).iter_rows(named=True):
            d0 = (rel["release_date"] - world.start).days
            j = features.index(rel["feature"])
            for k in range(RELEASE_DAYS):
                if d0 + k < world.days:
                    w[d0 + k, j] *= 1 + (RELEASE_BOOST - 1) * (1 - k / RELEASE_DAYS)
        out[product] = w / w.sum(axis=1, keepdims=True)
    return out


# ----------------------------------------------------------------------------------------------- tickets
def ticket_exports(world: World, support: list[dict[str, Any]], releases: pl.DataFrame) -> pl.DataFrame:
    """One row per ticket as the help desk exports it; the per-channel daily stats are exactly their means."""
    rng = _rng(world, 3)
    weights = _feature_weights(world, releases)
    region_p = np.array([COUNTRY_SHARE[0] * s for s in REGION_SHARE] + list(COUNTRY_SHARE[1:]))
    products = list(PRODUCTS)
    chunks = []
    serial = 0
    for row in support:
        n = int(row["tickets"])
        if n == 0:
            continue
        i = (row["date"] - world.start).days
        prod_idx = rng.choice(len(products), n, p=np.array(PRODUCT_SHARE))
        feats = np.empty(n, dtype=object)
        for p_i, product in enumerate(products):
            sel = prod_idx == p_i
            names = PRODUCTS[product][0]
            feats[sel] = np.array(names, dtype=object)[rng.choice(len(names), int(sel.sum()), p=weights[product][i])]
        resp = _zero_mean(rng, n, 0.8, row["response_time_h"], low=0.05, high=72.0)
        csat = _zero_mean(rng, n, 0.35, row["csat"], low=1.0, high=5.0)
        opened = rng.uniform(0, 86_400 - 1, n)
        tone = np.where(csat < row["csat"] - 0.1, 0, np.where(csat > row["csat"] + 0.1, 2, 1))
        template = rng.integers(0, 3, n)
        texts = [
            (_NEGATIVE, _NEUTRAL, _POSITIVE)[t][k].format(p=products[p], f=str(f).replace("_", " "))
            for t, k, p, f in zip(tone, template, prod_idx, feats, strict=True)
        ]
        day0 = datetime(row["date"].year, row["date"].month, row["date"].day, tzinfo=UTC)
        chunks.append(
            pl.DataFrame(
                {
                    "ticket_id": [f"T{world.seed}-{serial + k:07d}" for k in range(n)],
                    "opened_s": opened,
                    "resp_h": resp,
                    "resolve_h": resp + rng.exponential(20.0, n),
                    "product": [products[p] for p in prod_idx],
                    "feature": feats.tolist(),
                    "channel": [row["channel"]] * n,
                    "region": np.array(REGIONS)[rng.choice(len(REGIONS), n, p=region_p)].tolist(),
                    "csat": csat,
                    "text": texts,
                }
            ).with_columns(pl.lit(day0).alias("day0"))
        )
        serial += n
    frame = pl.concat(chunks)
    base = pl.col("day0")
    frame = frame.select(
        "ticket_id",
        (base + pl.duration(microseconds=(pl.col("opened_s") * 1e6).cast(pl.Int64))).alias("opened_at"),
        (base + pl.duration(microseconds=((pl.col("opened_s") + pl.col("resp_h") * 3600) * 1e6).cast(pl.Int64))).alias(
            "first_response_at"
        ),
        (
            base + pl.duration(microseconds=((pl.col("opened_s") + pl.col("resolve_h") * 3600) * 1e6).cast(pl.Int64))
        ).alias("resolved_at"),
        "product",
        "feature",
        "channel",
        "region",
        pl.col("resp_h").alias("response_time_h"),
        "csat",
        pl.col("text").alias("sentiment_text"),
    )
    # the desk exports each ticket once it is resolved: late rows land days after they were opened
    return frame.with_columns(pl.col("resolved_at").dt.truncate("1d").alias("exported_at"))


def _zero_mean(rng: np.random.Generator, n: int, sd: float, mean: float, *, low: float, high: float) -> np.ndarray:
    """n values around ``mean`` whose mean is exactly ``mean`` and which stay inside [low, high]."""
    if n == 1:
        return np.array([mean])
    o = rng.normal(0, sd, n)
    o -= o.mean()
    scale = 1.0
    if o.max() > 0:
        scale = min(scale, (high - mean) / o.max())
    if o.min() < 0:
        scale = min(scale, (mean - low) / -o.min())
    return mean + o * max(0.0, scale)


def support_from_tickets(tickets: pl.DataFrame) -> list[dict[str, Any]]:
    """``silver.synth_support`` rows: tickets opened per day and channel, mean csat and first-response time."""
    agg = (
        tickets.group_by(pl.col("opened_at").dt.date().alias("date"), "channel")
        .agg(pl.len().cast(pl.Int64).alias("tickets"), pl.col("csat").mean(), pl.col("response_time_h").mean())
        .sort("date", "channel")
    )
    return agg.to_dicts()


def release_truth(world: World, releases: pl.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for rel in releases.filter(pl.col("kind") == "major").iter_rows(named=True):
        product, feature = rel["product"], rel["feature"]
        rows.append(
            truth_row(
                world,
                "release_effect",
                f"release:{product} {rel['version']}",
                series_b=f"tickets:{product}/{feature}",
                lag_days=0,
                ts=rel["release_date"],
                magnitude=RELEASE_BOOST,
                description=(
                    f"major release {product} {rel['version']}: tickets about {feature} rise up to "
                    f"{RELEASE_BOOST:g}x its usual share for {RELEASE_DAYS} days"
                ),
            )
        )
    return rows


# ----------------------------------------------------------------------------------------------- plant events
def equipment_events(world: World, operations: list[dict[str, Any]]) -> pl.DataFrame:
    """Failure events (one per failure in the plant exports) and customer complaints about the plants' output."""
    rng = _rng(world, 4)
    plants = list(PLANT_CITY)
    ids: list[str] = []
    plant_col: list[str] = []
    kinds: list[str] = []
    ts: list[datetime] = []
    equipment: list[str] = []

    def add(day: date, plant: str, kind: str, n: int) -> None:
        base = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for s in np.sort(rng.uniform(0, 86_400 - 1, n)):
            ids.append(f"E{world.seed}-{len(ids):07d}")
            plant_col.append(plant)
            kinds.append(kind)
            ts.append(base + timedelta(seconds=float(s)))
            equipment.append(f"{plant}-{'press' if rng.random() < 0.5 else 'line'}-{int(rng.integers(1, 9))}")

    for row in operations:
        add(row["date"], row["plant"], "failure", int(row["equipment_failures"]))
    complaints = world.totals.get("operations.complaints")
    if complaints is not None:
        for i, day in enumerate(world.dates):
            for plant, k in zip(plants, _split(rng, int(complaints[i]), np.array([0.6, 0.4])), strict=True):
                add(day, plant, "complaint", int(k))
    return pl.DataFrame(
        {"event_id": ids, "plant": plant_col, "equipment_id": equipment, "kind": kinds, "ts": ts},
        schema={
            "event_id": pl.String,
            "plant": pl.String,
            "equipment_id": pl.String,
            "kind": pl.String,
            "ts": pl.Datetime("us", "UTC"),
        },
    ).sort("ts", "event_id")


def daily_events(events: pl.DataFrame) -> pl.DataFrame:
    """Events per day, plant and kind (failures, complaints) as columns."""
    return (
        events.group_by(pl.col("ts").dt.date().alias("date"), "plant")
        .agg(
            (pl.col("kind") == "failure").sum().cast(pl.Int64).alias("equipment_failures"),
            (pl.col("kind") == "complaint").sum().cast(pl.Int64).alias("complaints"),
        )
        .sort("date", "plant")
    )


# ----------------------------------------------------------------------------------------------- people
def employees_and_projects(world: World) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Employees (hire and exit dates per team) from the HR flows, and projects whose delivery slips after
    the team's hiring surges (onboarding load) with a lag of ``HIRE_SLIP_LAG`` days."""
    rng = _rng(world, 5)
    emp: list[dict[str, Any]] = []
    active: dict[str, list[int]] = {t: [] for t in TEAMS}
    flows = world.latent.get("hr_flows")
    opening = world.latent.get("hr_opening")
    if flows is None or opening is None:  # pragma: no cover - rows_by_system always records the flows
        raise ValueError("the HR flows are missing from the world: build the records from rows_by_system output")
    hires = flows[0]
    for t, team in enumerate(TEAMS):  # the opening staff, hired before the window
        for _ in range(int(opening[t])):
            active[team].append(len(emp))
            emp.append({"team": team, "hire_date": world.start - timedelta(days=int(rng.integers(30, 3000)))})
    for i, day in enumerate(world.dates):
        for t, team in enumerate(TEAMS):
            for _ in range(int(flows[0, i, t])):
                active[team].append(len(emp))
                emp.append({"team": team, "hire_date": day})
            for _ in range(min(int(flows[1, i, t]), len(active[team]))):
                leaver = active[team].pop(int(rng.integers(len(active[team]))))
                emp[leaver]["exit_date"] = day
    employees = pl.DataFrame(
        [
            {
                "employee_id": f"P{world.seed}-{k:05d}",
                "team": e["team"],
                "region": REGIONS[int(rng.choice(len(REGIONS), p=[0.35, 0.15, 0.2, 0.1, 0.12, 0.08]))],
                "hire_date": e["hire_date"],
                "exit_date": e.get("exit_date"),
            }
            for k, e in enumerate(emp)
        ],
        schema={
            "employee_id": pl.String,
            "team": pl.String,
            "region": pl.String,
            "hire_date": pl.Date,
            "exit_date": pl.Date,
        },
    )
    projects: list[dict[str, Any]] = []
    for t, team in enumerate(TEAMS):
        first = int(rng.integers(0, 20))
        while first < world.days:
            planned_days = int(rng.integers(40, 120))
            end = first + planned_days
            lo, hi = max(0, end - HIRE_SLIP_LAG - SURGE_DAYS), max(0, end - HIRE_SLIP_LAG)
            onboarding = float(hires[lo:hi, t].sum())
            slip = max(0, round(rng.normal(3, 2.5) + SLIP_PER_HIRE * max(0.0, onboarding - _usual(hires[:, t]))))
            delivered = end + slip
            projects.append(
                {
                    "project_id": f"J{world.seed}-{len(projects):04d}",
                    "team": team,
                    "start_date": world.start + timedelta(days=first),
                    "planned_end": world.start + timedelta(days=end),
                    "delivered_date": world.start + timedelta(days=delivered) if delivered < world.days else None,
                    "slip_days": slip if delivered < world.days else None,
                }
            )
            first += int(rng.integers(5, 15))
    return employees, pl.DataFrame(projects)


def _usual(hires: np.ndarray) -> float:
    """A team's usual hires in a SURGE_DAYS window (its median), so only surges above it slip projects."""
    if len(hires) < SURGE_DAYS:
        return float(hires.sum())
    windows = np.convolve(hires, np.ones(SURGE_DAYS), mode="valid")
    return float(np.median(windows))


def surge_truth(world: World) -> list[dict[str, Any]]:
    surge = world.latent.get("surge")
    rows: list[dict[str, Any]] = []
    if surge is None:
        return rows
    for k, team in enumerate(SURGE_TEAMS):
        days = np.flatnonzero(surge[:, k] > 0)
        if len(days) == 0:
            continue
        rows.append(
            truth_row(
                world,
                "lagged_effect",
                f"hires:{team}",
                series_b=f"project_slip:{team}",
                lag_days=HIRE_SLIP_LAG,
                ts=world.dates[int(days[0])],
                coefficient=SLIP_PER_HIRE,
                magnitude=float(surge[:, k].sum()),
                description=(
                    f"hiring surge in {team} ({int(surge[:, k].sum())} extra hires in {SURGE_DAYS} days): projects "
                    f"due {HIRE_SLIP_LAG}-{HIRE_SLIP_LAG + SURGE_DAYS} days later slip {SLIP_PER_HIRE:g} days per "
                    "extra hire"
                ),
            )
        )
    return rows


# ----------------------------------------------------------------------------------------------- customers, orders
def customers(world: World, count: int) -> pl.DataFrame:
    rng = _rng(world, 6)
    region_p = np.array([COUNTRY_SHARE[0] * s for s in REGION_SHARE] + list(COUNTRY_SHARE[1:]))
    region = np.array(REGIONS)[rng.choice(len(REGIONS), count, p=region_p)]
    country = np.where(np.isin(region, US_REGIONS), "US", region)
    return pl.DataFrame(
        {
            "customer_id": [f"C{world.seed}-{k:07d}" for k in range(count)],
            "region": region.tolist(),
            "country": country.tolist(),
            "segment": np.array(SEGMENTS)[rng.choice(len(SEGMENTS), count, p=np.array(SEGMENT_SHARE))].tolist(),
            "first_order_date": [world.start + timedelta(days=int(d)) for d in rng.integers(0, world.days, count)],
        }
    )


def order_batches(
    world: World, customer_frame: pl.DataFrame, lines: int, *, batch_lines: int = 250_000
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """(orders, order lines) in batches of about ``batch_lines`` lines, ``lines`` lines in all; daily order
    volume follows the world's conversions. Memory is bounded by one batch."""
    rng = _rng(world, 7)
    conv = np.maximum(1.0, world.totals["marketing.conversions"])
    per_day = np.floor(lines * conv / conv.sum()).astype(np.int64)
    per_day[: lines - int(per_day.sum())] += 1
    products = list(PRODUCTS)
    prices = np.array([PRODUCTS[p][1] for p in products])
    cust_ids = customer_frame["customer_id"].to_numpy()
    cust_region = customer_frame["region"].to_numpy()
    serial_order = serial_line = 0
    day = 0
    while day < world.days:
        end, total = day, 0
        while end < world.days and (total == 0 or total + per_day[end] <= batch_lines):
            total += int(per_day[end])
            end += 1
        if total == 0:
            day = end
            continue
        # lines per order: 1 + Poisson(0.8); split the batch's lines into orders
        sizes = 1 + rng.poisson(0.8, total)
        sizes = sizes[np.cumsum(sizes) <= total]
        if sizes.sum() < total:
            sizes = np.append(sizes, total - sizes.sum())
        n_orders = len(sizes)
        line_day = np.repeat(np.arange(day, end), per_day[day:end])
        order_of_line = np.repeat(np.arange(n_orders), sizes)
        order_day = line_day[np.cumsum(sizes) - 1]
        line_day = order_day[order_of_line]
        cust = rng.integers(0, len(cust_ids), n_orders)
        ts = np.array([np.datetime64(world.start, "us")]) + (
            order_day.astype("timedelta64[D]").astype("timedelta64[us]")
            + rng.integers(0, 86_400_000_000, n_orders).astype("timedelta64[us]")
        )
        order_ids = np.char.add(f"O{world.seed}-", np.char.zfill((serial_order + np.arange(n_orders)).astype(str), 9))
        orders = pl.DataFrame(
            {
                "order_id": order_ids,
                "customer_id": cust_ids[cust],
                "region": cust_region[cust],
                "channel": np.array(ORDER_CHANNELS)[rng.choice(3, n_orders, p=np.array(ORDER_CHANNEL_SHARE))],
                "ordered_at": ts,
            }
        ).with_columns(pl.col("ordered_at").dt.replace_time_zone("UTC"))
        prod = rng.choice(len(products), total, p=np.array(PRODUCT_SHARE))
        qty = 1 + rng.poisson(0.6, total)
        price = np.round(prices[prod] * rng.choice([1.0, 1.0, 0.9, 0.8], total), 2)
        order_lines = pl.DataFrame(
            {
                "line_id": np.char.add(
                    f"L{world.seed}-", np.char.zfill((serial_line + np.arange(total)).astype(str), 10)
                ),
                "order_id": order_ids[order_of_line],
                "product": np.array(products)[prod],
                "qty": qty.astype(np.int64),
                "unit_price": price,
                "amount": np.round(qty * price, 2),
            }
        )
        serial_order += n_orders
        serial_line += total
        yield orders, order_lines
        day = end


# ----------------------------------------------------------------------------------------------- assembly
def q3_truth(world: World) -> list[dict[str, Any]]:
    starts = sorted({date(d.year, 7, 1) for d in world.dates if d.month in (7, 8, 9)})
    return [
        truth_row(
            world,
            "segment_drop",
            series_id("marketing.conversions"),
            series_b=f"segment:platform={Q3_DROP_PLATFORM},region={Q3_DROP_REGION}",
            ts=s,
            magnitude=-Q3_DROP_FRACTION,
            description=(
                f"Q3 {s.year}: conversions on {Q3_DROP_PLATFORM} in the {Q3_DROP_REGION} fall "
                f"{Q3_DROP_FRACTION:.0%} (spend, impressions and clicks unchanged); other regions and platforms "
                "keep their conversion rate"
            ),
        )
        for s in starts
    ]


def build(world: World, rows: dict[str, list[dict[str, Any]]]) -> Records:
    """Every record table, messy exports cleaned; ``rows`` gets its daily tables re-derived from the records."""
    rng = _rng(world, 8)
    out = Records(tables={})
    out.add("campaigns", *clean_export("campaigns", campaign_exports(world, rows["marketing"]), CAMPAIGN_KEY, rng))
    rows["marketing"] = marketing_from_campaigns(out.tables["campaigns"])

    releases = release_calendar(world)
    out.tables["releases"] = releases
    out.add("tickets", *clean_export("tickets", ticket_exports(world, rows["support"], releases), ("ticket_id",), rng))
    rows["support"] = support_from_tickets(out.tables["tickets"])

    events = equipment_events(world, rows["operations"])
    out.tables["equipment_events"] = events
    daily = {(r["date"], r["plant"]): r for r in daily_events(events).iter_rows(named=True)}
    for r in rows["operations"]:
        r["equipment_failures"] = daily.get((r["date"], r["plant"]), {}).get("equipment_failures", 0)
    out.tables["equipment_daily"] = daily_events(events)

    employees, projects = employees_and_projects(world)
    out.tables["employees"], out.tables["projects"] = employees, projects

    # finance: the journal (messy export, cleaned), the budgets, and the daily tables derived from them
    journal = ledger.journal(world)
    out.add("ledger_entries", *clean_export("ledger", journal, ("entry_id",), _rng(world, 10), ledger.rename(world)))
    out.tables["budget_lines"] = ledger.budget_lines(world)
    rows["finance"] = ledger.finance_from_ledger(out.tables["ledger_entries"])
    rows["budget"] = ledger.budget_vs_actual(out.tables["budget_lines"], out.tables["ledger_entries"])

    out.truth = q3_truth(world) + release_truth(world, releases) + surge_truth(world) + ledger.overrun_truth(world)
    return out


__all__ = [
    "CAMPAIGN_KEY",
    "RELEASE_BOOST",
    "Export",
    "Records",
    "build",
    "clean",
    "customers",
    "daily_events",
    "marketing_from_campaigns",
    "mess",
    "order_batches",
    "support_from_tickets",
]
