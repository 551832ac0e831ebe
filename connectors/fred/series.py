"""FRED gold series: each series at its own frequency (monthly, quarterly...), not a daily family."""

from __future__ import annotations

from typing import Any

import polars as pl

from connectors.core.connector import Family, SeriesBuilder, read_frame, slug
from lakehouse import Lakehouse

FRED_FREQ = {"D": "D", "W": "W", "M": "M", "Q": "Q", "A": "A", "SA": "A"}
FREQ_WORD = {"D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "A": "annual"}


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
