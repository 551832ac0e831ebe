"""Forecast, anomaly and monitor intents: answers read from gold.forecasts, gold.anomalies and the KPIs."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

from serve.query import drivers
from serve.query.errors import CannotAnswerError
from serve.query.intent_answers import (
    AlertOut,
    AnomalyAnswer,
    AnomalyOut,
    ForecastAnswer,
    ForecastPoint,
    KpiStatus,
    MonitorAnswer,
    PeriodOut,
)
from serve.query.intent_common import (
    ALERTS,
    ANOMALIES,
    FORECASTS,
    PRODUCER,
    _catalog,
    _iso,
    _need,
    _num,
    _rows,
    _series_or_refuse,
    fmt,
)
from serve.query.plan import QueryPlan, q
from serve.query.semantic import DETAIL_OF, Measure

if TYPE_CHECKING:
    from serve.query.service import QueryService


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
    kpis = [m for m in layer.measures if m.kind == "kpi" and m.table not in DETAIL_OF]  # each KPI once
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
