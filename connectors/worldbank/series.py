"""World Bank gold series: one series per indicator and country, at the indicator's own frequency."""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from connectors.core.connector import Family, SeriesBuilder, read_frame, slug
from lakehouse import Lakehouse

FREQ_WORD = {"A": "annual", "Q": "quarterly", "M": "monthly"}
_UNIT = re.compile(r"\(([^()]+)\)\s*$")


def unit_of(name: str, unit: str | None) -> str:
    """The API's ``unit`` when set, else the unit WDI puts in the indicator name: '... (births per woman)'."""
    if unit:
        return unit
    m = _UNIT.search(name)
    return m[1] if m else "value"


def indicator_series(lake: Lakehouse) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """``worldbank.<indicator>.<country>.<annual|quarterly|monthly>``; years without an estimate are left out."""
    cols = ["indicator_id", "indicator_name", "country_iso3", "country_name", "frequency", "date", "value", "unit"]
    frame = read_frame(lake, "silver.worldbank_indicators", cols)
    if frame.is_empty():
        return pl.DataFrame(), []
    frames, catalog = [], []
    keys = frame.select("indicator_id", "country_iso3", "frequency").unique().sort("indicator_id", "country_iso3")
    for key in keys.iter_rows(named=True):
        part = frame.filter(
            (pl.col("indicator_id") == key["indicator_id"])
            & (pl.col("country_iso3") == key["country_iso3"])
            & (pl.col("frequency") == key["frequency"])
        )
        first = part.row(0, named=True)
        values = part.drop_nulls("value").sort("date")
        if values.is_empty():
            continue
        sid = f"worldbank.{slug(key['indicator_id'])}.{slug(key['country_iso3'])}.{FREQ_WORD[key['frequency']]}"
        frames.append(values.select(pl.lit(sid).alias("series_id"), pl.col("date").alias("ts"), "value"))
        catalog.append(
            {
                "series_id": sid,
                "description": f"{first['indicator_name']}: {first['country_name']} (World Bank {key['indicator_id']})",
                "unit": unit_of(first["indicator_name"], first["unit"]),
                "frequency": key["frequency"],
                "aggregation": "mean",
                "source": "worldbank",
                "lineage": "silver.worldbank_indicators",
                "domain": "development",
            }
        )
    return (pl.concat(frames) if frames else pl.DataFrame()), catalog


FAMILIES: tuple[Family, ...] = ()
BUILDERS: tuple[SeriesBuilder, ...] = (indicator_series,)

__all__ = ["BUILDERS", "FAMILIES", "indicator_series", "unit_of"]
