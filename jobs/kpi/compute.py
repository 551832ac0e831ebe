"""KPI computation: ratio of period sums per breakdown, with previous/year-ago comparison, nulls not zeros."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from jobs.kpi.definitions import COMPARES, DIMENSIONS, KPIS, PERIODS, SOURCE_TABLE, get_kpi
from jobs.kpi.errors import KpiArgumentError, KpiDataError
from lakehouse import Lakehouse, TableNotFoundError

ALL = "*"


def period_start(day: date, period: str) -> date:
    """First day of the ISO week (Monday), month or quarter containing ``day``."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def shift_period(start: date, period: str, n: int) -> date:
    """The start of the period ``n`` periods after ``start`` (negative = earlier)."""
    if period == "week":
        return start + timedelta(weeks=n)
    months = n * (3 if period == "quarter" else 1)
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_days(start: date, period: str) -> int:
    if period == "week":
        return 7
    if period == "month":
        return calendar.monthrange(start.year, start.month)[1]
    return (shift_period(start, "quarter", 1) - start).days


def comparison_start(start: date, period: str, compare: str) -> date:
    """Previous period, or the same period a year earlier (52 weeks for weeks, to keep weekdays aligned)."""
    if compare == "previous":
        return shift_period(start, period, -1)
    return shift_period(start, period, {"week": -52, "month": -12, "quarter": -4}[period])


def _check(metric: str, by: Sequence[str], period: str, compare: str) -> None:
    get_kpi(metric)
    bad = [b for b in by if b not in DIMENSIONS]
    if bad:
        raise KpiArgumentError(f"cannot break down by {', '.join(bad)}", hint=f"use any of: {', '.join(DIMENSIONS)}")
    if period not in PERIODS:
        raise KpiArgumentError(f"unknown period {period!r}", hint=f"use one of: {', '.join(PERIODS)}")
    if compare not in COMPARES:
        raise KpiArgumentError(f"unknown comparison {compare!r}", hint=f"use one of: {', '.join(COMPARES)}")


def period_sums(data: pl.DataFrame, *, by: Sequence[str], period: str) -> pl.DataFrame:
    """Sums of every measure per breakdown and period, on the full grid (missing periods get days=0)."""
    by = list(by)
    frame = data.with_columns(
        pl.col("date").map_elements(lambda d: period_start(d, period), return_dtype=pl.Date).alias("period_start")
    )
    measures = [c for c in ("spend", "impressions", "clicks", "conversions", "revenue") if c in frame.columns]
    sums = frame.group_by([*by, "period_start"]).agg(
        *[pl.col(m).cast(pl.Float64).sum().alias(m) for m in measures], pl.col("date").n_unique().alias("days")
    )
    first, last = frame["period_start"].min(), frame["period_start"].max()
    starts = []
    cur = first
    while cur <= last:  # type: ignore[operator]
        starts.append(cur)
        cur = shift_period(cur, period, 1)  # type: ignore[arg-type]
    grid = pl.DataFrame({"period_start": starts}, schema={"period_start": pl.Date})
    if by:
        grid = frame.select(by).unique().join(grid, how="cross")
    full = grid.join(sums, on=[*by, "period_start"], how="left").with_columns(pl.col("days").fill_null(0))
    return full.sort([*by, "period_start"])


