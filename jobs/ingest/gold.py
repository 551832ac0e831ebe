"""Silver -> gold: every connector's series (``connectors/<name>/series.py``) into gold.series_values +
gold.series_catalog; daily families are zero-filled/rolled up to weekly here, once for all sources."""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl
import pyarrow as pa

from connectors.core.connector import Family, slug
from connectors.core.registry import CONNECTORS
from jobs.ingest.silver import declared_batch
from lakehouse import BatchKey, Lakehouse, SchemaMismatchError

MAX_ZERO_FILL_GAP_DAYS = 92  # a longer gap in a sum series is outside the recorded windows, not zero activity
VALUES_SCHEMA = pa.schema([("series_id", pa.string()), ("ts", pa.date32()), ("value", pa.float64())])


def _daily_and_weekly(family: Family, daily: pl.DataFrame) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Zero-fill sum series over their date span; derive weekly (Monday) series with the aggregation rule."""
    frames, catalog = [], []
    for (dim,), group in daily.partition_by("dim", as_dict=True, maintain_order=True).items():
        part = group.sort("date")
        if family.aggregation == "sum":
            # zero-fill within each covered stretch; a silence longer than MAX_ZERO_FILL_GAP_DAYS lies between
            # recorded windows (e.g. 2015 and the 2023-24 public window): left missing, never reported as zeros
            seg = (pl.col("date").diff().dt.total_days() > MAX_ZERO_FILL_GAP_DAYS).fill_null(False).cum_sum()
            bounds = part.group_by(seg.alias("seg")).agg(
                pl.col("date").min().alias("a"), pl.col("date").max().alias("b")
            )
            span = pl.concat(
                [pl.Series("date", pl.date_range(a, b, "1d", eager=True)) for a, b in bounds.select("a", "b").rows()]
            ).sort()
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


def build_series(lake: Lakehouse, *, sources: set[str] | None = None) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Every gold series (values + catalogue rows) derivable from the silver tables now."""
    frames, catalog = [], []
    for connector in CONNECTORS.values():
        if sources and connector.name not in sources:
            continue
        for family in connector.families:
            daily = family.build(lake)
            if daily.is_empty():
                continue
            daily = daily.with_columns(pl.col("value").cast(pl.Float64))
            values, entries = _daily_and_weekly(family, daily)
            frames.append(values)
            catalog += entries
        for builder in connector.builders:
            values, entries = builder(lake)
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


__all__ = ["VALUES_SCHEMA", "build_series", "write_gold"]
