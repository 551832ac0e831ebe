"""FRED series metadata and observations -> silver.fred_series, silver.fred_observations."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.fred import models as fred


def fred_series(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = [
        {
            "series_id": s.id,
            "title": s.title,
            "frequency": s.frequency_short,
            "units": s.units,
            "seasonal_adjustment": s.seasonal_adjustment_short,
            "observation_start": s.observation_start,
            "observation_end": s.observation_end,
            "last_updated": s.last_updated,
        }
        for s in _parse(fred.Series, records, rej, "fred/series")
    ]
    return {"silver.fred_series": rows}


def fred_observations(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    series_id = ctx["series_id"]
    rows = [
        {"series_id": series_id, "date": o.date, "value": o.value, "realtime_start": o.realtime_start}
        for o in _parse(fred.Observation, records, rej, f"fred/{series_id}")
    ]
    return {"silver.fred_observations": rows}


TRANSFORMS: dict[str, Transform] = {
    "series": fred_series,
    "observations": fred_observations,
}

__all__ = ["TRANSFORMS", "fred_observations", "fred_series"]
