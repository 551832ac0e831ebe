"""Periods in plain language ('in 2008', 'Q3 2007', 'last 2 years', 'since 2000') as [start, end) dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
UNITS = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "quarter": "quarter",
    "quarters": "quarter",
    "year": "year",
    "years": "year",
}
YEAR = r"((?:18|19|20)\d{2})"


@dataclass(frozen=True)
class Period:
    start: date | None
    end: date | None  # exclusive
    label: str

    def sql(self, column: str) -> str:
        parts = []
        if self.start:
            parts.append(f"{column} >= DATE '{self.start.isoformat()}'")
        if self.end:
            parts.append(f"{column} < DATE '{self.end.isoformat()}'")
        return " AND ".join(parts) or "TRUE"


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def truncate(d: date, unit: str) -> date:
    if unit == "year":
        return date(d.year, 1, 1)
    if unit == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if unit == "month":
        return date(d.year, d.month, 1)
    if unit == "week":
        return d - timedelta(days=d.weekday())
    return d


def shift(d: date, unit: str, n: int) -> date:
    if unit == "year":
        return date(d.year + n, d.month, d.day) if d.day <= 28 else add_months(d, 12 * n)
    if unit == "quarter":
        return add_months(d, 3 * n)
    if unit == "month":
        return add_months(d, n)
    if unit == "week":
        return d + timedelta(weeks=n)
    return d + timedelta(days=n)


def _year(y: str) -> Period:
    return Period(date(int(y), 1, 1), date(int(y) + 1, 1, 1), y)


def find_periods(text: str, anchor: date | None) -> tuple[list[Period], str]:
    """Every period mentioned in ``text`` (in order of appearance) and the text with them removed.

    Relative periods ('last quarter', 'last 3 years', 'this year') count back from ``anchor``, the
    latest date in the data, so answers over historical data stay meaningful.
    """
    found: list[tuple[int, Period]] = []
    today = anchor or date.today()

    def take(pattern: str, make) -> None:  # noqa: ANN001 - local helper
        nonlocal text
        for m in list(re.finditer(pattern, text)):
            period = make(m)
            if period is not None:
                found.append((m.start(), period))
        text = re.sub(pattern, " ", text)

    take(
        rf"\b(?:between|from)\s+{YEAR}\s+(?:and|to|until|-)\s+{YEAR}\b",
        lambda m: Period(date(int(m[1]), 1, 1), date(int(m[2]) + 1, 1, 1), f"{m[1]}-{m[2]}"),
    )
    take(
        rf"\b{YEAR}\s*(?:-|–|to)\s*{YEAR}\b",
        lambda m: Period(date(int(m[1]), 1, 1), date(int(m[2]) + 1, 1, 1), f"{m[1]}-{m[2]}"),
    )
    take(rf"\bq([1-4])\s*(?:of\s+)?{YEAR}\b|\b{YEAR}\s*q([1-4])\b", _quarter)
    take(
        rf"\b({_MONTH_RE})\s+(?:of\s+)?{YEAR}\b",
        lambda m: Period(
            date(int(m[2]), MONTHS[m[1]], 1),
            add_months(date(int(m[2]), MONTHS[m[1]], 1), 1),
            f"{m[1][:3].title()} {m[2]}",
        ),
    )
    take(
        r"\b(?:the\s+)?((?:18|19|20)\d0)s\b",
        lambda m: Period(date(int(m[1]), 1, 1), date(int(m[1]) + 10, 1, 1), f"{m[1]}s"),
    )
    take(rf"\b(?:since|after|from)\s+{YEAR}\b", lambda m: Period(date(int(m[1]), 1, 1), None, f"since {m[1]}"))
    take(
        rf"\b(?:before|until|up to|prior to)\s+{YEAR}\b",
        lambda m: Period(None, date(int(m[1]), 1, 1), f"before {m[1]}"),
    )
    take(
        r"\b(?:last|past|previous|trailing)\s+(\d+)\s+(days?|weeks?|months?|quarters?|years?)\b",
        lambda m: _last_n(today, int(m[1]), UNITS[m[2]]),
    )
    take(
        r"\b(?:year to date|ytd)\b", lambda m: Period(date(today.year, 1, 1), today + timedelta(days=1), "year to date")
    )
    take(
        r"\b(this|current|last|previous|past|prior)\s+(day|week|month|quarter|year)\b",
        lambda m: _relative(today, m[1], m[2]),
    )
    take(r"\b(?:in|during|for|of)?\s*" + YEAR + r"\b", lambda m: _year(m[1]))
    found.sort(key=lambda p: p[0])
    return [p for _, p in found], text


def _quarter(m: re.Match[str]) -> Period:
    q, y = (m[1], m[2]) if m[1] else (m[4], m[3])
    start = date(int(y), 3 * (int(q) - 1) + 1, 1)
    return Period(start, add_months(start, 3), f"Q{q} {y}")


def _last_n(today: date, n: int, unit: str) -> Period:
    end = shift(truncate(today, unit), unit, 1)
    return Period(shift(end, unit, -n), end, f"last {n} {unit}s")


def _relative(today: date, which: str, unit: str) -> Period:
    start = truncate(today, unit)
    if which in ("last", "previous", "past", "prior"):
        start = shift(start, unit, -1)
        label = f"last {unit}"
    else:
        label = f"this {unit}"
    return Period(start, shift(start, unit, 1), label)


__all__ = ["Period", "add_months", "find_periods", "shift", "truncate"]
