"""Weather source: Open-Meteo historical archive (default, no key) or OpenWeatherMap day summaries (with a key)."""

from __future__ import annotations

from datetime import date
from typing import Any

from connectors.core.connector import Partition, SourcePlan
from connectors.core.geo import city_coordinates
from connectors.errors import SpecError
from connectors.weather.models import DAILY_VARIABLES, OpenMeteoArchive, OwmDaySummary

REPLAY_AUTH = {"type": "api_key", "name": "appid", "location": "query", "key": "replay-owm-key"}


def _provider() -> str:
    from covary.settings import get_settings

    return get_settings().connectors.weather_provider


def build_source() -> dict[str, Any]:
    """Open-Meteo unless ``connectors.weather_provider`` is ``openweathermap``."""
    if _provider() == "openweathermap":
        return {
            "name": "weather",
            "description": "OpenWeatherMap One Call 3.0 daily aggregation (min/max temperature, rain, wind).",
            "base_url": "https://api.openweathermap.org",
            "auth": {"type": "api_key", "name": "appid", "location": "query", "key": "setting:openweathermap_key"},
            "rate_limit": {"requests_per_second": 1, "burst": 10},  # free tier: 60 calls/minute
            "endpoints": [
                {
                    "name": "day_summary",
                    "path": "/data/3.0/onecall/day_summary",
                    "params": {"units": "metric"},
                    "records": "$",
                    "model": OwmDaySummary,
                },
            ],
        }
    return {
        "name": "weather",
        "description": "Open-Meteo historical weather archive: daily temperature, precipitation and wind by lat/lon.",
        "base_url": "https://archive-api.open-meteo.com",
        "rate_limit": {"requests_per_second": 10, "burst": 10},  # fair use: 600 calls/minute, no key
        "endpoints": [
            {
                "name": "archive",
                "path": "/v1/archive",
                "params": {"daily": ",".join(DAILY_VARIABLES), "wind_speed_unit": "ms", "timezone": "GMT"},
                "records": "$",
                "model": OpenMeteoArchive,
            },
        ],
    }


def archive_window(lat: float, lon: float, start: date, end: date) -> dict[str, Any]:
    """An Open-Meteo partition: one place and a date window (the archive serves up to decades per call)."""
    return {"latitude": lat, "longitude": lon, "start_date": start.isoformat(), "end_date": end.isoformat()}


def day(lat: float, lon: float, when: date) -> dict[str, Any]:
    """An OpenWeatherMap partition: one place and day."""
    return {"lat": lat, "lon": lon, "date": when.isoformat()}


DEFAULTS: dict[str, Any] = {
    "cities": ["Seattle", "New York"],
    "years": [2012, 2013, 2014, 2015],
    "owm_days": {"start": "2015-01-01", "end": "2015-01-31"},
    # the bundled public window (synthetic, connectors/synth/public.py): the enterprise regions' cities
    "also": [{"cities": ["New York", "Atlanta", "Chicago", "Los Angeles", "London", "Berlin"], "years": [2023, 2024]}],
}


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """Yearly archive windows per place (Open-Meteo), or one partition per place and day (OpenWeatherMap)."""
    places = []
    for city in opts["cities"]:
        try:
            places.append(city_coordinates(city) if isinstance(city, str) else (float(city[0]), float(city[1])))
        except KeyError as exc:
            raise SpecError(str(exc.args[0]), hint="use a known city or a [lat, lon] pair") from exc
    if _provider() == "openweathermap":
        days = opts["owm_days"]
        start, end = date.fromisoformat(days["start"]), date.fromisoformat(days["end"])
        return [
            Partition("weather", "day_summary", day(lat, lon, date.fromordinal(d)))
            for lat, lon in places
            for d in range(start.toordinal(), end.toordinal() + 1)
        ]
    return [
        Partition("weather", "archive", archive_window(lat, lon, date(y, 1, 1), date(y, 12, 31)))
        for lat, lon in places
        for y in opts["years"]
    ]


PLAN = SourcePlan(defaults=DEFAULTS, first=first_stage, replay_auth=REPLAY_AUTH)


__all__ = ["DEFAULTS", "PLAN", "REPLAY_AUTH", "archive_window", "build_source", "day", "first_stage"]
