"""A US business-holiday calendar: a floor module (no imports from the layers) shared by the synthetic systems
(connectors/synth), the series features (jobs/common) and the anomaly detector (jobs/anomaly)."""

from __future__ import annotations

from datetime import date, timedelta


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Mon=0) of a month; ``n=-1`` is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def us_business_holidays(start: date, end: date) -> set[date]:
    """Company-wide holidays between ``start`` and ``end`` inclusive (observed dates not shifted)."""
    days: set[date] = set()
    for year in range(start.year, end.year + 1):
        days |= {
            date(year, 1, 1),  # New Year's Day
            _nth_weekday(year, 5, 0, -1),  # Memorial Day
            date(year, 7, 4),  # Independence Day
            _nth_weekday(year, 9, 0, 1),  # Labor Day
            _nth_weekday(year, 11, 3, 4),  # Thanksgiving
            date(year, 12, 25),  # Christmas Day
        }
    return {d for d in days if start <= d <= end}


__all__ = ["us_business_holidays"]
