"""The bundled offline dataset of the spine demo: US macroeconomic series (statsmodels ``macrodata``)."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")

MACRO_RAW = register(
    TableSpec(
        name="bronze.macro_raw",
        description="Raw quarterly US macro records as shipped by statsmodels (macrodata), one JSON per row.",
        columns=(
            col("record_key", pa.string(), "year-quarter of the record, e.g. 1959Q1.", nullable=False),
            col("payload", pa.string(), "The record exactly as received, JSON.", nullable=False),
            col("content_hash", pa.string(), "sha256 of the payload.", nullable=False),
            col("fetched_at", TS, "When the record was read.", nullable=False),
        ),
        keys=("record_key",),
    )
)

MACRO_OBS = register(
    TableSpec(
        name="silver.macro_observations",
        description="Typed quarterly US macroeconomic observations, one row per series and quarter.",
        columns=(
            col("series", pa.string(), "Series code (realgdp, cpi, unemp, ...).", nullable=False),
            col("ts", pa.date32(), "First day of the quarter.", nullable=False),
            col("value", pa.float64(), "Observed value in the series' unit."),
        ),
        keys=("series", "ts"),
        write_mode="merge",
        synonyms=("macro", "economy", "economic indicators"),
    )
)

SERIES_VALUES = register(
    TableSpec(
        name="gold.series_values",
        description=(
            "Aligned time series the correlation engine reads by default: one row per series and "
            "period, values at the series' catalogue frequency."
        ),
        columns=(
            col("series_id", pa.string(), "Series id from gold.series_catalog.", nullable=False),
            col("ts", pa.date32(), "Period start date.", nullable=False),
            col("value", pa.float64(), "Value of the series in that period."),
        ),
        keys=("series_id", "ts"),
        write_mode="merge",
        zorder_by=("series_id", "ts"),
        synonyms=("series", "time series", "metrics"),
    )
)

SERIES_CATALOG = register(
    TableSpec(
        name="gold.series_catalog",
        description="Catalogue of every gold series: id, meaning, unit, frequency, aggregation and lineage.",
        columns=(
            col("series_id", pa.string(), "Stable id, e.g. macro.realgdp.", nullable=False),
            col("description", pa.string(), "What the series measures.", nullable=False),
            col("unit", pa.string(), "Unit of the values."),
            col("frequency", pa.string(), "D, W, M or Q.", nullable=False),
            col("aggregation", pa.string(), "sum (counts, flows) or mean (levels) when resampled.", nullable=False),
            col("source", pa.string(), "Connector or job that produces it.", nullable=False),
            col("lineage", pa.string(), "Tables it is derived from."),
            col("domain", pa.string(), "Business/knowledge domain (economy, weather, code, ...)."),
            col(
                "derived_from",
                pa.list_(pa.string()),
                "Series ids this series is computed from (roll-up, sum, product); correlation discovery never "
                "pairs a series with them.",
            ),
        ),
        keys=("series_id",),
        write_mode="merge",
        synonyms=("catalog", "catalogue", "series list"),
    )
)