def kpi_values(sums: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Add ``value``, ``numerator``, ``denominator`` for ``metric``: null on no data or zero denominator."""
    k = get_kpi(metric)
    num = pl.when(pl.col("days") > 0).then(pl.col(k.numerator)).otherwise(None)
    if k.denominator is None:
        return sums.with_columns(
            num.alias("numerator"), pl.lit(None, pl.Float64).alias("denominator"), num.alias("value")
        )
    den = pl.when(pl.col("days") > 0).then(pl.col(k.denominator)).otherwise(None)
    value = pl.when(den != 0).then(num / den * k.scale).otherwise(None)
    return sums.with_columns(num.alias("numerator"), den.alias("denominator"), value.alias("value"))


def _note(row: dict[str, Any], has_den: bool, compare: str) -> str | None:
    if row["days"] == 0:
        return "no data in this period"
    if has_den and row["denominator"] == 0:
        return "undefined: zero denominator"
    if row["previous_value"] is None:
        return f"no {compare.replace('_', '-')} value to compare with"
    if row["previous_value"] == 0:
        return "percent change undefined: comparison value is 0"
    return None


def compare_rows(
    values: pl.DataFrame, *, metric: str, by: Sequence[str], period: str, compare: str
) -> list[dict[str, Any]]:
    """One dict per breakdown and period with value, previous value and absolute/percent change."""
    k = get_kpi(metric)
    by = list(by)
    lookup = {
        (*(r[b] for b in by), r["period_start"]): (r["value"], r["days"])
        for r in values.select([*by, "period_start", "value", "days"]).iter_rows(named=True)
    }
    out = []
    for r in values.iter_rows(named=True):
        start = r["period_start"]
        prev_start = comparison_start(start, period, compare)
        prev, _prev_days = lookup.get((*(r[b] for b in by), prev_start), (None, 0))
        value = r["value"]
        change = None if value is None or prev is None else value - prev
        pct = None if change is None or not prev else change / abs(prev) * 100
        row = {
            "metric": k.id,
            "period": period,
            "period_start": start,
            "period_end": shift_period(start, period, 1) - timedelta(days=1),
            **{b: r[b] for b in by},
            "value": value,
            "numerator": r["numerator"],
            "denominator": r["denominator"],
            "days": int(r["days"]),
            "complete": int(r["days"]) == period_days(start, period),
            "compare": compare,
            "previous_start": prev_start,
            "previous_value": prev,
            "change": change,
            "change_pct": pct,
            "unit": k.unit,
        }
        row["note"] = _note(row, k.denominator is not None, compare)
        out.append(row)
    return out


def compute_kpi(
    data: pl.DataFrame,
    *,
    metric: str,
    by: Sequence[str] = (),
    period: str = "month",
    compare: str = "previous",
) -> list[dict[str, Any]]:
    """KPI rows for a frame shaped like ``silver.synth_marketing`` (pure; used by CLI, job and tests)."""
    _check(metric, by, period, compare)
    if data.is_empty():
        raise KpiDataError("no marketing rows to compute KPIs from", hint="run `covary source synth` first")
    sums = period_sums(data, by=by, period=period)
    return compare_rows(kpi_values(sums, metric), metric=metric, by=by, period=period, compare=compare)


def read_marketing(lake: Lakehouse) -> pl.DataFrame:
    try:
        return lake.read_polars(SOURCE_TABLE)
    except TableNotFoundError as exc:
        raise KpiDataError(
            f"{SOURCE_TABLE} has no data yet", hint="run `covary source synth --days 730` first"
        ) from exc


def kpi_report(
    lake: Lakehouse,
    *,
    metric: str,
    by: Sequence[str] = (),
    period: str = "month",
    compare: str = "previous",
    last: int | None = None,
) -> list[dict[str, Any]]:
    """KPI rows from the lake; ``last`` keeps the latest N periods per breakdown."""
    _check(metric, by, period, compare)
    rows = compute_kpi(read_marketing(lake), metric=metric, by=by, period=period, compare=compare)
    if last:
        starts = sorted({r["period_start"] for r in rows})[-last:]
        rows = [r for r in rows if r["period_start"] in starts]
    return rows


BREAKDOWNS: tuple[tuple[str, ...], ...] = ((), ("platform",), ("country",), ("platform", "country"))


def gold_rows(data: pl.DataFrame) -> list[dict[str, Any]]:
    """Every KPI x period x breakdown with previous and year-ago comparisons, for ``gold.marketing_kpis``."""
    out = []
    for period in PERIODS:
        for by in BREAKDOWNS:
            sums = period_sums(data, by=by, period=period)
            for metric in KPIS:
                values = kpi_values(sums, metric)
                prev = compare_rows(values, metric=metric, by=by, period=period, compare="previous")
                yago = compare_rows(values, metric=metric, by=by, period=period, compare="year_ago")
                for p, y in zip(prev, yago, strict=True):
                    out.append(
                        {
                            "metric": metric,
                            "period": period,
                            "period_start": p["period_start"],
                            "platform": p.get("platform", ALL),
                            "country": p.get("country", ALL),
                            "value": p["value"],
                            "numerator": p["numerator"],
                            "denominator": p["denominator"],
                            "days": p["days"],
                            "previous_value": p["previous_value"],
                            "previous_change": p["change"],
                            "previous_change_pct": p["change_pct"],
                            "year_ago_value": y["previous_value"],
                            "year_ago_change": y["change"],
                            "year_ago_change_pct": y["change_pct"],
                        }
                    )
    return out


__all__ = [
    "ALL",
    "BREAKDOWNS",
    "compare_rows",
    "comparison_start",
    "compute_kpi",
    "gold_rows",
    "kpi_report",
    "kpi_values",
    "period_start",
    "period_sums",
    "read_marketing",
    "shift_period",
]
