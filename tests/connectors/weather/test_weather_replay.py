"""Weather against the replay server: the OpenWeatherMap alternative provider, its key kept out of bronze."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.core import RunOptions, run_endpoint
from connectors.replay import ReplayServer
from jobs.ingest.plan import source_spec


def test_weather_openweathermap_alternative(
    lake: Any, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch, covary_home: Any
) -> None:
    from covary.settings import reset_settings
    from jobs.ingest.silver import to_silver

    monkeypatch.setenv("COVARY_CONNECTORS__WEATHER_PROVIDER", "openweathermap")
    reset_settings()
    from connectors.core import parse_spec

    spec = parse_spec(source_spec("weather", replay_url=replay.base_url("weather")))
    assert [e.name for e in spec.endpoints] == ["day_summary"]
    part = {"lat": 47.6062, "lon": -122.3321, "date": "2015-01-02"}
    summary = run_endpoint(
        lake, spec, "day_summary", partition=part, options=RunOptions(base_url=replay.base_url("weather"))
    )
    assert summary.rows == 1
    import orjson

    record = orjson.loads(lake.read("bronze.api_records").column("record")[0].as_py())
    rows, rejected = to_silver("weather", "day_summary", [record])
    (row,) = rows["silver.weather_daily"]
    assert row["city"] == "Seattle" and row["provider"] == "openweathermap" and not rejected.items
    urls = lake.read("bronze.api_pages", columns=["request_url"]).column("request_url").to_pylist()
    assert "replay-owm-key" not in urls[0] and "appid=" in urls[0]  # the key never lands in bronze
