"""Questions that are not a sum: why did X change, how does X relate to Y, forecast X, anomalies in X, what to
monitor. ``run_intent(plan, service)`` answers a validated :class:`~serve.query.plan.QueryPlan` with one typed
payload per intent (pydantic models below, exported for the OpenAPI schema and ``covary query --json``).

Every statement here is SQL written by this module over the locked, read-only engine (values quoted,
names checked against the semantic layer); statistics come from ``jobs.correlate`` (never re-implemented).
A table that is missing or empty is a :class:`CannotAnswerError` (422) naming the job that produces it.
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field

from serve.query import drivers
from serve.query.errors import CannotAnswerError
from serve.query.plan import PeriodSpec, QueryPlan, filter_sql, find_measure, nearest, q, validate
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


# ------------------------------------------------------------------------------------------ models
class PeriodOut(BaseModel):
    start: str = Field(..., description="First day (ISO).")
    end: str = Field(..., description="Day after the last (ISO, exclusive).")
    label: str


class Contribution(BaseModel):
    """One segment's part of the change; for ratios ``contribution = mix + rate``."""

    segment: dict[str, Any] = Field(..., description="Dimension -> value of the segment.")
    before: float | None = Field(None, description="Segment value in the baseline (its own rate for ratios).")
    after: float | None = Field(None, description="Segment value in the period of interest.")
    weight_before: float | None = Field(None, description="Ratios: the segment's share of the denominator before.")
    weight_after: float | None = Field(None, description="Ratios: its share of the denominator after.")
    contribution: float = Field(..., description="Its part of the total change (segments of a breakdown sum to it).")
    mix: float | None = Field(None, description="Ratios: part due to the segment's weight moving.")
    rate: float | None = Field(None, description="Ratios: part due to the segment's own rate moving.")
    share_of_change: float | None = Field(None, description="contribution / total change.")


class Breakdown(BaseModel):
    dimensions: list[str]
    segments: list[Contribution] = Field(..., description="Largest |contribution| first (at most 10).")
    segment_count: int
    other: float = Field(..., description="Sum of the contributions of the segments not listed.")
    explained: float = Field(..., description="Sum of all segments' contributions (= the change).")
    residual: float = Field(..., description="change - explained (float rounding only).")
    concentration: float = Field(..., description="|largest contribution| / sum of |contributions|.")


class DriverAnswer(BaseModel):
    """``why did X change``: the change decomposed over every dimension (and pairs of them)."""

    intent: Literal["why"] = "why"
    measure: str
    table: str
    description: str
    unit: str | None = None
    form: Literal["additive", "ratio", "level"]
    period: PeriodOut
    baseline: PeriodOut
    before: float
    after: float
    change: float
    change_pct: float | None
    filters: list[str] = Field(default_factory=list, description="Row filters applied (SQL).")
    top: list[Contribution] = Field(..., description="The main contributors in the direction of the change.")
    breakdowns: list[Breakdown]
    answer: str
    caveat: str = DRIVER_CAVEAT
    sql: str
    notes: list[str] = Field(default_factory=list)


class FindingOut(BaseModel):
    finding_id: str
    run_id: str
    a: str
    b: str
    lag: int = Field(..., description="Best lag in steps; positive means a leads b.")
    r: float | None = None
    r_raw: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    n_eff: float | None = None
    p: float | None = None
    q: float | None = None
    significant: bool = False
    change: str | None = None
    precedence: str | None = None
    warnings: list[str] = Field(default_factory=list)
    third_series: str | None = None
    partial_r_third: float | None = None
    granger_p_ab: float | None = None
    granger_p_ba: float | None = None
    caveat: str | None = None


class LagCorrelation(BaseModel):
    lag: int = Field(..., description="Steps; positive means x leads y.")
    r: float | None
    n: int


class CrossCorrelation(BaseModel):
    """The lagged cross-correlation of two series, computed now by jobs.correlate on the adjusted series."""

    x: str
    y: str
    freq: str | None
    adjustments: list[str]
    lags: list[LagCorrelation]
    best_lag: int
    r: float | None
    r_raw: float | None
    n: int
    n_eff: float | None
    p: float | None = Field(None, description="Single-pair p under the autocorrelation-respecting null.")
    null: str | None = None
    warnings: list[str] = Field(default_factory=list)
    precedence: str | None = None


