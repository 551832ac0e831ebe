"""TMDB source: movies discovered by release-date window, then their details (budget, revenue, genres, countries)."""

from __future__ import annotations

from typing import Any

import connectors.tmdb.client  # noqa: F401  (registers the id_list paginator)
from connectors.core.connector import Partition, SourcePlan
from connectors.tmdb.models import DiscoverMovie, MovieDetails

REPLAY_AUTH = {"type": "bearer", "token": "replay-tmdb-token"}


def build_source() -> dict[str, Any]:
    """The declarative spec (TMDB API v3; bearer = the v4 read access token)."""
    return {
        "name": "tmdb",
        "description": "The Movie Database: discover movies by release date window, and each movie's details.",
        "base_url": "https://api.themoviedb.org",
        "auth": {"type": "bearer", "token": "setting:tmdb_token"},
        "rate_limit": {"requests_per_second": 40, "burst": 40},
        "retry": {"max_attempts": 6},
        "endpoints": [
            {
                "name": "discover",
                "path": "/3/discover/movie",
                "params": {"sort_by": "primary_release_date.asc", "include_adult": "false"},
                "paginator": {"type": "page_number", "total_pages_path": "total_pages"},
                "records": "results",
                "primary_key": "id",
                "model": DiscoverMovie,
            },
            {
                "name": "movie",
                "path": "/3/movie/{movie_id}",
                "parent": {"endpoint": "discover", "fields": {"movie_id": "id"}},
                "paginator": {"type": "id_list"},
                "records": "$",
                "primary_key": "id",
                "model": MovieDetails,
            },
        ],
    }


def window(year: int) -> dict[str, str]:
    """A discover partition: one calendar year of primary release dates."""
    return {"primary_release_date.gte": f"{year}-01-01", "primary_release_date.lte": f"{year}-12-31"}


# What the bundled replay recording covers; a real run passes its own lists in the job config.
DEFAULTS: dict[str, Any] = {"years": [2006, 2007, 2008, 2009, 2010], "also": [{"years": [2023, 2024]}]}


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """One discover partition per release year (movie details are planned from what it lands)."""
    return [Partition("tmdb", "discover", window(int(y))) for y in opts["years"]]


def children(endpoint: str, records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Movie ids found by a discover partition."""
    return {"movie": [str(r["id"]) for r in records]} if endpoint == "discover" else {}


PLAN = SourcePlan(
    defaults=DEFAULTS,
    first=first_stage,
    children=children,
    parent_endpoints=frozenset({"discover"}),
    placeholders={"movie": "movie_id"},
    max_in_flight=3,
    replay_auth=REPLAY_AUTH,
)


__all__ = ["DEFAULTS", "PLAN", "REPLAY_AUTH", "build_source", "children", "first_stage", "window"]
