"""Notion gold series: pages dated per day and daily means of number properties."""

from __future__ import annotations

import polars as pl

from connectors.core.connector import Family, SeriesBuilder, count_by, read_frame
from lakehouse import Lakehouse


def _notion_numbers(lake: Lakehouse) -> pl.DataFrame:
    frame = read_frame(lake, "silver.notion_page_numbers", ["property", "date", "value"])
    if frame.is_empty():
        return frame
    return frame.group_by(pl.col("property").alias("dim"), "date").agg(pl.col("value").mean().alias("value"))


FAMILIES: tuple[Family, ...] = (
    Family(
        "notion.pages",
        "Notion pages dated each day ({dim})",
        "pages",
        "sum",
        "notion",
        "silver.notion_pages",
        "work",
        count_by("silver.notion_pages", "*"),
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
BUILDERS: tuple[SeriesBuilder, ...] = ()

__all__ = ["BUILDERS", "FAMILIES"]
