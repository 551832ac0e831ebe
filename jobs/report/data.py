"""What a report shows, read from the lakehouse: findings and their changes, KPIs, forecasts, anomalies, DQ."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow.compute as pc

from lakehouse import Lakehouse

FINDINGS, RUNS = "gold.correlation_findings", "gold.correlation_runs"
CHANGES = ("new", "strengthened", "weakened", "vanished")


@dataclass
class ReportData:
    run: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    kpis: list[dict[str, Any]] = field(default_factory=list)
    forecasts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    anomalies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dq: list[dict[str, Any]] = field(default_factory=list)
    catalog: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    anomaly_alerts: list[dict[str, Any]] = field(default_factory=list)
    data_end: date | None = None
    """Last day the data cover (gold.series_values / KPIs): the report is dated by it, not by the wall clock."""
    partial_kpis: list[dict[str, Any]] = field(default_factory=list)
    """KPI rows of the running (incomplete) week: shown as such, never as headlines."""

    @property
    def significant(self) -> list[dict[str, Any]]:
        """Significant discoveries in the run's ranking (cross-domain first, then strength, then novelty)."""
        rows = [f for f in self.findings if f.get("significant") and (f.get("relation") or "discovery") == "discovery"]
        return sorted(rows, key=lambda f: (f.get("rank") is None, f.get("rank") or 0, f.get("q") or 1.0))

    @property
    def construction(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f.get("relation") == "construction"]

    @property
    def changes(self) -> list[dict[str, Any]]:
        order = {c: i for i, c in enumerate(CHANGES)}
        rows = [f for f in self.findings if f.get("change") in CHANGES]
        return sorted(rows, key=lambda f: (order[f["change"]], f.get("q") or 1.0))


def _rows(lake: Lakehouse, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    return lake.read(name, **kwargs).to_pylist() if lake.exists(name) else []


def load_report_data(lake: Lakehouse, *, max_series: int = 3) -> ReportData:
    data = ReportData()
    for name in (
        FINDINGS,
        RUNS,
        "gold.series_values",
        "gold.marketing_kpis",
        "gold.forecasts",
        "gold.anomalies",
        "gold.dq_results",
    ):
        if lake.exists(name):
            data.versions[name] = int(lake.table(name).version())
    data.catalog = {r["series_id"]: r for r in _rows(lake, "gold.series_catalog")}
    runs = _rows(lake, RUNS)
    if runs:
        data.run = max(runs, key=lambda r: r["finished_at"])
        data.findings = _rows(lake, FINDINGS, filter=pc.field("run_id") == data.run["run_id"])
    kpis = [r for r in _rows(lake, "gold.marketing_kpis") if r["platform"] == "*" and r["country"] == "*"]
    weeks = [r for r in kpis if r["period"] == "week"]
    kpi_end = max((r["period_start"] + timedelta(days=int(r["days"] or 1) - 1) for r in weeks), default=None)
    ends = [d for d in (kpi_end, data_end(lake)) if d is not None]
    data.data_end = max(ends) if ends else None
    latest: dict[str, dict[str, Any]] = {}
    partial: dict[str, dict[str, Any]] = {}
    for r in weeks:
        complete = kpi_end is not None and r["period_start"] + timedelta(days=6) <= kpi_end
        target = latest if complete else partial
        if r["metric"] not in target or r["period_start"] > target[r["metric"]]["period_start"]:
            target[r["metric"]] = r
    data.kpis = sorted(latest.values(), key=lambda r: r["metric"])  # complete weeks only: no partial-week headline
    data.partial_kpis = sorted(partial.values(), key=lambda r: r["metric"])
    alerts = _rows(lake, "gold.anomaly_alerts")
    data.anomaly_alerts = sorted(alerts, key=lambda r: (r["target_ts"], r["alert_id"]), reverse=True)
    forecasts = _rows(lake, "gold.forecasts")
    by_series: dict[str, list[dict[str, Any]]] = {}
    for r in forecasts:
        by_series.setdefault(r["series_id"], []).append(r)
    for sid in sorted(by_series)[:max_series]:
        origin = max(r["origin"] for r in by_series[sid])
        data.forecasts[sid] = sorted((r for r in by_series[sid] if r["origin"] == origin), key=lambda r: r["ts"])
    anomalies: dict[str, list[dict[str, Any]]] = {}
    for r in _rows(lake, "gold.anomalies"):
        anomalies.setdefault(r["series_id"], []).append(r)
    for sid in sorted(anomalies, key=lambda s: -len(anomalies[s]))[:max_series]:
        data.anomalies[sid] = anomalies[sid]
    dq = _rows(lake, "gold.dq_results")
    if dq:
        last = max(r["checked_at"] for r in dq)
        runs_now = {r["run_id"] for r in dq if r["checked_at"] == last}
        data.dq = [r for r in dq if r["run_id"] in runs_now]
    return data


def data_end(lake: Lakehouse) -> date | None:
    """The latest period start in gold.series_values (None without data)."""
    if not lake.exists("gold.series_values"):
        return None
    col = lake.read("gold.series_values", columns=["ts"]).column("ts")
    value = pc.max(col).as_py() if len(col) else None
    return value


def series_history(lake: Lakehouse, series_ids: list[str], *, since: date | None = None) -> dict[str, list[Any]]:
    """``{series_id: [(ts, value), ...]}`` from gold.series_values."""
    if not series_ids or not lake.exists("gold.series_values"):
        return {}
    import pyarrow as pa

    table = lake.read("gold.series_values", columns=["series_id", "ts", "value"])
    mask = pc.is_in(table["series_id"], value_set=pa.array(series_ids, pa.string()))
    if since is not None:
        mask = pc.and_(mask, pc.greater_equal(table["ts"], pa.scalar(since, pa.date32())))
    table = table.filter(mask).sort_by("ts")
    out: dict[str, list[Any]] = {s: [] for s in series_ids}
    for sid, ts, v in zip(
        table["series_id"].to_pylist(), table["ts"].to_pylist(), table["value"].to_pylist(), strict=True
    ):
        out[sid].append((ts, v))
    return out


__all__ = ["CHANGES", "ReportData", "data_end", "load_report_data", "series_history"]
