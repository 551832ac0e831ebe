"""FRED gold series: each series at its own frequency (monthly, quarterly...), not a daily family."""

from __future__ import annotations

from typing import Any

import polars as pl

from connectors.core.connector import Family, SeriesBuilder, read_frame, slug
from lakehouse import Lakehouse

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
    obs = read_frame(lake, "silver.fred_observations", ["series_id", "date", "value"])
    meta = read_frame(lake, "silver.fred_series", ["series_id", "title", "frequency", "units"])
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


FAMILIES: tuple[Family, ...] = ()
BUILDERS: tuple[SeriesBuilder, ...] = (_fred,)

__all__ = ["BUILDERS", "FAMILIES", "FRED_FREQ", "FREQ_WORD"]
