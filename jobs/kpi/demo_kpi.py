"""Demo step: marketing KPIs into gold.marketing_kpis and the latest month's headline numbers."""

from __future__ import annotations

from typing import Any

from jobs.kpi import kpi_report, materialise
from lakehouse import Lakehouse


def run(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    summary = materialise(lake)
    lines = [f"gold.marketing_kpis: {summary['rows']:,} rows (metric x period x breakdown)"]
    for metric in ("revenue", "cac", "roas"):
        (row,) = kpi_report(lake, metric=metric, period="month", compare="year_ago", last=1)
        pct = "n/a" if row["change_pct"] is None else f"{row['change_pct']:+.1f}% vs a year ago"
        value = "n/a" if row["value"] is None else f"{row['value']:,.2f}"
        lines.append(f"{metric} {row['period_start']}: {value} {row['unit']} ({pct})")
    lines.append("try: covary kpi --metric cac --by platform,country --period quarter --compare year_ago")
    return {"lines": lines}
