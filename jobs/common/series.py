"""Reading gold series as regular daily arrays: gaps filled by interpolation, with calendar features."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from covary.calendar import us_business_holidays
from jobs.common.errors import SeriesNotFoundError
from lakehouse import Lakehouse


@dataclass(frozen=True)
class DailySeries:
    """A daily series on a complete calendar: ``values`` interpolated where ``observed`` is False."""

    series_id: str
    start: date
    values: np.ndarray
    observed: np.ndarray

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(len(self.values))]

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.values) - 1)

    def until(self, last: date) -> DailySeries:
        n = (last - self.start).days + 1
        return DailySeries(self.series_id, self.start, self.values[:n], self.observed[:n])


def regularise(series_id: str, days: list[date], values: list[float | None]) -> DailySeries:
    """Put observations on a complete daily calendar and interpolate the missing days linearly."""
    if not days:
        raise SeriesNotFoundError(f"series {series_id} has no values", hint="check gold.series_values")
    start, end = min(days), max(days)
    n = (end - start).days + 1
    y = np.full(n, np.nan)
    for d, v in zip(days, values, strict=True):
        if v is not None:
            y[(d - start).days] = float(v)
    observed = ~np.isnan(y)
    if observed.sum() < 2:
        raise SeriesNotFoundError(f"series {series_id} has fewer than 2 observations")
    idx = np.arange(n)
    y = np.interp(idx, idx[observed], y[observed])
    return DailySeries(series_id, start, y, observed)


def load_daily(lake: Lakehouse, series_ids: list[str], *, until: date | None = None) -> dict[str, DailySeries]:
    """The gold daily series ``series_ids`` (optionally cut at ``until``), regularised."""
    # filter in memory: a pushed-down string predicate fails on delta-rs datasets (string vs string_view stats)
    table = lake.read("gold.series_values", columns=["series_id", "ts", "value"])
    table = table.filter(pc.is_in(table["series_id"], value_set=pa.array(series_ids, pa.string())))
    out: dict[str, DailySeries] = {}
    data = table.to_pydict()
    grouped: dict[str, tuple[list[date], list[float | None]]] = {}
    for sid, ts, v in zip(data["series_id"], data["ts"], data["value"], strict=True):
        if until is not None and ts > until:
            continue
        g = grouped.setdefault(sid, ([], []))
        g[0].append(ts)
        g[1].append(v)
    missing = [s for s in series_ids if s not in grouped]
    if missing:
        raise SeriesNotFoundError(
            f"no values for series {', '.join(missing)}",
            hint="run `covary source synth` or check the ids in gold.series_catalog",
        )
    for sid, (days, values) in grouped.items():
        out[sid] = regularise(sid, days, values)
    return out


def holiday_flags(start: date, n: int) -> np.ndarray:
    days = [start + timedelta(days=i) for i in range(n)]
    hol = us_business_holidays(days[0], days[-1])
    return np.array([d in hol for d in days], dtype=float)


def calendar_features(start: date, n: int, *, origin: date) -> np.ndarray:
    """Deterministic regressors: trend (years since ``origin``), weekday dummies, holiday, annual Fourier pair."""
    days = np.array([(start - origin).days + i for i in range(n)], dtype=float)
    dow = np.array([(start + timedelta(days=i)).weekday() for i in range(n)])
    doy = np.array([(start + timedelta(days=i)).timetuple().tm_yday for i in range(n)], dtype=float)
    cols = [days / 365.25]
    cols += [(dow == k).astype(float) for k in range(1, 7)]
    cols.append(holiday_flags(start, n))
    cols += [np.sin(2 * np.pi * doy / 365.25), np.cos(2 * np.pi * doy / 365.25)]
    return np.column_stack(cols)


CALENDAR_NAMES: tuple[str, ...] = (
    "trend_years",
    "dow_tue",
    "dow_wed",
    "dow_thu",
    "dow_fri",
    "dow_sat",
    "dow_sun",
    "holiday",
    "annual_sin",
    "annual_cos",
)

__all__ = ["CALENDAR_NAMES", "DailySeries", "calendar_features", "holiday_flags", "load_daily", "regularise"]
