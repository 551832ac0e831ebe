"""Silver -> gold: daily and weekly series of every built-in source into gold.series_values + gold.series_catalog."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from jobs.ingest.silver import declared_batch
from lakehouse import BatchKey, Lakehouse, SchemaMismatchError, TableNotFoundError

VALUES_SCHEMA = pa.schema([("series_id", pa.string()), ("ts", pa.date32()), ("value", pa.float64())])


@dataclass(frozen=True)
class Family:
    """A family of series built from one silver table, split by one dimension (language, city, genre...)."""

    prefix: str  # e.g. "github.commits"; ids are f"{prefix}.{dimension}.{daily|weekly}"
    description: str  # formatted with {dim}
    unit: str
    aggregation: str  # sum (counts, flows: zero-filled) | mean (levels)
    source: str
    lineage: str
    domain: str
    build: Callable[[Lakehouse], pl.DataFrame]  # -> columns dim, date, value (daily)


def slug(value: object) -> str:
    """A series-id segment: lower case, [a-z0-9_] only."""
    text = re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")
    return text or "unknown"


def _read(lake: Lakehouse, table: str, columns: list[str]) -> pl.DataFrame:
    try:
        return lake.read_polars(table, columns=columns)
    except TableNotFoundError:
        return pl.DataFrame()


def _count(table: str, dim: str, *, where: pl.Expr | None = None) -> Callable[[Lakehouse], pl.DataFrame]:
    def build(lake: Lakehouse) -> pl.DataFrame:
        frame = _read(lake, table, [dim, "date"] if dim != "*" else ["date"])
        if frame.is_empty():
            return frame
        if where is not None:
            frame = frame.filter(where)
        dim_expr = pl.lit("all") if dim == "*" else pl.col(dim).fill_null("unknown")
        return frame.group_by(dim_expr.alias("dim"), "date").agg(pl.len().cast(pl.Float64).alias("value"))

    return build


def _measure(table: str, dim: str, value: str, how: str) -> Callable[[Lakehouse], pl.DataFrame]:
    def build(lake: Lakehouse) -> pl.DataFrame:
        frame = _read(lake, table, [c for c in {dim, "date", value} if c != "*"])
        if frame.is_empty():
            return frame
        agg = pl.col(value).sum() if how == "sum" else pl.col(value).mean()
        dim_expr = pl.lit("all") if dim == "*" else pl.col(dim).fill_null("unknown")
        return frame.group_by(dim_expr.alias("dim"), "date").agg(agg.cast(pl.Float64).alias("value"))

    return build


def _commit_lines(lake: Lakehouse) -> pl.DataFrame:
    stats = _read(lake, "silver.github_commit_stats", ["repo", "date", "additions", "deletions"])
    repos = _read(lake, "silver.github_repos", ["repo", "language"])
    if stats.is_empty() or repos.is_empty():
        return pl.DataFrame()
    joined = stats.join(repos, on="repo", how="left")
    return joined.group_by(pl.col("language").fill_null("unknown").alias("dim"), "date").agg(
        (pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0)).sum().cast(pl.Float64).alias("value")
    )


def _commits_by_language(lake: Lakehouse) -> pl.DataFrame:
    commits = _read(lake, "silver.github_commits", ["repo", "date"])
    repos = _read(lake, "silver.github_repos", ["repo", "language"])
    if commits.is_empty():
        return commits
    if repos.is_empty():
        repos = pl.DataFrame(schema={"repo": pl.String, "language": pl.String})
    joined = commits.join(repos, on="repo", how="left")
    return joined.group_by(pl.col("language").fill_null("unknown").alias("dim"), "date").agg(
        pl.len().cast(pl.Float64).alias("value")
    )


def _notion_numbers(lake: Lakehouse) -> pl.DataFrame:
    frame = _read(lake, "silver.notion_page_numbers", ["property", "date", "value"])
    if frame.is_empty():
        return frame
    return frame.group_by(pl.col("property").alias("dim"), "date").agg(pl.col("value").mean().alias("value"))


FAMILIES: tuple[Family, ...] = (
    Family(
        "github.commits",
        "Commits per day to repositories whose primary language is {dim}",
        "commits",
        "sum",
        "github",
        "silver.github_commits, silver.github_repos",
        "code",
        _commits_by_language,
    ),
    Family(
        "github.lines_changed",
        "Lines added + deleted per day in {dim} repositories (GraphQL history)",
        "lines",
        "sum",
        "github",
        "silver.github_commit_stats, silver.github_repos",
        "code",
        _commit_lines,
    ),
    Family(
        "github.stars",
        "New stars per day of repository {dim}",
        "stars",
        "sum",
        "github",
        "silver.github_stargazers",
        "code",
        _count("silver.github_stargazers", "repo"),
    ),
    Family(
        "github.issues_opened",
        "Issues and pull requests opened per day in repository {dim}",
        "issues",
        "sum",
        "github",
        "silver.github_issues",
        "code",
        _count("silver.github_issues", "repo"),
    ),
    Family(
        "weather.precipitation",
        "Precipitation per day in {dim}",
        "mm",
        "sum",
        "weather",
        "silver.weather_daily",
        "weather",
        _measure("silver.weather_daily", "city", "precipitation_mm", "sum"),
    ),
    Family(
        "weather.temp_max",
        "Daily maximum temperature in {dim}",
        "°C",
        "mean",
        "weather",
        "silver.weather_daily",
        "weather",
        _measure("silver.weather_daily", "city", "temp_max_c", "mean"),
    ),
    Family(
        "weather.temp_min",
        "Daily minimum temperature in {dim}",
        "°C",
        "mean",
        "weather",
        "silver.weather_daily",
        "weather",
        _measure("silver.weather_daily", "city", "temp_min_c", "mean"),
    ),
    Family(
        "weather.wind_max",
        "Daily maximum wind speed in {dim}",
        "m/s",
        "mean",
        "weather",
        "silver.weather_daily",
        "weather",
        _measure("silver.weather_daily", "city", "wind_max_ms", "mean"),
    ),
    Family(
        "tmdb.releases",
        "Movies released per day, primary genre {dim}",
        "movies",
        "sum",
        "tmdb",
        "silver.tmdb_movies",
        "entertainment",
        _count("silver.tmdb_movies", "primary_genre"),
    ),
    Family(
        "tmdb.revenue",
        "Worldwide box-office revenue of movies released per day ({dim})",
        "USD",
        "sum",
        "tmdb",
        "silver.tmdb_movies",
        "entertainment",
        _measure("silver.tmdb_movies", "*", "revenue_usd", "sum"),
    ),
    Family(
        "musicbrainz.releases",
        "Music releases per day of type {dim} (MusicBrainz)",
        "releases",
        "sum",
        "musicbrainz",
        "silver.music_releases",
        "music",
        _count("silver.music_releases", "primary_type"),
    ),
    Family(
        "spotify.tracks_released",
        "Spotify tracks released per day ({dim})",
        "tracks",
        "sum",
        "spotify",
        "silver.spotify_tracks",
        "music",
        _count("silver.spotify_tracks", "*"),
    ),
    Family(
        "notion.pages",
        "Notion pages dated each day ({dim})",
        "pages",
        "sum",
        "notion",
        "silver.notion_pages",
        "work",
        _count("silver.notion_pages", "*"),
    ),
    Family(
        "notion.property",
        "Daily mean of Notion number property {dim}",
        "value",
        "mean",
        "notion",
        "silver.notion_page_numbers",
        "work",
        _notion_numbers,
    ),
)

FRED_FREQ = {"D": "D", "W": "W", "M": "M", "Q": "Q", "A": "A", "SA": "A"}
FREQ_WORD = {"D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "A": "annual"}


def _daily_and_weekly(family: Family, daily: pl.DataFrame) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Zero-fill sum series over their date span; derive weekly (Monday) series with the aggregation rule."""
    frames, catalog = [], []
    for (dim,), group in daily.partition_by("dim", as_dict=True, maintain_order=True).items():
        part = group.sort("date")
        if family.aggregation == "sum":
            first, last = part["date"].min(), part["date"].max()
            span = pl.Series("date", pl.date_range(first, last, "1d", eager=True))  # type: ignore[arg-type]
            part = (
                pl.DataFrame([span])
                .join(part.select("date", "value"), on="date", how="left")
                .with_columns(pl.col("value").fill_null(0.0))
            )
        base = f"{family.prefix}.{slug(dim)}"
        daily_part = part.select(pl.lit(f"{base}.daily").alias("series_id"), pl.col("date").alias("ts"), "value")
        agg = pl.col("value").sum() if family.aggregation == "sum" else pl.col("value").mean()
        weekly = (
            part.with_columns(pl.col("date").dt.truncate("1w").alias("ts"))
            .group_by("ts")
            .agg(agg.alias("value"))
            .select(pl.lit(f"{base}.weekly").alias("series_id"), "ts", "value")
            .sort("ts")
        )
        frames += [daily_part, weekly]
        for freq, word in (("D", "daily"), ("W", "weekly")):
            catalog.append(
                {
                    "series_id": f"{base}.{word}",
                    "description": family.description.format(dim=dim) + ("" if freq == "D" else " (weekly)"),
                    "unit": family.unit,
                    "frequency": freq,
                    "aggregation": family.aggregation,
                    "source": family.source,
                    "lineage": family.lineage,
                    "domain": family.domain,
                    "derived_from": [] if freq == "D" else [f"{base}.daily"],  # the weekly series is a roll-up
                }
            )
    return pl.concat(frames) if frames else pl.DataFrame(), catalog