class RelationAnswer(BaseModel):
    """``how does X affect Y / does X lead Y / what moves with X``."""

    intent: Literal["relation"] = "relation"
    x: str
    y: str | None = None
    run_id: str | None = None
    findings: list[FindingOut]
    cross_correlation: CrossCorrelation | None = None
    answer: str
    caveat: str = CAUSATION
    notes: list[str] = Field(default_factory=list)


class ForecastPoint(BaseModel):
    ts: str
    step: int
    mean: float | None
    lo80: float | None
    hi80: float | None
    lo95: float | None
    hi95: float | None


class ForecastAnswer(BaseModel):
    intent: Literal["forecast"] = "forecast"
    series_id: str
    description: str | None = None
    unit: str | None = None
    model: str
    origin: str
    points: list[ForecastPoint]
    period: PeriodOut | None = None
    period_total: float | None = Field(
        None, description="Sum of the point forecasts over the period (sum-aggregated series only; no interval)."
    )
    answer: str
    notes: list[str] = Field(default_factory=list)


class AnomalyOut(BaseModel):
    series_id: str
    ts: str
    kind: str
    direction: str
    value: float | None
    expected: float | None
    score: float | None


class AlertOut(BaseModel):
    alert_id: str
    source_series: str
    source_ts: str
    target_series: str
    target_ts: str
    lag_days: int
    expected_lag_days: int | None = None
    correlation: float | None = None
    message: str


class AnomalyAnswer(BaseModel):
    intent: Literal["anomaly"] = "anomaly"
    series: list[str]
    period: PeriodOut | None = None
    count: int
    anomalies: list[AnomalyOut] = Field(..., description="Strongest first (|score|), at most 50.")
    alerts: list[AlertOut]
    answer: str
    notes: list[str] = Field(default_factory=list)


class KpiStatus(BaseModel):
    name: str
    table: str
    description: str
    unit: str | None = None
    kind: str
    period: PeriodOut | None = None
    current: float | None = None
    previous: float | None = None
    change_pct: float | None = None
    higher_is_better: bool | None = None


class MonitorAnswer(BaseModel):
    intent: Literal["monitor"] = "monitor"
    subject: str | None = None
    kpis: list[KpiStatus]
    answer: str
    notes: list[str] = Field(default_factory=list)


IntentAnswer = Annotated[
    DriverAnswer | RelationAnswer | ForecastAnswer | AnomalyAnswer | MonitorAnswer, Field(discriminator="intent")
]
ANSWER_MODELS: dict[str, type[BaseModel]] = {
    "why": DriverAnswer,
    "relation": RelationAnswer,
    "forecast": ForecastAnswer,
    "anomaly": AnomalyAnswer,
    "monitor": MonitorAnswer,
}


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


# ------------------------------------------------------------------------------------------ why
def explain_change(
    service: QueryService,
    measure: Measure,
    *,
    period: drivers.Window,
    baseline: drivers.Window,
    where: list[str] | None = None,
    dimensions: list[str] | None = None,
    exclude: set[str] | None = None,
    notes: list[str] | None = None,
) -> DriverAnswer:
    """Decompose the change of ``measure`` from ``baseline`` to ``period`` over the table's dimensions."""
    layer = service.layer()
    info = layer.tables[measure.table]
    tcol = measure.time_column or info.time_column
    if not tcol:
        raise CannotAnswerError(f"{measure.table} has no time column, so there is no change over time to explain")
    form = drivers.measure_form(measure)
    conditions = ([measure.where] if measure.where else []) + list(where or [])
    dims_all = layer.dims_of(measure.table)
    if dimensions:
        dims = [d for d in dims_all if d.column in dimensions]
    else:
        dims = [
            d for d in dims_all if len(d.values) > 1 and d.column != "series_id" and d.column not in (exclude or set())
        ][: drivers.MAX_DIMS]
    names = [d.column for d in dims]
    sets = drivers.grouping_sets(names, {d.column: len(d.values) for d in dims})
    sql = drivers.driver_sql(measure.table, form, names, sets, conditions, tcol, baseline, period)
    rows = _rows(service, sql)
    result = drivers.analyse(rows, names, sets, form)
    before, after, change = result["before"], result["after"], result["change"]
    breakdowns = []
    for b in result["breakdowns"]:
        segs = b["segments"]
        shown = segs[: drivers.TOP]
        breakdowns.append(
            Breakdown(
                dimensions=b["dimensions"],
                segments=[Contribution(**s) for s in shown],
                segment_count=len(segs),
                other=math.fsum(s["contribution"] for s in segs[drivers.TOP :]),
                explained=b["explained"],
                residual=b["residual"],
                concentration=b["concentration"],
            )
        )
    top = [Contribution(**t) for t in drivers.headline(result["breakdowns"], change)]
    pct = change / abs(before) * 100 if before else None
    notes = list(notes or [])
    if not names:
        notes.append(f"{measure.table} has no dimension to break the change down by")
    text = _driver_sentence(measure, form.kind, period, baseline, before, after, change, pct, top)
    return DriverAnswer(
        measure=measure.name,
        table=measure.table,
        description=measure.description,
        unit=measure.unit,
        form=form.kind,
        period=PeriodOut(**period.as_dict()),
        baseline=PeriodOut(**baseline.as_dict()),
        before=before,
        after=after,
        change=change,
        change_pct=pct,
        filters=list(where or []),
        top=top,
        breakdowns=breakdowns,
        answer=text,
        sql=sql,
        notes=notes,
    )


