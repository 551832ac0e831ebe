"""TMDB movie details -> silver.tmdb_movies."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.tmdb import models as tmdb


def tmdb_movies(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for m in _parse(tmdb.MovieDetails, records, rej, "tmdb/movie"):
        if m.release_date is None:
            rej.add(m.model_dump(mode="json"), "movie has no release_date (no date link key)", f"tmdb/movie/{m.id}")
            continue
        genres = [g.name for g in m.genres]
        rows.append(
            {
                "movie_id": m.id,
                "title": m.title,
                "release_date": m.release_date,
                "date": m.release_date,
                "genres": genres,
                "primary_genre": genres[0] if genres else "Unknown",
                "countries": [c.iso_3166_1 for c in m.production_countries],
                "budget_usd": m.budget,
                "revenue_usd": m.revenue,
                "runtime_min": m.runtime,
                "vote_average": m.vote_average,
                "vote_count": m.vote_count,
                "popularity": m.popularity,
                "original_language": m.original_language,
            }
        )
    return {"silver.tmdb_movies": rows}


TRANSFORMS: dict[str, Transform] = {
    "movie": tmdb_movies,
}

__all__ = ["TRANSFORMS", "tmdb_movies"]
