"""Gold marketing KPI tables: one row per metric, period and breakdown, with period-over-period changes."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

F64, STR = pa.float64(), pa.string()

MARKETING_KPIS = register(
    TableSpec(
        name="gold.marketing_kpis",
        description=(
            "Marketing KPIs (CAC, ROAS, revenue, conversion rate, AOV, CTR, CPC, CPM, spend) per week, month "
            "and quarter, overall and by platform and/or country, with the previous and year-ago period. "
            "Ratios with a zero denominator and periods without data are null, never 0 or infinity."
        ),
        columns=(
            col("metric", STR, "KPI id from jobs.kpi.definitions (cac, roas, revenue, ...).", nullable=False),
            col("period", STR, "week (ISO, Monday start), month or quarter.", nullable=False, synonyms=("grain",)),
            col("period_start", pa.date32(), "First day of the period.", nullable=False),
            col("platform", STR, "Ads platform, or * for all platforms.", nullable=False, synonyms=("channel",)),
            col("country", STR, "Country code, or * for all countries.", nullable=False, synonyms=("market",)),
            col("value", F64, "KPI value in the period (null: zero denominator or no data)."),
            col("numerator", F64, "Sum of the KPI's numerator column in the period."),
            col("denominator", F64, "Sum of the KPI's denominator column (null for plain sums)."),
            col("days", pa.int64(), "Days with data in the period.", nullable=False),
            col("previous_value", F64, "Value in the previous period."),
            col("previous_change", F64, "value - previous_value."),
            col("previous_change_pct", F64, "Percent change vs the previous period (null if previous is 0/null)."),
            col("year_ago_value", F64, "Value in the same period one year earlier."),
            col("year_ago_change", F64, "value - year_ago_value."),
            col("year_ago_change_pct", F64, "Percent change vs a year ago (null if year-ago is 0/null)."),
        ),
        keys=("metric", "period", "period_start", "platform", "country"),
        write_mode="merge",
        synonyms=("kpis", "marketing kpis", "cac", "roas", "aov", "conversion rate"),
    )
)
