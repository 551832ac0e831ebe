"""Pydantic models of the Open-Meteo archive and OpenWeatherMap One Call day-summary payloads."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


DAILY_VARIABLES = ("temperature_2m_max", "temperature_2m_min", "precipitation_sum", "wind_speed_10m_max")


class OpenMeteoDaily(_Payload):
    """The column-oriented ``daily`` block: ``time`` plus one equally long list per variable."""

    time: list[date]
    temperature_2m_max: list[float | None]
    temperature_2m_min: list[float | None]
    precipitation_sum: list[float | None]
    wind_speed_10m_max: list[float | None]

    @model_validator(mode="after")
    def _same_lengths(self) -> OpenMeteoDaily:
        n = len(self.time)
        for name in DAILY_VARIABLES:
            if len(getattr(self, name)) != n:
                raise ValueError(f"daily.{name} has {len(getattr(self, name))} values for {n} days")
        return self


class OpenMeteoArchive(_Payload):
    """``GET https://archive-api.open-meteo.com/v1/archive?latitude&longitude&start_date&end_date&daily=...``."""

    latitude: float
    longitude: float
    generationtime_ms: float | None = None
    utc_offset_seconds: int = 0
    timezone: str = "GMT"
    timezone_abbreviation: str | None = None
    elevation: float | None = None
    daily_units: dict[str, str] = Field(default_factory=dict)
    daily: OpenMeteoDaily


class OwmTemperature(_Payload):
    min: float
    max: float
    afternoon: float | None = None
    night: float | None = None
    evening: float | None = None
    morning: float | None = None


class OwmWindMax(_Payload):
    speed: float
    direction: float | None = None


class OwmWind(_Payload):
    max: OwmWindMax


class OwmPrecipitation(_Payload):
    total: float


class OwmDaySummary(_Payload):
    """``GET https://api.openweathermap.org/data/3.0/onecall/day_summary?lat&lon&date&units&appid``."""

    lat: float
    lon: float
    tz: str | None = None
    date: date
    units: str = "standard"
    temperature: OwmTemperature
    precipitation: OwmPrecipitation
    wind: OwmWind
    humidity: dict[str, float] | None = None
    pressure: dict[str, float] | None = None
    cloud_cover: dict[str, float] | None = None


__all__ = ["DAILY_VARIABLES", "OpenMeteoArchive", "OpenMeteoDaily", "OwmDaySummary"]
