"""Weather source: Open-Meteo historical archive (default, no key) or OpenWeatherMap day summaries (with a key)."""

from __future__ import annotations

from datetime import date
from typing import Any

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


__all__ = ["REPLAY_AUTH", "archive_window", "build_source", "day"]
