"""TMDB source: movies discovered by release-date window, then their details (budget, revenue, genres, countries)."""

from __future__ import annotations

from typing import Any

import connectors.tmdb.client  # noqa: F401  (registers the id_list paginator)
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


__all__ = ["REPLAY_AUTH", "build_source", "window"]
