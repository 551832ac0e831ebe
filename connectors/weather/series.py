"""Weather gold series: daily precipitation, temperatures and wind per city."""

from __future__ import annotations

from connectors.core.connector import Family, SeriesBuilder, measure_by

FAMILIES: tuple[Family, ...] = (
    Family(
        "weather.precipitation",
        "Precipitation per day in {dim}",
        "mm",
        "sum",
        "weather",
        "silver.weather_daily",
        "weather",
        measure_by("silver.weather_daily", "city", "precipitation_mm", "sum"),
    ),
    Family(
        "weather.temp_max",
        "Daily maximum temperature in {dim}",
        "°C",
        "mean",
        "weather",
        "silver.weather_daily",
        "weather",
        measure_by("silver.weather_daily", "city", "temp_max_c", "mean"),
    ),
    Family(
        "weather.temp_min",
        "Daily minimum temperature in {dim}",
        "°C",
        "mean",
        "weather",
        "silver.weather_daily",
        "weather",
        measure_by("silver.weather_daily", "city", "temp_min_c", "mean"),
    ),
    Family(
        "weather.wind_max",
        "Daily maximum wind speed in {dim}",
        "m/s",
        "mean",
        "weather",
        "silver.weather_daily",
        "weather",
        measure_by("silver.weather_daily", "city", "wind_max_ms", "mean"),
    ),
)
BUILDERS: tuple[SeriesBuilder, ...] = ()

__all__ = ["BUILDERS", "FAMILIES"]
