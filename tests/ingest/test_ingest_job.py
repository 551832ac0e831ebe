"""The ingest job on local Ray against the replay server: every connector lands; a killed worker; resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from lakehouse import Lakehouse

# A small slice of every recording, so the whole job fits a shared 2-core test run.
SMALL: dict[str, Any] = {
    "github": {"repos": ["covary-demo/rustdb"]},
    "tmdb": {"years": [2010], "max_children": 30},
    "weather": {"cities": ["Seattle"], "years": [2015]},
    "pokeapi": {"max_children": 12},
    "musicbrainz": {"months": ["2015-01"], "countries": ["US"]},
    "spotify": {"markets": ["US"]},
    "fred": {"series": ["UNRATE", "SP500"]},
}


@pytest.fixture
def home_lake(covary_home: Path) -> Lakehouse:
    from covary.settings import get_settings

    return Lakehouse.from_settings(get_settings())


def _job(config: dict[str, Any]) -> dict[str, Any]:
    from jobs.ingest import main

    return main({"replay": True, "options": SMALL} | config)


def test_every_connector_lands_in_bronze_silver_gold(ray_local: None, home_lake: Lakehouse, capsys: Any) -> None:
    result = _job({"sources": "all"})
    per = result["sources"]
    assert set(per) == {"github", "tmdb", "weather", "pokeapi", "musicbrainz", "spotify", "fred", "notion"}
    for name, counts in per.items():
        assert counts["records"] > 0, name
    lake = home_lake
    expect = {
        "silver.github_commits": 250,
        "silver.github_commit_stats": 250,
        "silver.tmdb_movies": 30,
        "silver.weather_daily": 365,
        "silver.pokemon": 12,
        "silver.fred_observations": 203 + 123,
        "silver.notion_pages": 63,
    }
    for table, n in expect.items():
        assert lake.read(table).num_rows == n, table
    assert lake.read("silver.music_releases").num_rows > 0 and lake.read("silver.spotify_tracks").num_rows > 0
    assert lake.read("silver.entity_links").num_rows > 0  # ISRC links Spotify <-> MusicBrainz
    assert result["finalize"]["isrc_links"] == lake.read("silver.entity_links").num_rows
    poke = lake.read("silver.pokemon").to_pylist()
    assert all(p["generation"] == "generation-i" and p["types"] for p in poke)
    catalog = {r["series_id"]: r for r in lake.read("gold.series_catalog").to_pylist()}
    for sid in (
        "github.commits.rust.daily",
        "weather.precipitation.seattle.daily",
        "tmdb.releases.drama.weekly",
        "musicbrainz.releases.album.daily",
        "spotify.tracks_released.all.daily",
        "fred.unrate.quarterly",
        "notion.property.mood.daily",
    ):
        assert sid in catalog, sid
    assert catalog["weather.precipitation.seattle.daily"]["aggregation"] == "sum"
    values = lake.read("gold.series_values").filter(pc.field("series_id") == "weather.precipitation.seattle.daily")
    assert values.num_rows == 365
    # rows are exactly-once: every bronze record once per (partition, run)
    rec = lake.read(
        "bronze.api_records", columns=["source", "endpoint", "partition", "run_seq", "page_key", "record_index"]
    ).to_pylist()
    keys = [tuple(r.values()) for r in rec]
    assert len(keys) == len(set(keys))
    assert len(result["lines"]) == 9
    shown = _catalog_from_cli(capsys)  # `covary table show gold.series_catalog --json`
    assert "weather.temp_max.seattle.daily" in json.dumps(shown) and "fred.sp500.monthly" in json.dumps(shown)


def _catalog_from_cli(capsys: Any) -> list[dict[str, Any]]:
    from covary.cli import main as cli

    capsys.readouterr()
    assert cli(["table", "show", "gold.series_catalog", "--json", "--limit", "1000"]) == 0
    return json.loads(capsys.readouterr().out)


def test_killed_worker_mid_run_completes_exactly_once(ray_local: None, home_lake: Lakehouse, tmp_path: Path) -> None:
    marker = tmp_path / "killed-once"
    victim = 'fred/observations/{"series_id":"UNRATE"}'
    result = _job({"sources": ["fred"], "chaos": {"marker": str(marker), "partition_id": victim}})
    assert marker.exists() and "exit" in marker.read_text()  # the worker really died (os._exit) after bronze
    lake = home_lake
    expr = (pc.field("source") == "fred") & (pc.field("endpoint") == "observations")
    bronze = lake.read("bronze.api_records", filter=expr, columns=["partition", "record_key"]).to_pylist()
    unrate = [r["record_key"] for r in bronze if "UNRATE" in r["partition"]]
    assert len(unrate) == len(set(unrate)) == 203  # the retry did not fetch or land it again
    silver = lake.read("silver.fred_observations").filter(pc.field("series_id") == "UNRATE")
    assert silver.num_rows == 203
    done = [r for r in result["sources"]["fred"].items()]
    assert done and result["sources"]["fred"]["partitions"] == 4


def test_failed_partition_resumes_without_redoing_the_rest(
    ray_local: None, home_lake: Lakehouse, tmp_path: Path
) -> None:
    from jobs.ingest import resume_key
    from jobs.ingest.errors import PartitionFailedError

    marker = tmp_path / "fail-once"
    victim = 'fred/series/{"series_id":"SP500"}'
    config = {"sources": ["fred"], "chaos": {"marker": str(marker), "partition_id": victim, "mode": "raise"}}
    with pytest.raises(PartitionFailedError, match="SP500"):
        _job(config)
    key = resume_key(home_lake)
    assert key is not None
    result = _job(config | {"resume": True})
    assert result["run_key"] == key and resume_key(home_lake) is None
    fred = result["sources"]["fred"]
    # the failed partition had landed its bronze before failing: the resume neither refetches it nor redoes
    # the three partitions that were done; it only builds the missing silver
    assert fred["partitions"] == 4 and fred["skipped"] == 3 and fred["requests"] == 0
    assert home_lake.read("silver.fred_series").num_rows == 2