def _fred(lake: Lakehouse) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    obs = _read(lake, "silver.fred_observations", ["series_id", "date", "value"])
    meta = _read(lake, "silver.fred_series", ["series_id", "title", "frequency", "units"])
    if obs.is_empty() or meta.is_empty():
        return pl.DataFrame(), []
    catalog, frames = [], []
    for row in meta.iter_rows(named=True):
        freq = FRED_FREQ.get(row["frequency"] or "", "D")
        sid = f"fred.{slug(row['series_id'])}.{FREQ_WORD[freq]}"
        part = obs.filter(pl.col("series_id") == row["series_id"]).drop_nulls("value")
        frames.append(part.select(pl.lit(sid).alias("series_id"), pl.col("date").alias("ts"), "value"))
        catalog.append(
            {
                "series_id": sid,
                "description": f"{row['title']} (FRED {row['series_id']})",
                "unit": row["units"],
                "frequency": freq,
                "aggregation": "mean",
                "source": "fred",
                "lineage": "silver.fred_observations, silver.fred_series",
                "domain": "economy",
            }
        )
    return pl.concat(frames), catalog


def build_series(lake: Lakehouse, *, sources: set[str] | None = None) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Every gold series (values + catalogue rows) derivable from the silver tables now."""
    frames, catalog = [], []
    for family in FAMILIES:
        if sources and family.source not in sources:
            continue
        daily = family.build(lake)
        if daily.is_empty():
            continue
        daily = daily.with_columns(pl.col("value").cast(pl.Float64))
        values, entries = _daily_and_weekly(family, daily)
        frames.append(values)
        catalog += entries
    if not sources or "fred" in sources:
        values, entries = _fred(lake)
        if entries:
            frames.append(values)
            catalog += entries
    values = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"series_id": pl.String, "ts": pl.Date, "value": pl.Float64})
    )
    return values, catalog


def write_gold(lake: Lakehouse, *, sources: set[str] | None = None, load_name: str = "ingest.gold") -> dict[str, int]:
    """Build and merge every series into gold (exactly once per distinct content)."""
    values, catalog = build_series(lake, sources=sources)
    if not catalog:
        return {"series": 0, "values": 0}
    values = values.sort("series_id", "ts")
    digest = hashlib.sha256(values.hash_rows().to_numpy().tobytes()).hexdigest()[:16]
    entries, unfit = declared_batch("gold.series_catalog", catalog)  # declared schema: [] stays list<string>
    if unfit:
        raise SchemaMismatchError(unfit[0][1], hint="a series family builds a catalogue row its table cannot hold")
    with lake.load(load_name) as load:
        load.write("gold.series_catalog", entries, batch=BatchKey(f"ingest/gold/catalog/{digest}"))
        arrow = values.to_arrow().cast(VALUES_SCHEMA)  # polars exports string_view; the table stores string
        load.write("gold.series_values", arrow, batch=BatchKey(f"ingest/gold/values/{digest}"))
    return {"series": len(catalog), "values": values.height}


__all__ = ["FAMILIES", "Family", "build_series", "slug", "write_gold"]
