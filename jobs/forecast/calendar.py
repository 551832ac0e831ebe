"""Deterministic calendar regressors of the forecasters (trend, weekday, holiday, annual cycle).

Self-contained on purpose (numpy and datetime only): it ships inside every registered forecast model
(``jobs.forecast.bundle``) so the model loads where covary is not installed. ``business_holidays`` is the
calendar of ``connectors.synth.calendar.us_business_holidays`` and ``calendar_features`` that of
``jobs.common.series.calendar_features``; tests check that they stay identical.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

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


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Mon=0) of a month; ``n=-1`` is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def business_holidays(start: date, end: date) -> set[date]:
    """Company-wide US holidays between ``start`` and ``end`` inclusive (observed dates not shifted)."""
    days: set[date] = set()
    for year in range(start.year, end.year + 1):
        days |= {
            date(year, 1, 1),
            _nth_weekday(year, 5, 0, -1),
            date(year, 7, 4),
            _nth_weekday(year, 9, 0, 1),
            _nth_weekday(year, 11, 3, 4),
            date(year, 12, 25),
        }
    return {d for d in days if start <= d <= end}


def holiday_flags(start: date, n: int) -> np.ndarray:
    days = [start + timedelta(days=i) for i in range(n)]
    hol = business_holidays(days[0], days[-1])
    return np.array([d in hol for d in days], dtype=float)


def calendar_features(start: date, n: int, *, origin: date) -> np.ndarray:
    """Columns :data:`CALENDAR_NAMES` for ``n`` days from ``start`` (trend in years since ``origin``)."""
    days = np.array([(start - origin).days + i for i in range(n)], dtype=float)
    dow = np.array([(start + timedelta(days=i)).weekday() for i in range(n)])
    doy = np.array([(start + timedelta(days=i)).timetuple().tm_yday for i in range(n)], dtype=float)
    cols = [days / 365.25]
    cols += [(dow == k).astype(float) for k in range(1, 7)]
    cols.append(holiday_flags(start, n))
    cols += [np.sin(2 * np.pi * doy / 365.25), np.cos(2 * np.pi * doy / 365.25)]
    return np.column_stack(cols)


__all__ = ["CALENDAR_NAMES", "business_holidays", "calendar_features", "holiday_flags"]
