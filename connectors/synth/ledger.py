"""Finance at record level: the general-ledger journal and the monthly budgets per cost centre x account.

The journal books every day of the world as entries: revenue per country in its currency (online sales and
enterprise contracts), advertising per platform, payroll per cost centre and business unit, rent, software
and usage-billed cloud hosting (the rest of the day's overhead, planted expense anomalies included).
``silver.synth_finance`` (day x business unit) and ``silver.synth_budget`` (month x department) are computed
from the cleaned entries and the budget lines, to the cent.

The export is messy like the others: late bookings (``booking_date`` after ``posting_date``, more at month
end), keying errors (an extra zero) reversed and re-posted days later, re-exported duplicates, corrupted
copies, and one fiscal period exported with ``cost_centre`` for ``cost_center``.

Planted (truth kind ``budget_overrun``): payroll budgets are planned per quarter from the headcount at its
start and the normal hiring and turnover; a team's hiring surge is not in the plan, so its payroll overruns
the budget in the quarter of the surge, concentrated in that one cost centre and account.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from connectors.synth.dims import COUNTRIES, COUNTRY_SHARE, PLATFORM_SHARE, PLATFORMS, TEAMS
from connectors.synth.exports import Rename
from connectors.synth.world import PAYROLL_PER_HEAD, SURGE_DAYS, SURGE_TEAMS, World, truth_row

ACCOUNTS: dict[str, tuple[str, str]] = {
    "4000": ("Product revenue", "revenue"),
    "4100": ("Enterprise revenue", "revenue"),
    "6000": ("Advertising", "expense"),
    "6100": ("Payroll", "expense"),
    "6200": ("Cloud hosting", "expense"),
    "6300": ("Rent and facilities", "expense"),
    "6400": ("Software subscriptions", "expense"),
}
"""Chart of accounts: code -> (name, revenue | expense)."""
PAYROLL = "6100"
ONLINE_SHARE = {"sales": 0.0, "marketing": 1.0, "operations": 0.45, "support": 0.6, "finance": 0.5}
"""Share of a cost centre's payroll the online business unit carries (enterprise carries the rest)."""
FIXED = (("6300", "finance", "enterprise", "Harbor Estates", 3500.0), ("6400", "support", "online", "Deskly", 1500.0))
"""Fixed daily costs: (account, cost centre, business unit, vendor, USD per day)."""
CLOUD = ("6200", "operations", "online", "Nimbus Cloud", 4000.0)
"""Usage-billed cloud hosting: it books the rest of the day's overhead; planned at USD 4,000 a day."""
AD_VENDORS = {"google_ads": "Google Ads", "meta_ads": "Meta Platforms", "tiktok_ads": "TikTok"}
CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR"}
FX_USD = {"USD": 1.0, "GBP": 1.27, "EUR": 1.09}
"""Mean USD per unit of each currency (the daily rate wanders around it)."""
LATE_RATE, MONTH_END_LATE, REVERSAL_RATE = 0.05, 0.5, 0.004
BUDGET_NOISE = 0.005  # planning error of a monthly payroll budget (fraction)
OVERRUN_SHARE = 0.2  # a quarter that carries at least this share of a surge's unbudgeted payroll is recorded
RENAMED_PERIOD = 3  # the fourth fiscal period of the window is exported with cost_centre for cost_center

_SCHEMA = {
    "entry_id": pl.String,
    "posting_date": pl.Date,
    "booking_date": pl.Date,
    "period": pl.String,
    "account": pl.String,
    "account_name": pl.String,
    "account_type": pl.String,
    "cost_center": pl.String,
    "business_unit": pl.String,
    "vendor": pl.String,
    "description": pl.String,
    "currency": pl.String,
    "amount": pl.Float64,
    "amount_usd": pl.Float64,
    "reverses": pl.String,
    "exported_at": pl.Datetime("us", "UTC"),
}
_CENTS = (pl.col("amount_usd") * 100).round().cast(pl.Int64)


def _rng(world: World, stream: int) -> np.random.Generator:
    return np.random.default_rng([world.seed, 100 + stream])


def _cents(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=float) * 100).astype(np.int64)


def _split_cents(rng: np.random.Generator, total: np.ndarray, shares: Sequence[float], jitter: float) -> np.ndarray:
    """Integer cents (n,) into (n, k) parts that add up exactly, with day-to-day jitter in the shares."""
    w = np.asarray(shares)[None, :] * np.exp(rng.normal(0, jitter, (len(total), len(shares))))
    w /= w.sum(axis=1, keepdims=True)
    parts = np.floor(total[:, None] * w).astype(np.int64)
    parts[:, -1] = total - parts[:, :-1].sum(axis=1)
    return parts


