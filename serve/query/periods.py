"""Periods in plain language ('in 2008', 'Q3 2007', 'last 2 years', 'since 2000') as [start, end) dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

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


# ----------------------------------------------------------------------------- spans + data anchoring
STEP_DAYS = {"day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}
_NUM_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}


@dataclass(frozen=True)
class Mention:
    """A period named in the question: ``kind`` and its numbers, at token positions [first, last]."""

    kind: str  # day invalid_day year range quarter month decade since before last_n ytd relative next
    first: int
    last: int
    text: str
    args: tuple = ()


@dataclass(frozen=True)
class Anchor:
    """What relative periods count from: the latest date in the data and the data's step."""

    latest: date
    step: str = "day"

    def complete(self, start: date, end: date) -> bool:
        """True when the data covers [start, end) to its last step."""
        last_needed = truncate(end - timedelta(days=1), self.step)
        return self.latest >= last_needed


_UNIT = r"(days?|weeks?|months?|quarters?|years?)"
_NUM = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
_DAY_OF_MONTH = r"(0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_MENTION_PATTERNS: list[tuple[str, str]] = [
    ("day", rf"\b{YEAR}\s+(0?[1-9]|1[0-2])\s+(0?[1-9]|[12]\d|3[01])\b"),  # 2024-12-25 after tokenising
    ("day", rf"\b({_MONTH_RE})\s+{_DAY_OF_MONTH}\s+{YEAR}\b"),  # December 25, 2024
    ("day", rf"\b{_DAY_OF_MONTH}\s+(?:of\s+)?({_MONTH_RE})\s+{YEAR}\b"),  # 25th of December 2024
    ("range", rf"\b(?:between|from)\s+{YEAR}\s+(?:and|to|until|through|thru)\s+{YEAR}\b"),
    ("range", rf"\b{YEAR}\s+(?:to|until|through|thru)\s+{YEAR}\b"),
    ("range", rf"\b{YEAR}\s+{YEAR}\b"),  # "2020-2022" after tokenising
    ("quarter", rf"\bq([1-4])\s+(?:of\s+)?{YEAR}\b"),
    ("quarter", rf"\b{YEAR}\s+q([1-4])\b"),
    ("quarter", r"\bq([1-4])\b"),
    ("quarter", rf"\b(first|second|third|fourth)\s+quarter(?:\s+of)?(?:\s+{YEAR})?\b"),
    ("month", rf"\b({_MONTH_RE})\s+(?:of\s+)?{YEAR}\b"),
    ("month", rf"\b({_MONTH_RE})\b"),
    ("decade", r"\b(?:the\s+)?((?:18|19|20)\d0)s\b"),
    ("since", rf"\b(?:since|after|from)\s+{YEAR}\b"),
    ("before", rf"\b(?:before|until|up to|prior to)\s+{YEAR}\b"),
    (
        "last_n",
        rf"\b(?:(?:in|over|during|for)\s+)?(?:the\s+)?(?:last|past|previous|trailing|recent)\s+{_NUM}\s+{_UNIT}\b",
    ),
    ("next", rf"\b(?:(?:for|over|in)\s+)?(?:the\s+)?(?:next|coming|following|upcoming)\s+(?:{_NUM}\s+)?{_UNIT}\b"),
    ("ytd", r"\b(?:year to date|ytd|so far this year)\b"),
    ("relative", r"\b(this|current|last|previous|past|prior|latest|most recent)\s+(day|week|month|quarter|year)\b"),
    ("year", rf"\b{YEAR}\b"),
]
_ORDINAL_Q = {"first": 1, "second": 2, "third": 3, "fourth": 4}
_MONTH_FULL = {v: k for k, v in MONTHS.items() if len(k) > 3 or k == "may"}


def detect(words: list[str]) -> list[Mention]:
    """Period mentions among ``words`` (lower-case tokens), longest patterns first, no overlaps."""
    text = " ".join(words)
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    taken = [False] * len(words)
    out: list[Mention] = []

    def token_range(a: int, b: int) -> tuple[int, int]:
        first = max(i for i, s in enumerate(starts) if s <= a)
        last = max(i for i, s in enumerate(starts) if s < b)
        return first, last

    for kind, pattern in _MENTION_PATTERNS:
        for m in re.finditer(pattern, text):
            first, last = token_range(m.start(), m.end())
            if any(taken[first : last + 1]):
                continue
            if (
                kind == "month"
                and m[1] in ("may", "mar", "dec", "jan", "jun", "oct", "sep", "aug")
                and m.lastindex != 2
            ):
                # bare short month names are common words ("may", "march" is fine): need a year or 'in'
                prev = words[first - 1] if first else ""
                if m[1] == "may" or prev not in ("in", "of", "during", "for", "since", "from"):
                    continue
            args = tuple(g for g in m.groups())
            found = kind
            if kind == "day":
                day = _day_args(args)
                if day:
                    args = day
                else:
                    found = "invalid_day"  # "2009-02-30", "February 30, 2009": date-shaped, but no calendar day
            for i in range(first, last + 1):
                taken[i] = True
            out.append(Mention(found, first, last, m.group(0), args))
    out.sort(key=lambda x: x.first)
    return out


