"""TMDB gold series: movie releases by genre and box-office revenue."""

from __future__ import annotations

from connectors.core.connector import Family, SeriesBuilder, count_by, measure_by

FAMILIES: tuple[Family, ...] = (
    Family(
        "tmdb.releases",
        "Movies released per day, primary genre {dim}",
        "movies",
        "sum",
        "tmdb",
        "silver.tmdb_movies",
        "entertainment",
        count_by("silver.tmdb_movies", "primary_genre"),
    ),
    Family(
        "tmdb.revenue",
        "Worldwide box-office revenue of movies released per day ({dim})",
        "USD",
        "sum",
        "tmdb",
        "silver.tmdb_movies",
        "entertainment",
        measure_by("silver.tmdb_movies", "*", "revenue_usd", "sum"),
    ),
)
BUILDERS: tuple[SeriesBuilder, ...] = ()

__all__ = ["BUILDERS", "FAMILIES"]
