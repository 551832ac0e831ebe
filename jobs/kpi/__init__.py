"""The KPI job: materialise marketing KPIs (all periods, breakdowns, comparisons) into gold.marketing_kpis."""

from __future__ import annotations

import hashlib
from typing import Any

from jobs.kpi.definitions import KPIS, KpiDef, get_kpi, sql_expression
from lakehouse import BatchKey, Lakehouse

_COMPUTE = ("compute_kpi", "gold_rows", "kpi_report", "read_marketing")


def __getattr__(name: str) -> Any:
    """``jobs.kpi.compute`` (polars) loads on first use: readers of the definitions (the query CLI) skip it."""
    if name in _COMPUTE:
        from jobs.kpi import compute

        return getattr(compute, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def materialise(lake: Lakehouse) -> dict[str, Any]:
    """Recompute gold.marketing_kpis from silver.synth_marketing; a replay of the same input is skipped."""
    from jobs.kpi.compute import gold_rows, read_marketing

    data = read_marketing(lake)
    rows = gold_rows(data)
    digest = hashlib.sha256(
        f"{lake.table('silver.synth_marketing').version()}:{data.height}:{data['spend'].sum()}".encode()
    ).hexdigest()[:12]
    with lake.load("kpi") as load:
        result = load.write("gold.marketing_kpis", rows, batch=BatchKey(f"kpi/marketing/{digest}"))
    return {"rows": len(rows), "written": result.rows, "skipped": result.skipped, "load_id": load.load_id}


def main(config: dict[str, Any]) -> dict[str, Any]:
    from jobs.kpi.config import KpiConfig

    config = KpiConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    from covary.settings import get_settings

    settings = get_settings()
    settings.ensure_home()
    return materialise(Lakehouse.from_settings(settings))


__all__ = ["KPIS", "KpiDef", "compute_kpi", "get_kpi", "kpi_report", "main", "materialise", "sql_expression"]