def _day_args(groups: tuple) -> tuple:
    """(month, day, year) of a day mention's groups in any of its orders; () when it is no calendar day."""
    if groups[0] in MONTHS:
        month, day, year = MONTHS[groups[0]], groups[1], groups[2]
    elif groups[1] in MONTHS:
        month, day, year = MONTHS[groups[1]], groups[0], groups[2]
    else:
        year, month, day = groups
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return ()
    return (str(int(month)), str(int(day)), str(year))


def _n(text: str | None) -> int:
    if text is None:
        return 1
    return int(text) if text.isdigit() else _NUM_WORDS.get(text, 1)


def latest_complete(anchor: Anchor, unit: str, offset: int = 0) -> tuple[date, date]:
    """The latest complete ``unit`` in the data (``offset`` steps earlier)."""
    start = truncate(anchor.latest, unit)
    end = shift(start, unit, 1)
    if not anchor.complete(start, end):
        start, end = shift(start, unit, -1), start
    return shift(start, unit, -offset), shift(end, unit, -offset)


def label_of(start: date, end: date, unit: str) -> str:
    if unit == "year":
        return str(start.year)
    if unit == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if unit == "month":
        return f"{start.strftime('%b')} {start.year}"
    if unit == "week":
        return f"week of {start.isoformat()}"
    return start.isoformat()


def resolve(
    m: Mention, anchor: Anchor | None, context_year: int | None = None
) -> tuple[date | None, date | None, str, str | None]:
    """(start, end exclusive, label, note) of mention ``m``; the note says how a relative or yearless
    period was anchored to the data."""
    a = m.args
    if m.kind == "range":
        y1, y2 = int(a[0]), int(a[1])
        return date(y1, 1, 1), date(y2 + 1, 1, 1), f"{y1}-{y2}", None
    if m.kind == "year":
        return date(int(a[0]), 1, 1), date(int(a[0]) + 1, 1, 1), str(a[0]), None
    if m.kind == "day":
        day = date(int(a[2]), int(a[0]), int(a[1]))
        return day, day + timedelta(days=1), day.isoformat(), None
    if m.kind == "decade":
        return date(int(a[0]), 1, 1), date(int(a[0]) + 10, 1, 1), f"{a[0]}s", None
    if m.kind == "since":
        return date(int(a[0]), 1, 1), None, f"since {a[0]}", None
    if m.kind == "before":
        return None, date(int(a[0]), 1, 1), f"before {a[0]}", None
    if m.kind in ("quarter", "month"):
        q: Any
        y: Any
        year: int | None
        if m.kind == "quarter":
            if a[0] in _ORDINAL_Q:
                q, y = _ORDINAL_Q[a[0]], a[1] if len(a) > 1 else None
            elif len(a) == 2 and a[0] and len(a[0]) == 4:
                y, q = a[0], int(a[1])
            else:
                q, y = int(a[0]), a[1] if len(a) > 1 else None
            first_month, unit = 3 * (int(q) - 1) + 1, "quarter"
        else:
            first_month, y, unit = MONTHS[a[0]], a[1] if len(a) > 1 else None, "month"
        note = None
        if y is None:
            year = context_year
            if year is None and anchor is not None:
                year = anchor.latest.year
                start = date(year, first_month, 1)
                if not anchor.complete(start, shift(start, unit, 1)):
                    year -= 1
                first_day = date(year, first_month, 1)
                note = f"{label_of(first_day, first_day, unit)} is the latest complete one in the data"
            year = year or date.today().year
        else:
            year = int(y)
        start = date(year, first_month, 1)
        return start, shift(start, unit, 1), label_of(start, start, unit), note
    if anchor is None:
        anchor = Anchor(date.today())
    if m.kind == "ytd":
        start = date(anchor.latest.year, 1, 1)
        end = anchor.latest + timedelta(days=1)
        return (
            start,
            end,
            f"year to date {anchor.latest.year}",
            f"year to date runs to {anchor.latest.isoformat()}, the latest day in the data",
        )
    if m.kind == "last_n":
        n, unit = _n(a[0]), UNITS[a[1]]
        _, end = latest_complete(anchor, unit)
        start = shift(end, unit, -n)
        return (
            start,
            end,
            f"last {n} {unit}s",
            (
                f"the last {n} {unit}s end with the latest complete {unit} in the data "
                f"({label_of(shift(end, unit, -1), end, unit)})"
            ),
        )
    if m.kind == "relative":
        which, unit = a[0], a[1]
        if which in ("this", "current"):
            start = truncate(anchor.latest, unit)
            end = shift(start, unit, 1)
            done = anchor.complete(start, end)
            return (
                start,
                end,
                f"this {unit} ({label_of(start, end, unit)})",
                (
                    f"this {unit} is {label_of(start, end, unit)}, the {unit} of the latest data "
                    f"({anchor.latest.isoformat()})" + ("" if done else ", not complete yet")
                ),
            )
        start, end = latest_complete(anchor, unit)
        return (
            start,
            end,
            f"last {unit} ({label_of(start, end, unit)})",
            (f"last {unit} is {label_of(start, end, unit)}, the latest complete {unit} in the data"),
        )
    return None, None, m.text, None


def horizon(m: Mention) -> tuple[int, str]:
    """Steps and unit of a 'next N months' mention."""
    n = _n(m.args[0]) if m.args and m.args[0] else 1
    return n, UNITS[m.args[-1]]


__all__ += ["Anchor", "Mention", "detect", "horizon", "label_of", "latest_complete", "resolve"]
