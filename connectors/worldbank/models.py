"""Payload models of the World Bank Indicators API v2 (``/v2/country/{country}/indicator/{indicator}``).

A JSON answer is a two-element list: ``[page metadata, observations]``; the observations are ``null``
when nothing matches (``[{"page": 0, "pages": 0, "total": 0, ...}, null]``). Unknown fields are kept.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

_PERIOD = re.compile(r"^(\d{4})(?:([MQ])(\d{1,2}))?$")
FREQUENCY = {None: "A", "Q": "Q", "M": "M"}


class IdValue(BaseModel):
    """``{"id": ..., "value": ...}``: an indicator (code, name) or a country/aggregate (ISO2 code, name)."""

    model_config = ConfigDict(extra="allow")
    id: str
    value: str


class PageMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    page: int
    pages: int
    per_page: int | str  # the API sends a number, older answers a string
    total: int


class Observation(BaseModel):
    """One (indicator, country, period) value; ``value`` is null where the year has no estimate yet."""

    model_config = ConfigDict(extra="allow")
    indicator: IdValue
    country: IdValue
    countryiso3code: str = ""  # empty for some aggregates
    date: str = Field(description="period: '2013' (annual), '2013Q2' or '2013M07'")
    value: float | None = None
    unit: str = ""
    obs_status: str = ""
    decimal: int | None = None


def period_start(period: str) -> tuple[date, str]:
    """First day of a World Bank period and its frequency: ``'2013'`` -> (2013-01-01, 'A'), ``'2013Q3'`` ->
    (2013-07-01, 'Q'), ``'2013M07'`` -> (2013-07-01, 'M'). A ValueError names anything else."""
    m = _PERIOD.match(period.strip())
    if m is None:
        raise ValueError(f"World Bank period {period!r} is not YYYY, YYYYQn or YYYYMmm")
    year, kind, n = int(m[1]), m[2], int(m[3] or 1)
    if (kind == "Q" and not 1 <= n <= 4) or (kind == "M" and not 1 <= n <= 12):
        raise ValueError(f"World Bank period {period!r} has no such quarter/month")
    month = (n - 1) * 3 + 1 if kind == "Q" else n
    return date(year, month, 1), FREQUENCY[kind]


__all__ = ["FREQUENCY", "IdValue", "Observation", "PageMeta", "period_start"]
