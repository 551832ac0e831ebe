"""Recorder of the weather fixture: NOAA daily observations from vega-datasets ``weather.csv``."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from connectors.replay.recording import Route, response, responses_route
from connectors.synth.public import CITIES as PUBLIC_CITIES
from connectors.synth.public import recording_window

OWM_AUTH = {"query": "appid", "value": "replay-owm-key"}


CITIES = {
    "Seattle": (47.6062, -122.3321, 47.595562, -122.32443, 56.0),
    "New York": (40.7128, -74.0060, 40.710335, -73.99308, 27.0),
}
DAILY = "temperature_2m_max,temperature_2m_min,precipitation_sum,wind_speed_10m_max"


def build_weather(vega: Path) -> tuple[list[Route], dict[str, Any]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in csv.DictReader((vega / "weather.csv").open()):
        rows[row["location"]].append(row)
    archive = responses_route("/v1/archive", rate_limit={"limit": 600, "window_s": 60})
    owm = responses_route("/data/3.0/onecall/day_summary", auth=OWM_AUTH, rate_limit={"limit": 60, "window_s": 60})
    for city, (lat, lon, glat, glon, elevation) in CITIES.items():
        for year in range(2012, 2016):
            days = [r for r in rows[city] if r["date"].startswith(str(year))]
            daily: dict[str, list[Any]] = {
                "time": [r["date"] for r in days],
                "temperature_2m_max": [float(r["temp_max"]) for r in days],
                "temperature_2m_min": [float(r["temp_min"]) for r in days],
                "precipitation_sum": [float(r["precipitation"]) for r in days],
                "wind_speed_10m_max": [float(r["wind"]) for r in days],
            }
            _archive_year(archive, (lat, lon), (glat, glon), elevation, year, daily)
        # OpenWeatherMap alternative: January 2015 day summaries (metric units)
        for r in rows[city]:
            if not r["date"].startswith("2015-01"):
                continue
            tmax, tmin = float(r["temp_max"]), float(r["temp_min"])
            body = {
                "lat": lat,
                "lon": lon,
                "tz": "+00:00",
                "date": r["date"],
                "units": "metric",
                "cloud_cover": {"afternoon": 0},
                "humidity": {"afternoon": 70},
                "precipitation": {"total": float(r["precipitation"])},
                "temperature": {
                    "min": tmin,
                    "max": tmax,
                    "afternoon": tmax,
                    "night": tmin,
                    "evening": (tmax + tmin) / 2,
                    "morning": tmin,
                },
                "pressure": {"afternoon": 1015},
                "wind": {"max": {"speed": float(r["wind"]), "direction": 180}},
            }
            query = {"lat": lat, "lon": lon, "date": r["date"], "units": "metric"}
            response(owm, body, query=query)
    _public_window(archive)
    meta = {
        "provenance": "vega-datasets weather.csv: NOAA Climate Data Online daily observations for Seattle and "
        "New York 2012-2015 (U.S. Government work, public domain). Wind is NOAA AWND in m/s "
        "(requested with wind_speed_unit=ms). Grid coordinates/elevation illustrative. "
        f"PLUS the public window {PUBLIC_YEARS[0]}-{PUBLIC_YEARS[-1]} for {', '.join(c.name for c in PUBLIC_CITIES)}: "
        "SYNTHETIC daily weather from connectors/synth/public.py (seed 2023; licence CC0-1.0), its seasonal cycle "
        "fitted to published 1991-2020 monthly normals (NOAA NCEI, public domain; Met Office, OGL v3.0; DWD, "
        "dl-de/by-2-0)",
        "synthetic": "2012-2015 real (NOAA), 2023-2024 synthetic",
        "windows": [
            {
                "window": "2012-01-01..2015-12-31",
                "synthetic": False,
                "data": "Seattle, New York daily max/min temperature, precipitation, wind (NOAA CDO via vega-datasets)",
                "source": "vega-datasets 3.2.1 weather.csv",
                "licence": "BSD-3-Clause (package); NOAA data public domain",
            },
            recording_window(
                "New York, Atlanta, Chicago, Los Angeles, London, Berlin daily weather",
                "seasonal cycle fitted to 1991-2020 monthly normals (NOAA NCEI public domain; Met Office OGL v3.0; "
                "DWD dl-de/by-2-0), AR(1) anomalies, Markov wet days",
            ),
        ],
    }
    return [archive, owm], meta


PUBLIC_YEARS = (2023, 2024)


def _public_window(archive: Route) -> None:
    """Open-Meteo archive answers, one per city and year, from the public clock (synthetic values)."""
    from connectors.core.geo import city_coordinates
    from connectors.synth.public import public_clock

    clock = public_clock()
    dates = clock.dates
    for city in PUBLIC_CITIES:
        lat, lon = city_coordinates(city.name)
        w = clock.weather[city.name]
        for year in PUBLIC_YEARS:
            idx = [i for i, d in enumerate(dates) if d.year == year]
            daily: dict[str, list[Any]] = {
                "time": [dates[i].isoformat() for i in idx],
                "temperature_2m_max": [float(w.temp_max[i]) for i in idx],
                "temperature_2m_min": [float(w.temp_min[i]) for i in idx],
                "precipitation_sum": [float(w.precipitation[i]) for i in idx],
                "wind_speed_10m_max": [float(w.wind_max[i]) for i in idx],
            }
            _archive_year(archive, (lat, lon), (round(lat, 2), round(lon, 2)), city.elevation_m, year, daily)


def _archive_year(
    archive: Route,
    asked: tuple[float, float],
    grid: tuple[float, float],
    elevation: float,
    year: int,
    daily: dict[str, list[Any]],
) -> None:
    """Record Open-Meteo's answer for one place and calendar year: asked at ``asked`` (lat, lon), answered
    for the model grid cell ``grid`` at ``elevation`` metres, ``daily`` the DAILY variables by day."""
    body = {
        "latitude": grid[0],
        "longitude": grid[1],
        "generationtime_ms": 0.85,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "timezone_abbreviation": "GMT",
        "elevation": elevation,
        "daily_units": {
            "time": "iso8601",
            "temperature_2m_max": "°C",
            "temperature_2m_min": "°C",
            "precipitation_sum": "mm",
            "wind_speed_10m_max": "m/s",
        },
        "daily": daily,
    }
    query = {
        "latitude": asked[0],
        "longitude": asked[1],
        "start_date": f"{year}-01-01",
        "end_date": f"{year}-12-31",
        "daily": DAILY,
        "wind_speed_unit": "ms",
        "timezone": "GMT",
    }
    response(archive, body, query=query)