def _headcount(world: World) -> np.ndarray:
    hc = world.latent.get("hr_headcount")
    if hc is None:  # pragma: no cover - rows_by_system always records it
        raise ValueError("the HR headcount is missing from the world: build the records from rows_by_system output")
    return hc


def _day_entries(world: World, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What each day books, as aligned arrays (day, account, cc, bu, vendor, country, cents): the world's daily
    revenue and expenses split into entries that add up to the cent."""
    tot, n = world.totals, world.days
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("day", "account", "cc", "bu", "vendor", "country", "cents")}

    def add(cents: np.ndarray, account: str, cc: str, bu: str, vendor: str | None, country: str = "US") -> None:
        days = np.flatnonzero(cents != 0)
        cols["day"].append(days)
        cols["cents"].append(cents[days])
        for k, text in (("account", account), ("cc", cc), ("bu", bu), ("vendor", vendor), ("country", country)):
            cols[k].append(np.full(len(days), text, dtype=object))

    online = _cents(tot["marketing.revenue"])
    enterprise = _cents(tot["finance.revenue"]) - online
    for total, account, cc, bu in (
        (online, "4000", "marketing", "online"),
        (enterprise, "4100", "sales", "enterprise"),
    ):
        by_country = _split_cents(rng, total, COUNTRY_SHARE, 0.1)
        for j, country in enumerate(COUNTRIES):
            add(by_country[:, j], account, cc, bu, None, country)
    ads = _split_cents(rng, _cents(tot["marketing.spend"]), PLATFORM_SHARE, 0.08)
    for j, platform in enumerate(PLATFORMS):
        add(ads[:, j], "6000", "marketing", "online", AD_VENDORS[platform])
    payroll = np.round(_headcount(world) * PAYROLL_PER_HEAD * 100).astype(np.int64)
    for j, team in enumerate(TEAMS):
        share = np.round(payroll[:, j] * ONLINE_SHARE[team]).astype(np.int64)
        add(share, PAYROLL, team, "online", None)
        add(payroll[:, j] - share, PAYROLL, team, "enterprise", None)
    overhead = _cents(tot["finance.expenses"]) - ads.sum(axis=1) - payroll.sum(axis=1)
    for account, cc, bu, vendor, per_day in FIXED:
        add(np.full(n, round(per_day * 100), dtype=np.int64), account, cc, bu, vendor)
        overhead = overhead - round(per_day * 100)
    add(overhead, *CLOUD[:4])
    return {k: np.concatenate(v) for k, v in cols.items()}


def journal(world: World) -> pl.DataFrame:
    """The general-ledger journal as the finance system exports it (before the export mess); entry ids follow
    the booking order."""
    rng = _rng(world, 9)
    f = _day_entries(world, rng)
    outage = world.missing.get("finance", np.zeros(world.days, dtype=bool))  # failed export: booked with the next
    m = len(f["day"])
    # late bookings (more at month end); keying errors (an extra zero) reversed and re-posted days later
    delay = np.where(rng.random(m) < LATE_RATE, rng.integers(1, 21, m), 0)
    posting = np.array(world.dates, dtype="datetime64[D]")[f["day"]]
    month_end = (posting + 2).astype("datetime64[M]") > posting.astype("datetime64[M]")
    delay = np.where(month_end & (rng.random(m) < MONTH_END_LATE), np.maximum(delay, rng.integers(1, 5, m)), delay)
    delay = np.where(outage[f["day"]], np.maximum(delay, rng.integers(1, 3, m)), delay)
    wrong = np.flatnonzero(rng.random(m) < REVERSAL_RATE)
    fix_delay = delay[wrong] + rng.integers(2, 10, len(wrong))
    row = np.concatenate([np.arange(m), wrong, wrong])
    kind = np.concatenate([np.zeros(m, dtype=np.int8), np.ones(len(wrong), np.int8), np.full(len(wrong), 2, np.int8)])
    cents = f["cents"][row].copy()
    cents[wrong] *= 10  # the wrong entry
    cents[m : m + len(wrong)] *= -10  # its reversal
    booking = posting[row] + np.concatenate([delay, fix_delay, fix_delay]).astype("timedelta64[D]")
    currency = np.array([CURRENCY[c] for c in f["country"]], dtype=object)[row]
    fx = _fx(rng, world)
    rate = np.array([fx[c][d] for c, d in zip(currency, f["day"][row], strict=True)])
    frame = pl.DataFrame(
        {
            "_row": row,
            "_kind": kind,
            "posting_date": posting[row],
            "booking_date": booking,
            "account": f["account"][row].tolist(),
            "cost_center": f["cc"][row].tolist(),
            "business_unit": f["bu"][row].tolist(),
            "vendor": f["vendor"][row].tolist(),
            "country": f["country"][row].tolist(),
            "currency": currency.tolist(),
            "amount": np.round(cents / 100 / rate, 2),
            "amount_usd": cents / 100,
        },
        schema_overrides={"vendor": pl.String},
    )
    frame = frame.sort("booking_date", "posting_date", "account", "cost_center", "business_unit", "country", "_kind")
    frame = frame.with_columns(
        pl.format("JE{}-{}", pl.lit(world.seed), (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(8)).alias(
            "entry_id"
        )
    )
    wrong_ids = frame.filter(pl.col("_kind") == 0).select("_row", pl.col("entry_id").alias("reverses"))
    frame = (
        frame.join(wrong_ids, on="_row", how="left")
        .with_columns(pl.when(pl.col("_kind") == 1).then(pl.col("reverses")).alias("reverses"))
        .sort("entry_id")
    )
    name = pl.col("account").replace_strict({k: v[0] for k, v in ACCOUNTS.items()})
    base = (
        pl.when(pl.col("account") == "4000")
        .then(pl.format("Online sales {}", pl.col("country")))
        .when(pl.col("account") == "4100")
        .then(pl.format("Enterprise contracts {}", pl.col("country")))
        .when(pl.col("account") == PAYROLL)
        .then(pl.format("Payroll accrual {} ({})", pl.col("cost_center"), pl.col("business_unit")))
        .when(pl.col("amount_usd") < 0)
        .then(pl.format("{} credit note", pl.col("vendor")))
        .otherwise(pl.format("{} invoice", pl.col("vendor")))
    )
    description = (
        pl.when(pl.col("_kind") == 1)
        .then(pl.format("Reversal of {}: amount keyed with an extra zero", pl.col("reverses")))
        .when(pl.col("_kind") == 2)
        .then(pl.format("{} (re-posted after reversal)", base))
        .otherwise(base)
    )
    return frame.select(
        "entry_id",
        "posting_date",
        "booking_date",
        pl.col("posting_date").dt.strftime("%Y-%m").alias("period"),
        "account",
        name.alias("account_name"),
        pl.col("account").replace_strict({k: v[1] for k, v in ACCOUNTS.items()}).alias("account_type"),
        "cost_center",
        "business_unit",
        "vendor",
        description.alias("description"),
        "currency",
        "amount",
        "amount_usd",
        "reverses",
        (pl.col("booking_date").cast(pl.Datetime("us", "UTC")) + pl.duration(hours=20)).alias("exported_at"),
    ).cast(_SCHEMA)  # type: ignore[arg-type]


def _fx(rng: np.random.Generator, world: World) -> dict[str, np.ndarray]:
    """Daily USD per unit: a slow random walk (0.3 % a day) around each currency's mean."""
    out = {}
    for cur, mean in FX_USD.items():
        walk = np.cumsum(rng.normal(0, 0.003, world.days)) if mean != 1.0 else np.zeros(world.days)
        out[cur] = np.round(mean * np.exp(walk - walk.mean()), 4)
    return out


def rename(world: World) -> Rename:
    """The export rule of the ledger: one fiscal period's export calls ``cost_center`` ``cost_centre``."""
    first = world.dates[0].replace(day=1)
    month = first.month - 1 + RENAMED_PERIOD
    return ("period", f"{first.year + month // 12}-{month % 12 + 1:02d}", "cost_center", "cost_centre")


def finance_from_ledger(entries: pl.DataFrame) -> list[dict[str, Any]]:
    """``silver.synth_finance`` rows: revenue and expenses per posting day and business unit, to the cent."""
    agg = (
        entries.group_by(pl.col("posting_date").alias("date"), "business_unit")
        .agg(
            (_CENTS.filter(pl.col("account_type") == "revenue").sum() / 100).alias("revenue"),
            (_CENTS.filter(pl.col("account_type") == "expense").sum() / 100).alias("expenses"),
        )
        .sort("date", "business_unit")
    )
    return agg.to_dicts()


# ----------------------------------------------------------------------------------------------- budgets
def _quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _unplanned(world: World) -> np.ndarray:
    """(days, teams): surge hires made since the start of the day's quarter (what the quarter's plan lacks)."""
    surge = world.latent.get("surge", np.zeros((world.days, 0)))
    out = np.zeros((world.days, len(TEAMS)))
    quarter = np.array([_quarter_start(d).toordinal() for d in world.dates])
    for k, team in enumerate(SURGE_TEAMS[: surge.shape[1]]):
        for q in np.unique(quarter):
            sel = quarter == q
            out[sel, TEAMS.index(team)] = np.cumsum(surge[sel, k])
    return out


def budget_lines(world: World) -> pl.DataFrame:
    """Monthly budget per cost centre x account over the window's days (a partial month is prorated).

    Planned per quarter two weeks before it starts: payroll from the headcount the hiring plan expects (the
    normal hiring and turnover, not a surge), advertising from the media plan, fixed costs from the contracts,
    cloud hosting at its planned daily rate."""
    rng = _rng(world, 11)
    plan_hc = _headcount(world) - _unplanned(world)
    month = np.array([d.replace(day=1).toordinal() for d in world.dates])
    spend = world.totals["marketing.spend"]
    rows = []
    for m in np.unique(month):
        sel = month == m
        first = date.fromordinal(int(m))
        days = int(sel.sum())
        lines = [
            (team, PAYROLL, plan_hc[sel, j].sum() * PAYROLL_PER_HEAD, BUDGET_NOISE) for j, team in enumerate(TEAMS)
        ]
        lines.append(("marketing", "6000", float(spend[sel].sum()), 0.02))
        lines += [(cc, account, per_day * days, 0.0) for account, cc, _, _, per_day in FIXED]
        lines.append((CLOUD[1], CLOUD[0], CLOUD[4] * days, 0.03))
        for cc, account, planned, noise in lines:
            rows.append(
                {
                    "month": first,
                    "cost_center": cc,
                    "account": account,
                    "account_name": ACCOUNTS[account][0],
                    "budget_usd": round(float(planned) * (1 + float(rng.normal(0, noise))), -2) if noise else planned,
                    "planned_on": _quarter_start(first) - timedelta(days=14),
                }
            )
    return pl.DataFrame(rows, schema_overrides={"budget_usd": pl.Float64}).sort("month", "cost_center", "account")


def budget_vs_actual(lines: pl.DataFrame, entries: pl.DataFrame) -> list[dict[str, Any]]:
    """``silver.synth_budget`` rows: budget (the lines summed per cost centre), actual (expense entries by posting
    month and cost centre) and variance = actual - budget, per month and department."""
    budget = lines.group_by("month", "cost_center").agg(
        (pl.col("budget_usd") * 100).round().cast(pl.Int64).sum().alias("b")
    )
    actual = (
        entries.filter(pl.col("account_type") == "expense")
        .group_by(pl.col("posting_date").dt.truncate("1mo").alias("month"), "cost_center")
        .agg(_CENTS.sum().alias("a"))
    )
    joined = budget.join(actual, on=["month", "cost_center"], how="left").with_columns(pl.col("a").fill_null(0))
    return (
        joined.select(
            "month",
            pl.col("cost_center").alias("department"),
            (pl.col("b") / 100).alias("budget"),
            (pl.col("a") / 100).alias("actual"),
            ((pl.col("a") - pl.col("b")) / 100).alias("variance"),
        )
        .sort("month", "department")
        .to_dicts()
    )


def overrun_truth(world: World) -> list[dict[str, Any]]:
    """``budget_overrun`` rows: per hiring surge, each quarter that carries a good share of its unbudgeted payroll
    (magnitude: the unbudgeted USD in that quarter)."""
    surge = world.latent.get("surge", np.zeros((world.days, 0)))
    quarter = np.array([_quarter_start(d).toordinal() for d in world.dates])
    rows = []
    for k, team in enumerate(SURGE_TEAMS[: surge.shape[1]]):
        days = np.flatnonzero(surge[:, k] > 0)
        if not len(days):
            continue
        for episode in np.split(days, np.flatnonzero(np.diff(days) > SURGE_DAYS) + 1):
            hires = np.zeros(world.days)
            hires[episode] = surge[episode, k]
            cost = {int(q): float(np.cumsum(hires[quarter == q]).sum() * PAYROLL_PER_HEAD) for q in np.unique(quarter)}
            total = sum(cost.values())
            for q, usd in sorted(cost.items()):
                if usd < OVERRUN_SHARE * total:
                    continue
                start = date.fromordinal(q)
                rows.append(
                    truth_row(
                        world,
                        "budget_overrun",
                        f"hires:{team}",
                        series_b=f"budget:cost_center={team},account={PAYROLL}",
                        lag_days=0,
                        ts=start,
                        coefficient=PAYROLL_PER_HEAD,
                        magnitude=round(usd, 2),
                        description=(
                            f"Q{(start.month - 1) // 3 + 1} {start.year}: the {team} cost centre's payroll overruns "
                            f"its budget by about USD {usd:,.0f} ({usd / total:.0%} of the unbudgeted payroll of the "
                            f"hiring surge from {world.dates[int(episode[0])]}: {int(hires.sum())} unplanned hires at "
                            f"USD {PAYROLL_PER_HEAD:g} a day each); other cost centres and accounts stay within "
                            "planning noise"
                        ),
                    )
                )
    return rows


__all__ = [
    "ACCOUNTS",
    "budget_lines",
    "budget_vs_actual",
    "finance_from_ledger",
    "journal",
    "overrun_truth",
    "rename",
]
