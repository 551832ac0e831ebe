"""Silver table of the World Bank connector (``connectors/worldbank``)."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

WORLDBANK_INDICATORS = register(
    TableSpec(
        name="silver.worldbank_indicators",
        description=(
            "World Bank World Development Indicators, one row per indicator, country and period "
            "(a year without an estimate keeps its row with a null value)."
        ),
        columns=(
            col("indicator_id", pa.string(), "WDI indicator code, e.g. SP.DYN.TFRT.IN.", nullable=False),
            col("indicator_name", pa.string(), "Indicator name as the World Bank publishes it (unit in brackets)."),
            col(
                "country_iso3",
                pa.string(),
                "ISO 3166-1 alpha-3 code of the country (or the World Bank's code of an aggregate).",
                nullable=False,
            ),
            col("country_id", pa.string(), "The API's country id (ISO 3166-1 alpha-2 for countries)."),
            col("country_name", pa.string(), "Country or aggregate name."),
            col("period", pa.string(), "Period as the API sends it: 2013, 2013Q2 or 2013M07."),
            col("frequency", pa.string(), "A (annual), Q (quarterly) or M (monthly)."),
            col(
                "date",
                pa.date32(),
                "First day of the period. Cross-domain link key: joins any source by day.",
                nullable=False,
            ),
            col("value", pa.float64(), "The estimate; null where the World Bank has none for the period."),
            col("unit", pa.string(), "The API's unit field (mostly empty: WDI names carry the unit)."),
            col("obs_status", pa.string(), "Observation status flag, when set."),
            col("decimals", pa.int64(), "Decimals the World Bank shows the value with."),
            col("lineage", pa.string(), "Bronze source/endpoint/partition the row was derived from."),
        ),
        keys=("indicator_id", "country_iso3", "date"),
        write_mode="merge",
        synonyms=("world bank", "development indicators", "fertility"),
    )
)

SILVER_TABLES: tuple[str, ...] = (WORLDBANK_INDICATORS.name,)