def _segment(seg: dict[str, Any]) -> str:
    return " × ".join(f"{k} = {v}" for k, v in seg.items())


def _driver_sentence(
    measure: Measure,
    kind: str,
    period: drivers.Window,
    baseline: drivers.Window,
    before: float,
    after: float,
    change: float,
    pct: float | None,
    top: list[Contribution],
) -> str:
    name = measure.name.rsplit(".", 1)[-1].replace("_", " ")
    verb = "rose" if change > 0 else "fell" if change < 0 else "did not change"
    pct_text = f", {pct:+.1f}%" if pct is not None else ""
    head = (
        f"{name[0].upper()}{name[1:]} {verb} from {fmt(before)} in {baseline.label} to {fmt(after)} in "
        f"{period.label} ({signed(change)}{pct_text})."
    )
    if change == 0 or not top:
        return head
    parts = []
    for t in top[:3]:
        share = f", {t.share_of_change:.0%} of the change" if t.share_of_change is not None else ""
        detail = ""
        if kind == "ratio" and t.rate is not None and t.mix is not None:
            detail = f"; rate effect {signed(t.rate)}, mix effect {signed(t.mix)}"
            if t.before is not None and t.after is not None:
                detail += f" (its own {name} {fmt(t.before)} -> {fmt(t.after)}"
                if abs(t.mix) > abs(t.rate) and t.weight_before is not None and t.weight_after is not None:
                    detail += f"; its weight {t.weight_before:.0%} -> {t.weight_after:.0%}"
                detail += ")"
        elif t.before is not None and t.after is not None:
            detail = f" ({fmt(t.before)} -> {fmt(t.after)})"
        parts.append(f"{_segment(t.segment)} {signed(t.contribution)}{share}{detail}")
    return (
        head
        + " Largest contributor: "
        + parts[0]
        + "."
        + (" Next: " + "; ".join(parts[1:]) + "." if len(parts) > 1 else "")
    )


def _why(plan: QueryPlan, service: QueryService) -> DriverAnswer:
    layer = service.layer()
    measure = _measure(plan, layer)
    info = layer.tables[measure.table]
    notes: list[str] = []
    if len(plan.periods) >= 2:
        baseline = _window(plan.periods[0], info.min_time, info.max_time)
        period = _window(plan.periods[1], info.min_time, info.max_time)
    elif len(plan.periods) == 1:
        period = _window(plan.periods[0], info.min_time, info.max_time)
        baseline = drivers.previous_window(period)
        notes.append(f"compared with the previous comparable period, {baseline.label}")
    else:
        if not info.max_time:
            raise CannotAnswerError(f"{measure.table} has no dated rows", hint="name the periods to compare")
        period = drivers.latest_complete_month(date.fromisoformat(info.max_time[:10]))
        baseline = drivers.previous_window(period)
        notes.append(
            f"no period named: compared the latest complete month in the data ({period.label}) with {baseline.label}"
        )
    where = [filter_sql(f) for f in plan.filters]
    pinned = {f.column for f in plan.filters if f.op in ("=", "in") and len(f.values) == 1}
    return explain_change(
        service,
        measure,
        period=period,
        baseline=baseline,
        where=where,
        dimensions=plan.dimensions or None,
        exclude=pinned,
        notes=notes,
    )


