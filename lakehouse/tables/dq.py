"""Gold data-quality results: one row per check of a table (or of one load into it) per DQ run."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")

DQ_RESULTS = register(
    TableSpec(
        name="gold.dq_results",
        description=(
            "Data-quality results: row counts, null rates, type violations, key uniqueness, freshness, value "
            "ranges, distribution drift (PSI/KS) against the previous Delta version and declared rules, per "
            "table and per load, with pass/warn/fail status. Failing rows are the DQ alerts."
        ),
        columns=(
            col("run_id", pa.string(), "DQ run that produced the row.", nullable=False),
            col("checked_at", TS, "When the check ran (UTC).", nullable=False),
            col("table_name", pa.string(), "Checked table (layer.name).", nullable=False),
            col("table_version", pa.int64(), "Delta version that was checked."),
            col("scope", pa.string(), "'table' or 'load:<load id>' for the rows of one load.", nullable=False),
            col(
                "check",
                pa.string(),
                "row_count | null_rate | type_violations | key_uniqueness | freshness | "
                "value_range | drift_psi | drift_ks | rule.",
                nullable=False,
            ),
            col("column_name", pa.string(), "Column checked, or null for table-level checks."),
            col("value", pa.float64(), "Measured value (rate, count, hours, PSI, KS statistic, ...)."),
            col("threshold", pa.float64(), "Threshold the value was compared with, if any."),
            col("status", pa.string(), "pass | warn | fail.", nullable=False),
            col("detail", pa.string(), "What was measured and how to fix a failure."),
        ),
        partition_by=("table_name",),
        synonyms=("data quality", "dq", "dq alerts", "quality checks"),
    )
)

__all__ = ["DQ_RESULTS"]
