"""Shared helpers of the intent answers: the gold tables they read, number formatting, guarded reads."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

from serve.query import drivers
from serve.query.errors import CannotAnswerError
from serve.query.plan import PeriodSpec, QueryPlan, find_measure, nearest
from serve.query.semantic import SERIES_CATALOG, SERIES_VALUES, Measure, SemanticLayer

if TYPE_CHECKING:
    from serve.query.service import QueryService

FINDINGS, RUNS = "gold.correlation_findings", "gold.correlation_runs"
FORECASTS, ANOMALIES, ALERTS = "gold.forecasts", "gold.anomalies", "gold.anomaly_alerts"
PRODUCER = {
    FINDINGS: "covary job run correlate",
    RUNS: "covary job run correlate",
    FORECASTS: "covary job run forecast",
    ANOMALIES: "covary job run anomaly",
    ALERTS: "covary job run anomaly",
    SERIES_VALUES: "covary demo (or `covary source run ...`)",
    SERIES_CATALOG: "covary demo (or `covary source run ...`)",
}
CAUSATION = (
    "Correlation is not causation: these figures show that the series move together and which one tends to "
    "move first, not that one drives the other; a third factor may drive both."
)
DRIVER_CAVEAT = (
    "The decomposition is arithmetic: it shows where the change happened (which segments, and for ratios "
    "whether their rates or their weights moved), not why."
)
MAX_LAG = {"D": 28, "W": 8, "M": 12, "Q": 8}


# ------------------------------------------------------------------------------------------ helpers
def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a sentence: 3 significant digits, thousands separators for large values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    v = float(value)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v == int(v) and abs(v) < 1000:
        return str(int(v))
    return f"{v:.{digits}g}"


def signed(value: float) -> str:
    return ("+" if value > 0 else "") + fmt(value)


def _need(service: QueryService, *tables: str) -> None:
    service.snapshots.engine()
    present = set(service.snapshots.present_tables)
    for t in tables:
        if t not in present:
            raise CannotAnswerError(
                f"{t} has no data yet, so this question cannot be answered",
                hint=f"run `{PRODUCER[t]}` to produce it" if t in PRODUCER else "run the job that writes it",
            )


def _rows(service: QueryService, sql: str, max_rows: int = 100_000) -> list[dict[str, Any]]:
    res = service._internal(sql, max_rows=max_rows)
    return [dict(zip(res.columns, r, strict=True)) for r in res.rows]


def _iso(v: Any) -> str:
    return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)[:10]


def _window(p: PeriodSpec, info_min: str | None, info_max: str | None) -> drivers.Window:
    start = (
        date.fromisoformat(str(p.start)[:10]) if p.start else (date.fromisoformat(info_min[:10]) if info_min else None)
    )
    if p.end:
        end = date.fromisoformat(str(p.end)[:10])
    elif info_max:
        end = date.fromordinal(date.fromisoformat(info_max[:10]).toordinal() + 1)
    else:
        end = None
    if start is None or end is None or end <= start:
        raise CannotAnswerError(f"the period {p.label or p}' is open or empty", hint="name a closed period")
    return drivers.Window(start, end, p.label or drivers.window_label(start, end))


def _measure(plan: QueryPlan, layer: SemanticLayer) -> Measure:
    if not plan.measure:
        raise CannotAnswerError(
            f"which measure? a {plan.intent!r} question needs one",
            hint="name what to analyse, e.g. conversion rate, revenue, tickets",
            understood={"understood": plan.understood_list()},
        )
    m = find_measure(layer, plan.table, plan.measure)
    if m is None:
        raise CannotAnswerError(f"no measure {plan.measure!r}", hint="GET /v1/kpi lists KPIs and series")
    return m


def _catalog(service: QueryService) -> list[dict[str, Any]]:
    _need(service, SERIES_CATALOG)
    return _rows(service, f"SELECT * FROM {SERIES_CATALOG} ORDER BY series_id")


def series_for(measure: Measure, catalog: list[dict[str, Any]]) -> str | None:
    """The gold series that tracks ``measure``: itself, or the catalogued daily total of its column."""
    ids = {str(r["series_id"]) for r in catalog}
    if measure.kind == "series" or measure.name in ids:
        return measure.name if measure.name in ids else None
    column = measure.name
    if measure.kind == "kpi":
        try:
            from jobs.kpi.definitions import KPIS

            k = KPIS.get(measure.name)
        except ImportError:  # pragma: no cover
            k = None
        if k is None or k.denominator is not None:
            return None  # a ratio KPI has no series of its own
        column = k.numerator
    hits = [
        str(r["series_id"])
        for r in catalog
        if r.get("lineage") == measure.table and str(r["series_id"]).rsplit(".", 1)[-1] == column
    ]
    return hits[0] if len(hits) == 1 else None


def _series_or_refuse(service: QueryService, name: str, layer: SemanticLayer, table: str | None, what: str) -> str:
    catalog = _catalog(service)
    m = find_measure(layer, table, name) or find_measure(layer, None, name)
    sid = series_for(m, catalog) if m else (name if name in {r["series_id"] for r in catalog} else None)
    if sid is None:
        ids = [str(r["series_id"]) for r in catalog]
        raise CannotAnswerError(
            f"{name} is not tracked as a series, so there is no {what} of it",
            hint="series with data: " + ", ".join(nearest(name, ids, 8)),
        )
    return sid


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
