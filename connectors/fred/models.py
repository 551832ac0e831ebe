"""Pydantic models of the FRED API payloads: series metadata and observations (``file_type=json``)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class Series(_Payload):
    """An item of ``GET /fred/series?series_id=...`` ``seriess``."""

    id: str
    realtime_start: date
    realtime_end: date
    title: str
    observation_start: date
    observation_end: date
    frequency: str
    frequency_short: str
    units: str
    units_short: str | None = None
    seasonal_adjustment: str | None = None
    seasonal_adjustment_short: str | None = None
    last_updated: str | None = None
    popularity: int | None = None
    notes: str | None = None


class SeriesResponse(_Payload):
    realtime_start: date
    realtime_end: date
    seriess: list[Series]


class Observation(_Payload):
    """One observation; FRED writes a missing value as ``"."``, which becomes ``None``."""

    realtime_start: date
    realtime_end: date
    date: date
    value: float | None

    @field_validator("value", mode="before")
    @classmethod
    def _dot_is_missing(cls, value: object) -> object:
        return None if value in (".", "", None) else value


class ObservationsResponse(_Payload):
    """``GET /fred/series/observations?series_id&observation_start&limit&offset&sort_order=asc``."""

    realtime_start: date
    realtime_end: date
    observation_start: date
    observation_end: date
    units: str = "lin"
    output_type: int = 1
    file_type: str = "json"
    order_by: str = "observation_date"
    sort_order: str = "asc"
    count: int
    offset: int
    limit: int
    observations: list[Observation] = Field(default_factory=list)


__all__ = ["Observation", "ObservationsResponse", "Series", "SeriesResponse"]
