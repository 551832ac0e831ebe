"""Synthetic enterprise source systems: raw exports (bronze), typed system tables (silver), ground truth."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")
F64, I64, STR, DATE = pa.float64(), pa.int64(), pa.string(), pa.date32()

SYNTH_RECORDS = register(
    TableSpec(
        name="bronze.synth_records",
        description="Raw daily exports of the synthetic enterprise systems (CRM, ads, finance, HR, support, plants).",
        columns=(
            col(
                "system",
                STR,
                "Source system: marketing, crm, finance, budget, hr, support, operations, drivers.",
                nullable=False,
            ),
            col("entity", STR, "Export entity within the system, e.g. ad_performance.", nullable=False),
            col("record_key", STR, "Natural key of the record inside its system (date/dimensions).", nullable=False),
            col("payload", STR, "The record exactly as exported, JSON.", nullable=False),
            col("content_hash", STR, "sha256 of the payload.", nullable=False),
            col("generated_at", TS, "When the generator produced the export.", nullable=False),
        ),
        keys=("system", "record_key"),
        partition_by=("system",),
        write_mode="overwrite_partitions",
    )
)


def silver(
    name: str,
    description: str,
    keys: tuple[str, ...],
    *cols: object,
    synonyms: tuple[str, ...] = (),
    append: bool = False,
) -> None:
    """Register a silver table of the synthetic systems (merge on its keys, or append-only)."""
    register(
        TableSpec(
            name=name,
            description=description,
            columns=tuple(cols),  # type: ignore[arg-type]
            keys=keys,
            write_mode="append" if append else "merge",
            synonyms=synonyms,
        )
    )


# columns the daily ads table shares with the campaign records (lakehouse/tables/synth_records.py)
PLATFORM = col(
    "platform", STR, "Ads platform: google_ads, meta_ads, tiktok_ads.", nullable=False, synonyms=("channel",)
)
CAMPAIGN = col("campaign", STR, "Campaign name (platform-type-country).", nullable=False)
COUNTRY = col("country", STR, "ISO country code of the audience.", nullable=False, synonyms=("market", "geo"))
DEVICE = col("device", STR, "mobile or desktop.", nullable=False)
BUSINESS_UNIT = col("business_unit", STR, "online (ads-driven) or enterprise (CRM deals).", nullable=False)

silver(
    "silver.synth_marketing",
    "Daily ad performance by platform, campaign, country and device (synthetic ads platforms).",
    ("date", "campaign", "country", "device"),
    col("date", DATE, "Day of the activity.", nullable=False),
    PLATFORM,
    CAMPAIGN,
    COUNTRY,
    DEVICE,
    col("spend", F64, "Ad spend in USD.", synonyms=("cost", "ad spend", "budget spent")),
    col("impressions", I64, "Times an ad was shown."),
    col("clicks", I64, "Clicks on ads."),
    col("conversions", I64, "New paying customers attributed to the ads.", synonyms=("customers", "sales", "orders")),
    col("revenue", F64, "Revenue in USD from those conversions.", synonyms=("sales value", "conversion value")),
    synonyms=("ads", "marketing", "campaigns", "ad performance"),
)
silver(
    "silver.synth_crm",
    "Daily CRM pipeline per country: new leads, deals won and their value.",
    ("date", "country"),
    col("date", DATE, "Day.", nullable=False),
    col("country", STR, "Sales region (ISO country).", nullable=False),
    col("leads", I64, "New leads created.", synonyms=("prospects",)),
    col("deals_won", I64, "Deals closed-won.", synonyms=("wins", "closed deals")),
    col("deal_value", F64, "Total value of the won deals, USD.", synonyms=("bookings",)),
    synonyms=("crm", "sales pipeline", "leads", "deals"),
)
silver(
    "silver.synth_support",
    "Daily support desk statistics per channel: tickets, satisfaction and first-response time.",
    ("date", "channel"),
    col("date", DATE, "Day.", nullable=False),
    col("channel", STR, "email, chat or phone.", nullable=False),
    col("tickets", I64, "Tickets opened.", synonyms=("cases", "requests")),
    col("csat", F64, "Mean customer satisfaction score, 1-5.", synonyms=("satisfaction",)),
    col("response_time_h", F64, "Mean first-response time in hours.", synonyms=("response time", "sla")),
    synonyms=("support", "helpdesk", "tickets"),
)
silver(
    "silver.synth_operations",
    "Daily plant operations: output, defects, equipment failures, uptime and energy use.",
    ("date", "plant"),
    col("date", DATE, "Day.", nullable=False),
    col("plant", STR, "Plant name.", nullable=False, synonyms=("factory", "site")),
    col("output_units", I64, "Units produced.", synonyms=("production", "output")),
    col("defects", I64, "Defective units found by QA.", synonyms=("scrap", "quality issues")),
    col("equipment_failures", I64, "Equipment failure events.", synonyms=("breakdowns", "failures")),
    col("uptime_pct", F64, "Equipment uptime in percent of scheduled time.", synonyms=("availability",)),
    col("energy_kwh", F64, "Electricity and heating energy used, kWh.", synonyms=("energy", "power")),
    synonyms=("operations", "plants", "manufacturing", "equipment"),
)
silver(
    "silver.synth_hr",
    "Daily HR figures per department: headcount, hires, attrition, absences and hours logged on timesheets.",
    ("date", "department"),
    col("date", DATE, "Day.", nullable=False),
    col("department", STR, "Department.", nullable=False),
    col("headcount", I64, "Employees at end of day.", synonyms=("employees", "staff"), stock=True),
    col("hires", I64, "New hires starting that day."),
    col("attrition", I64, "Employees leaving that day.", synonyms=("leavers", "churn")),
    col("absences", I64, "Employees absent (sick or leave).", synonyms=("sick days",)),
    col("hours_logged", F64, "Hours logged on timesheets.", synonyms=("timesheets", "hours worked")),
    synonyms=("hr", "people", "workforce"),
)
silver(
    "silver.synth_finance",
    "Daily general-ledger revenue and expenses per business unit (silver.synth_ledger_entries summed by "
    "posting date, to the cent).",
    ("date", "business_unit"),
    col("date", DATE, "Day (posting date).", nullable=False),
    BUSINESS_UNIT,
    col("revenue", F64, "Booked revenue, USD.", synonyms=("sales", "income")),
    col("expenses", F64, "Booked expenses, USD.", synonyms=("costs", "spend")),
    synonyms=("finance", "ledger", "p&l"),
)
silver(
    "silver.synth_budget",
    "Monthly budget versus actual spend per department (silver.synth_budget_lines and the expense entries of "
    "silver.synth_ledger_entries summed per cost centre).",
    ("month", "department"),
    col("month", DATE, "First day of the month.", nullable=False),
    col("department", STR, "Department.", nullable=False),
    col("budget", F64, "Planned spend, USD."),
    col("actual", F64, "Actual spend, USD."),
    col("variance", F64, "actual - budget, USD (positive = overspend)."),
    synonyms=("budget", "budget vs actual", "plan"),
)
silver(
    "silver.synth_drivers",
    "External daily drivers: outside temperature at the main site and a market-demand index.",
    ("date",),
    col("date", DATE, "Day.", nullable=False),
    col("temp_c", F64, "Mean outside temperature, degrees C.", synonyms=("weather", "temperature")),
    col("demand_index", F64, "Market demand index (100 = baseline).", synonyms=("demand", "market")),
    synonyms=("weather", "demand", "drivers"),
)

SYNTH_TRUTH = register(
    TableSpec(
        name="gold.synth_truth",
        description=(
            "Ground truth planted by the synthetic generator: lead-lag relationships (lag, strength), "
            "confounded pairs and their common cause, anomalies, level shifts and cascades, and the record-level "
            "truths (segment_drop, release_effect, lagged_effect, budget_overrun)."
        ),
        columns=(
            col("truth_id", STR, "Stable id: kind:series_a:series_b:date.", nullable=False),
            col("dataset", STR, "Generator that planted it (synth).", nullable=False),
            col(
                "kind",
                STR,
                "lead_lag, driver, confounded, anomaly, level_shift, cascade, entity, or a record-level truth: "
                "segment_drop, release_effect, lagged_effect, budget_overrun.",
                nullable=False,
            ),
            col(
                "series_a",
                STR,
                "Driver / first series (gold.series_catalog id); for kind=entity the record.",
                nullable=False,
            ),
            col("series_b", STR, "Follower / second series, if any; for kind=entity the true entity id."),
            col("confounder", STR, "Common cause of a confounded pair."),
            col("lag_days", I64, "Planted lag in days (b follows a)."),
            col("strength", F64, "Realised Pearson correlation at the planted lag."),
            col("coefficient", F64, "Planted effect per unit of the driver."),
            col("ts", DATE, "Day of an anomaly, level shift or cascade start."),
            col("magnitude", F64, "Size of the planted anomaly/shift in the series' unit."),
            col("seed", I64, "Generator seed.", nullable=False),
            col("description", STR, "What was planted, in words.", nullable=False),
        ),
        keys=("truth_id",),
        partition_by=("dataset",),
        write_mode="overwrite_partitions",
        synonyms=("ground truth", "planted", "truth"),
    )
)
