"""Every recorded payload validates against its connector's pydantic models; provenance is declared.

One connector's own recording checks live in ``tests/connectors/<name>/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from pydantic import BaseModel

from connectors.fred import models as fred
from connectors.github import models as gh
from connectors.musicbrainz import models as mb
from connectors.notion import models as notion
from connectors.pokeapi import models as poke
from connectors.spotify import models as spotify
from connectors.tmdb import models as tmdb
from connectors.weather import models as weather

ROOT = Path(__file__).resolve().parents[2] / "connectors"

# (connector, route path) -> (model, how to get the items out of one body)
MODELS: dict[tuple[str, str], tuple[type[BaseModel], str]] = {
    ("github", "/repos/{owner}/{repo}"): (gh.Repository, "$"),
    ("github", "commits"): (gh.Commit, "[]"),
    ("github", "issues"): (gh.Issue, "[]"),
    ("github", "releases"): (gh.Release, "[]"),
    ("github", "stargazers"): (gh.Stargazer, "[]"),
    ("github", "/graphql"): (gh.History, "data.repository.defaultBranchRef.target.history"),
    ("tmdb", "/3/discover/movie"): (tmdb.DiscoverPage, "$"),
    ("tmdb", "/3/movie/{movie_id}"): (tmdb.MovieDetails, "$"),
    ("weather", "/v1/archive"): (weather.OpenMeteoArchive, "$"),
    ("weather", "/data/3.0/onecall/day_summary"): (weather.OwmDaySummary, "$"),
    ("pokeapi", "/api/v2/pokemon"): (poke.NamedResource, "[]"),
    ("pokeapi", "/api/v2/pokemon/{id}"): (poke.Pokemon, "$"),
    ("pokeapi", "/api/v2/pokemon-species/{id}"): (poke.PokemonSpecies, "$"),
    ("pokeapi", "/api/v2/type/{id}"): (poke.Type, "$"),
    ("pokeapi", "/api/v2/pokemon-habitat/{id}"): (poke.Habitat, "$"),
    ("pokeapi", "/api/v2/generation/{id}"): (poke.Generation, "$"),
    ("musicbrainz", "/ws/2/release"): (mb.ReleaseSearch, "$"),
    ("musicbrainz", "/ws/2/recording"): (mb.RecordingSearch, "$"),
    ("spotify", "/v1/search"): (spotify.AlbumSearch, "albums?"),
    ("fred", "/fred/series"): (fred.SeriesResponse, "$"),
    ("fred", "/fred/series/observations"): (fred.ObservationsResponse, "$"),
    ("notion", "/v1/databases/{database_id}"): (notion.Database, "$"),
    ("notion", "query"): (notion.Page, "[]"),
    ("notion", "/v1/pages"): (notion.Page, "$"),
}


def _model_for(name: str, path: str) -> tuple[type[BaseModel], str] | None:
    if (name, path) in MODELS:
        return MODELS[(name, path)]
    tail = path.rsplit("/", 1)[-1]
    return MODELS.get((name, tail))


def _bodies(directory: Path, route: dict[str, Any]) -> list[Any]:
    if route.get("records"):
        return [orjson.loads((directory / route["records"]).read_bytes())]
    out = []
    for resp in route.get("responses", []):
        if resp.get("status", 200) != 200:
            continue
        out.append(orjson.loads((directory / resp["file"]).read_bytes()) if "file" in resp else resp["body"])
    return out


@pytest.mark.parametrize("name", ["github", "tmdb", "weather", "pokeapi", "musicbrainz", "spotify", "fred", "notion"])
def test_every_recorded_payload_validates(name: str) -> None:
    directory = ROOT / name / "fixtures"
    text = (directory / "manifest.yaml").read_text()
    assert "# Provenance:" in text and "# Synthetic:" in text
    manifest = yaml.safe_load(text)
    checked = 0
    for route in manifest["routes"]:
        if route.get("oauth_token") or route["path"].endswith("audio-features"):
            continue
        found = _model_for(name, route["path"])
        assert found is not None, f"{name} route {route['path']} has no model in this test"
        model, how = found
        for body in _bodies(directory, route):
            if name == "spotify" and "tracks" in body:  # a search page holds either albums or tracks
                for track in body["tracks"]["items"]:
                    spotify.Track.model_validate(track)
                    checked += 1
                continue
            items = body if how == "[]" else [body]
            if how not in ("$", "[]", "albums?"):
                items = [_dig(body, how)]
            for item in items:
                model.model_validate(item)
                checked += 1
    assert checked > 0


def _dig(body: Any, path: str) -> Any:
    for part in path.split("."):
        body = body[part]
    return body


def test_models_reject_what_the_api_never_sends() -> None:
    with pytest.raises(ValueError, match="3 values for 2 days"):
        weather.OpenMeteoDaily.model_validate(
            {
                "time": ["2015-01-01", "2015-01-02"],
                "temperature_2m_max": [1, 2, 3],
                "temperature_2m_min": [1, 2],
                "precipitation_sum": [0, 0],
                "wind_speed_10m_max": [1, 1],
            }
        )
    assert (
        fred.Observation.model_validate(
            {"realtime_start": "2015-01-01", "realtime_end": "2015-01-01", "date": "1960-01-01", "value": "."}
        ).value
        is None
    )
    with pytest.raises(ValueError):
        mb.Release.model_validate({"id": "x", "title": "t", "date": "20xx-01"})
    assert mb.partial_date("2015-03") is not None and mb.partial_date("2015-03").day == 1


def test_fixture_size_stays_modest() -> None:
    names = {n for n, _ in MODELS}
    total = sum(p.stat().st_size for n in names for p in (ROOT / n / "fixtures").rglob("*") if p.is_file())
    # a few MB overall, not tens: 8.3 MB since the 2023-24 public window (issue 15) joined the older windows
    assert total < 10 * 1024 * 1024