# ------------------------------------------------------------------------------------- relation
def _series_frame(service: QueryService, ids: list[str]) -> Any:
    import pandas as pd

    rows = _rows(
        service, f"SELECT series_id, ts, value FROM {SERIES_VALUES} WHERE series_id IN ({', '.join(q(i) for i in ids)})"
    )
    return pd.DataFrame(rows, columns=["series_id", "ts", "value"])


def cross_correlation(frame: Any, x: str, y: str, meta: dict[str, dict[str, Any]]) -> CrossCorrelation:
    """Lagged cross-correlation of ``x`` and ``y`` with jobs.correlate: the adjusted r at every lag, and the
    best-lag test (p under the shift null, n_eff, warnings, Granger precedence) for this one pair."""
    import numpy as np

    from jobs.correlate import discover
    from jobs.correlate.align import to_panel
    from jobs.correlate.discover import prepare
    from jobs.correlate.kernel import lagged_correlations
    from jobs.correlate.lake_io import FREQ_ORDER
    from jobs.correlate.options import DiscoveryOptions

    freqs = [str(meta[s].get("frequency")) for s in (x, y) if meta.get(s, {}).get("frequency") in FREQ_ORDER]
    freq = max(freqs, key=FREQ_ORDER.__getitem__) if freqs else None
    aggregation = {s: str(meta.get(s, {}).get("aggregation") or "mean") for s in (x, y)}
    n_obs = int(frame.groupby("series_id").size().min()) if len(frame) else 0
    max_lag = max(1, min(MAX_LAG.get(freq or "", 7), max(1, (n_obs - 30) // 2)))
    options = DiscoveryOptions(
        max_lag=max_lag, seed=0, execution="local", refine_draws=0, min_overlap=min(30, max(8, n_obs // 2))
    )
    try:
        result = discover(
            frame,
            time_col="ts",
            series_col="series_id",
            value_col="value",
            freq=freq,
            aggregation=aggregation,
            options=options,
            include_all=True,
        )
        panel = to_panel(
            frame, time_col="ts", series_col="series_id", value_col="value", freq=freq, aggregation=aggregation
        )
        prep, _ = prepare(panel, options)
    except Exception as exc:  # NotEnoughDataError, InputShapeError ... from jobs.correlate
        from covary.errors import CovaryError

        if not isinstance(exc, CovaryError):
            raise
        raise CannotAnswerError(f"cannot correlate {x} and {y}: {exc}", hint=getattr(exc, "hint", None)) from exc
    ix, iy = panel.names.index(x), panel.names.index(y)
    r, n = lagged_correlations(
        prep.x[:, [ix]], prep.x[:, [iy]], prep.lags, dtype=np.float64, min_overlap=options.min_overlap
    )
    lags = [
        LagCorrelation(lag=int(lag), r=None if np.isnan(r[i, 0, 0]) else float(r[i, 0, 0]), n=int(n[i, 0, 0]))
        for i, lag in enumerate(prep.lags)
    ]
    f = result.findings[0]
    flip = f.a != x  # findings are ordered (a, b): turn the lag so that positive means x leads y
    return CrossCorrelation(
        x=x,
        y=y,
        freq=result.freq,
        adjustments=list(result.adjust_steps),
        lags=lags,
        best_lag=-f.lag if flip else f.lag,
        r=_num(f.r),
        r_raw=_num(f.r_raw),
        n=int(f.n),
        n_eff=_num(f.n_eff),
        p=_num(f.p),
        null=result.null_label,
        warnings=list(f.warnings or []),
        precedence=f.precedence,
    )


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _relation(plan: QueryPlan, service: QueryService) -> RelationAnswer:
    layer = service.layer()
    if not plan.measure:
        raise CannotAnswerError("which series? a relation question needs at least one", hint="GET /v1/series")
    x = _series_or_refuse(service, plan.measure, layer, plan.table, "correlation")
    y = _series_or_refuse(service, plan.other_measures[0], layer, None, "correlation") if plan.other_measures else None
    if y == x:
        raise CannotAnswerError(f"{x} is the same series twice", hint="name two different series")
    notes: list[str] = []
    findings: list[FindingOut] = []
    run_id = None
    present = set(service.snapshots.present_tables)
    if FINDINGS in present:
        latest = ""
        if RUNS in present:
            latest = f" AND run_id = (SELECT run_id FROM {RUNS} ORDER BY finished_at DESC LIMIT 1)"
        if y:
            cond = f"((a = {q(x)} AND b = {q(y)}) OR (a = {q(y)} AND b = {q(x)}))"
        else:
            cond = f"(a = {q(x)} OR b = {q(x)}) AND significant"
        rows = _rows(
            service, f"SELECT * FROM {FINDINGS} WHERE {cond}{latest} ORDER BY q NULLS LAST, ABS(r) DESC LIMIT 10"
        )
        findings = [_finding(r) for r in rows]
        if findings:
            run_id = findings[0].run_id
    else:
        notes.append(f"{FINDINGS} has no data yet: run `{PRODUCER[FINDINGS]}` for tested findings")
    cc = None
    if y:
        catalog = {str(r["series_id"]): r for r in _catalog(service)}
        _need(service, SERIES_VALUES)
        cc = cross_correlation(_series_frame(service, [x, y]), x, y, catalog)
    if not findings and cc is None and FINDINGS not in present:
        raise CannotAnswerError(
            f"no correlation findings yet, so nothing is known to move with {x}",
            hint=f"run `{PRODUCER[FINDINGS]}`, or name a second series to correlate with",
        )
    text = _relation_sentence(x, y, findings, cc)
    return RelationAnswer(x=x, y=y, run_id=run_id, findings=findings, cross_correlation=cc, answer=text, notes=notes)


def _finding(r: dict[str, Any]) -> FindingOut:
    data = {k: r.get(k) for k in FindingOut.model_fields}
    data["warnings"] = [str(w) for w in (r.get("warnings") or []) if w]
    data["lag"] = int(r.get("lag") or 0)
    data["significant"] = bool(r.get("significant"))
    for k in ("r", "r_raw", "ci_low", "ci_high", "n_eff", "p", "q", "partial_r_third", "granger_p_ab", "granger_p_ba"):
        data[k] = _num(data.get(k))
    return FindingOut(**data)


def _lead_text(a: str, b: str, lag: int) -> str:
    if lag > 0:
        return f"{a} leads {b} by {lag} step(s)"
    if lag < 0:
        return f"{b} leads {a} by {-lag} step(s)"
    return "neither leads (same period)"


def _relation_sentence(x: str, y: str | None, findings: list[FindingOut], cc: CrossCorrelation | None) -> str:
    parts = []
    if y:
        f = next((f for f in findings if {f.a, f.b} == {x, y}), None)
        if f is not None and f.significant:
            parts.append(
                f"Tested finding {f.finding_id}: {f.a} and {f.b} correlate with r = {fmt(f.r)} at lag {f.lag} "
                f"({_lead_text(f.a, f.b, f.lag)}), q = {fmt(f.q)}, n = {fmt(f.n)}, effective n = {fmt(f.n_eff)}."
            )
        elif f is not None:
            parts.append(f"The latest discovery run tested {x} and {y}: not significant (q = {fmt(f.q)}).")
        else:
            parts.append(f"No tested finding links {x} and {y} in the latest discovery run.")
        if cc is not None:
            sig = "significant" if cc.p is not None and cc.p <= 0.05 else "not significant"
            parts.append(
                f"Their lagged cross-correlation (adjusted: {', '.join(cc.adjustments) or 'none'}) peaks at lag "
                f"{cc.best_lag} ({_lead_text(x, y, cc.best_lag)}) with r = {fmt(cc.r)}, n = {cc.n}, effective n = "
                f"{fmt(cc.n_eff)}, single-pair p = {fmt(cc.p)} ({sig} on its own; not corrected for other pairs)."
            )
    elif not findings:
        parts.append(
            f"No significant finding involves {x} in the latest discovery run: nothing is known to move with it."
        )
    else:
        items = [
            f"{f.b if f.a == x else f.a} (r = {fmt(f.r)}, lag {f.lag}: {_lead_text(f.a, f.b, f.lag)}, q = {fmt(f.q)})"
            for f in findings[:5]
        ]
        parts.append(f"{len(findings)} significant finding(s) involve {x}: " + "; ".join(items) + ".")
    return " ".join(parts) + " " + CAUSATION


# ------------------------------------------------------------------------------------- forecast
def _forecast(plan: QueryPlan, service: QueryService) -> ForecastAnswer:
    layer = service.layer()
    _need(service, FORECASTS)
    if not plan.measure:
        raise CannotAnswerError("forecast of what?", hint="name a series or measure, e.g. 'forecast revenue'")
    sid = _series_or_refuse(service, plan.measure, layer, plan.table, "forecast")
    latest = f"(SELECT MAX(origin) FROM {FORECASTS} WHERE series_id = {q(sid)})"
    rows = _rows(service, f"SELECT * FROM {FORECASTS} WHERE series_id = {q(sid)} AND origin = {latest} ORDER BY step")
    if not rows:
        have = [r["series_id"] for r in _rows(service, f"SELECT DISTINCT series_id FROM {FORECASTS} ORDER BY 1")]
        raise CannotAnswerError(
            f"there is no forecast of {sid}",
            hint="forecasts exist for: " + ", ".join(have[:12]) + f"; run `{PRODUCER[FORECASTS]}` with series={sid}",
        )
    meta = next((r for r in _catalog(service) if r["series_id"] == sid), {})
    notes: list[str] = []
    points = [
        ForecastPoint(
            ts=_iso(r["ts"]),
            step=int(r["step"]),
            **{k: _num(r.get(k)) for k in ("mean", "lo80", "hi80", "lo95", "hi95")},
        )
        for r in rows
    ]
    first, last = points[0].ts, points[-1].ts
    period_out = None
    total = None
    if plan.periods:
        p = plan.periods[0]
        lo, hi = (p.start or first)[:10], (p.end or "9999-12-31")[:10]
        inside = [pt for pt in points if lo <= pt.ts < hi]
        if not inside:
            raise CannotAnswerError(
                f"the forecast of {sid} covers {first} to {last}, not {p.label or (lo + ' to ' + hi)}",
                hint=f"run `{PRODUCER[FORECASTS]}` with a longer horizon",
            )
        if hi > last and p.end:
            notes.append(f"the forecast ends on {last}; {p.label or 'the period'} runs past it")
        points = inside
        period_out = PeriodOut(start=lo, end=hi, label=p.label or f"{lo} to {hi}")
        if str(meta.get("aggregation")) == "sum" and all(pt.mean is not None for pt in points):
            total = math.fsum(pt.mean for pt in points if pt.mean is not None)
    elif plan.horizon:
        points = points[: plan.horizon]
    a, b = points[0], points[-1]
    text = (
        f"Forecast of {sid} ({meta.get('description') or sid}) by the {rows[0]['model']} model from "
        f"{_iso(rows[0]['origin'])}: {a.ts} {fmt(a.mean)} (80% interval {fmt(a.lo80)} to {fmt(a.hi80)})"
    )
    if b.ts != a.ts:
        text += f"; {b.ts} {fmt(b.mean)} (80% {fmt(b.lo80)} to {fmt(b.hi80)}, 95% {fmt(b.lo95)} to {fmt(b.hi95)})"
    text += "."
    if total is not None:
        label = period_out.label if period_out else "the period"
        text += f" Sum of the daily point forecasts over {label}: {fmt(total)} (no interval for the sum)."
    return ForecastAnswer(
        series_id=sid,
        description=meta.get("description"),
        unit=meta.get("unit"),
        model=str(rows[0]["model"]),
        origin=_iso(rows[0]["origin"]),
        points=points,
        period=period_out,
        period_total=total,
        answer=text,
        notes=notes,
    )


# -------------------------------------------------------------------------------------- anomaly
def _anomaly(plan: QueryPlan, service: QueryService) -> AnomalyAnswer:
    layer = service.layer()
    _need(service, ANOMALIES)
    present = set(service.snapshots.present_tables)
    ids: list[str]
    if plan.measure:
        ids = [_series_or_refuse(service, plan.measure, layer, plan.table, "anomaly detection")]
    elif plan.table:
        catalog = _catalog(service)
        ids = [str(r["series_id"]) for r in catalog if r.get("lineage") == plan.table]
        if not ids:
            raise CannotAnswerError(f"no series is derived from {plan.table}", hint="name a series")
    else:
        raise CannotAnswerError(
            "anomalies in what?", hint="name a series or measure, e.g. 'anomalies in equipment failures'"
        )
    in_ids = ", ".join(q(i) for i in ids)
    cond = [f"series_id IN ({in_ids})"]
    period_out = None
    if plan.periods:
        p = plan.periods[0]
        cond.append(p.sql("ts"))
        period_out = PeriodOut(start=p.start or "", end=p.end or "", label=p.label)
    where = " AND ".join(cond)
    count = int(_rows(service, f"SELECT COUNT(*) AS n FROM {ANOMALIES} WHERE {where}")[0]["n"])
    rows = _rows(service, f"SELECT * FROM {ANOMALIES} WHERE {where} ORDER BY ABS(score) DESC NULLS LAST, ts LIMIT 50")
    anomalies = [
        AnomalyOut(
            series_id=str(r["series_id"]),
            ts=_iso(r["ts"]),
            kind=str(r["kind"]),
            direction=str(r["direction"]),
            value=_num(r.get("value")),
            expected=_num(r.get("expected")),
            score=_num(r.get("score")),
        )
        for r in rows
    ]
    alerts: list[AlertOut] = []
    notes: list[str] = []
    if ALERTS in present:
        acond = f"(source_series IN ({in_ids}) OR target_series IN ({in_ids}))"
        if plan.periods:
            acond += " AND " + plan.periods[0].sql("source_ts")
        for r in _rows(service, f"SELECT * FROM {ALERTS} WHERE {acond} ORDER BY source_ts DESC LIMIT 20"):
            alerts.append(
                AlertOut(
                    alert_id=str(r["alert_id"]),
                    source_series=str(r["source_series"]),
                    source_ts=_iso(r["source_ts"]),
                    target_series=str(r["target_series"]),
                    target_ts=_iso(r["target_ts"]),
                    lag_days=int(r["lag_days"]),
                    expected_lag_days=None if r.get("expected_lag_days") is None else int(r["expected_lag_days"]),
                    correlation=_num(r.get("correlation")),
                    message=str(r["message"]),
                )
            )
    else:
        notes.append(f"{ALERTS} has no data yet (cross-source alerts come from `{PRODUCER[ALERTS]}`)")
    span = f" in {period_out.label}" if period_out else ""
    if not anomalies:
        text = f"No anomalies were detected in {', '.join(ids)}{span} (gold.anomalies)."
    else:
        strongest = "; ".join(
            f"{a.ts} {a.kind} {a.direction}: {fmt(a.value)} vs expected {fmt(a.expected)} (score {fmt(a.score)})"
            for a in anomalies[:3]
        )
        text = f"{count} anomal{'y' if count == 1 else 'ies'} in {', '.join(ids)}{span}. Strongest: {strongest}."
    if alerts:
        text += f" {len(alerts)} cross-source alert(s), latest: {alerts[0].message}"
    return AnomalyAnswer(
        series=ids, period=period_out, count=count, anomalies=anomalies, alerts=alerts, answer=text, notes=notes
    )


# -------------------------------------------------------------------------------------- monitor
def _monitor(plan: QueryPlan, service: QueryService) -> MonitorAnswer:
    layer = service.layer()
    subject = plan.subject or plan.table or plan.measure
    kpis = [m for m in layer.measures if m.kind == "kpi"]
    chosen: list[Measure]
    notes: list[str] = []
    if plan.measure:
        chosen = [m for m in layer.measures if m.name == plan.measure and (plan.table is None or m.table == plan.table)]
    elif plan.table:
        chosen = [m for m in kpis if m.table == plan.table] or [
            m for m in layer.measures if m.table == plan.table and m.kind == "column"
        ]
    elif plan.subject:
        words = {w for w in plan.subject.lower().replace("_", " ").split() if len(w) > 2}
        chosen = [
            m
            for m in kpis
            if words
            & set((m.description + " " + " ".join(m.synonyms) + " " + m.table).lower().replace("_", " ").split())
        ]
        if not chosen:
            tables = [
                t
                for t, info in layer.tables.items()
                if words
                & set(
                    (t + " " + info.description + " " + " ".join(info.synonyms))
                    .lower()
                    .replace("_", " ")
                    .replace(".", " ")
                    .split()
                )
            ]
            chosen = [m for m in layer.measures if m.table in tables and m.kind in ("kpi", "column")][:12]
        if not chosen:
            notes.append(f"nothing in the catalogue matches {plan.subject!r}: listing every KPI")
            chosen = kpis
    else:
        chosen = kpis
    if not chosen:
        raise CannotAnswerError("there are no KPIs in the lake yet", hint="run `covary demo` (or `covary job run kpi`)")
    try:
        from jobs.kpi.definitions import KPIS
    except ImportError:  # pragma: no cover
        KPIS = {}
    out = []
    for m in chosen[:20]:
        info = layer.tables[m.table]
        tcol = m.time_column or info.time_column
        status = KpiStatus(
            name=m.name,
            table=m.table,
            description=m.description,
            unit=m.unit,
            kind=m.kind,
            higher_is_better=getattr(KPIS.get(m.name), "higher_is_better", None) if m.kind == "kpi" else None,
        )
        if tcol and info.max_time:
            cur = drivers.latest_complete_month(date.fromisoformat(info.max_time[:10]))
            prev = drivers.previous_window(cur)
            from serve.query.plan import filtered

            base = [m.where] if m.where else []
            sql = (
                f"SELECT {filtered(m.expr, cur.sql(tcol))} AS cur, {filtered(m.expr, prev.sql(tcol))} AS prev "
                f"FROM {m.table}" + (f" WHERE {' AND '.join(base)}" if base else "")
            )
            row = _rows(service, sql)[0]
            status.period = PeriodOut(**cur.as_dict())
            status.current, status.previous = _num(row["cur"]), _num(row["prev"])
            if status.current is not None and status.previous:
                status.change_pct = (status.current - status.previous) / abs(status.previous) * 100
        out.append(status)
    lines = []
    for s in out[:8]:
        if s.current is None:
            lines.append(f"{s.name} ({s.description})")
            continue
        chg = f", {s.change_pct:+.1f}% vs the month before" if s.change_pct is not None else ""
        lines.append(f"{s.name} = {fmt(s.current)} in {s.period.label if s.period else ''}{chg}")
    text = (
        f"KPIs to monitor{' for ' + subject if subject else ''} ({len(out)}): "
        + "; ".join(lines)
        + "."
        + (" Forecasts and anomaly alerts on them come from `covary job run forecast` / `anomaly`." if out else "")
    )
    return MonitorAnswer(subject=subject, kpis=out, answer=text, notes=notes)


# ----------------------------------------------------------------------------------------- entry
HANDLERS = {"why": _why, "relation": _relation, "forecast": _forecast, "anomaly": _anomaly, "monitor": _monitor}


def run_intent(plan: QueryPlan, service: QueryService) -> dict[str, Any]:
    """Answer a non-SQL ``plan`` (validated here) with its intent's payload as a JSON-able dict."""
    validate(plan, service.layer())
    handler = HANDLERS.get(plan.intent)
    if handler is None:
        raise CannotAnswerError(f"intent {plan.intent!r} is answered by SQL, not by run_intent")
    answer = handler(plan, service)
    return answer.model_dump(mode="json") | {"understood": plan.understood_list(), "translator": plan.translator}


__all__ = [
    "ANSWER_MODELS",
    "AlertOut",
    "AnomalyAnswer",
    "AnomalyOut",
    "Breakdown",
    "Contribution",
    "CrossCorrelation",
    "DriverAnswer",
    "FindingOut",
    "ForecastAnswer",
    "ForecastPoint",
    "IntentAnswer",
    "KpiStatus",
    "LagCorrelation",
    "MonitorAnswer",
    "PeriodOut",
    "RelationAnswer",
    "cross_correlation",
    "explain_change",
    "run_intent",
    "series_for",
]
