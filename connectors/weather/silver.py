"""Weather records (Open-Meteo archive, OpenWeatherMap day summaries) -> silver.weather_daily + silver.locations."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.core.geo import resolve
from connectors.weather import models as weather


def _location_row(lat: float, lon: float) -> dict[str, Any]:
    place = resolve(lat, lon)
    return {
        "location_id": place.location_id,
        "lat": lat,
        "lon": lon,
        "city": place.city,
        "country": place.country,
        "country_code": place.country_code,
        "distance_km": place.distance_km,
    }


def open_meteo(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows, places = [], []
    lat, lon = float(ctx["latitude"]), float(ctx["longitude"])
    loc = _location_row(lat, lon)
    for a in _parse(weather.OpenMeteoArchive, records, rej, f"weather/archive/{lat},{lon}"):
        d = a.daily
        places.append(loc)
        for i, day in enumerate(d.time):
            rows.append(
                {
                    "location_id": loc["location_id"],
                    "date": day,
                    "city": loc["city"],
                    "country_code": loc["country_code"],
                    "lat": lat,
                    "lon": lon,
                    "temp_max_c": d.temperature_2m_max[i],
                    "temp_min_c": d.temperature_2m_min[i],
                    "precipitation_mm": d.precipitation_sum[i],
                    "wind_max_ms": _wind_ms(d.wind_speed_10m_max[i], a.daily_units.get("wind_speed_10m_max", "m/s")),
                    "provider": "open-meteo",
                }
            )
    return {"silver.weather_daily": rows, "silver.locations": places}


def _wind_ms(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    factor = {"m/s": 1.0, "km/h": 1 / 3.6, "mp/h": 0.44704, "kn": 0.514444}.get(unit, 1.0)
    return round(value * factor, 3)


def openweathermap(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows, places = [], []
    for s in _parse(weather.OwmDaySummary, records, rej, "weather/owm"):
        loc = _location_row(s.lat, s.lon)
        places.append(loc)
        kelvin = s.units == "standard"
        to_c = (lambda k: round(k - 273.15, 2)) if kelvin else (lambda c: c)
        rows.append(
            {
                "location_id": loc["location_id"],
                "date": s.date,
                "city": loc["city"],
                "country_code": loc["country_code"],
                "lat": s.lat,
                "lon": s.lon,
                "temp_max_c": to_c(s.temperature.max),
                "temp_min_c": to_c(s.temperature.min),
                "precipitation_mm": s.precipitation.total,
                "wind_max_ms": round(s.wind.max.speed * (0.44704 if s.units == "imperial" else 1.0), 3),
                "provider": "openweathermap",
            }
        )
    return {"silver.weather_daily": rows, "silver.locations": places}


TRANSFORMS: dict[str, Transform] = {
    "archive": open_meteo,
    "day_summary": openweathermap,
}

__all__ = ["TRANSFORMS", "open_meteo", "openweathermap"]
