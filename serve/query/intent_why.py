"""'Why did X change': a driver analysis of the change of a measure over its table's dimensions."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

from serve.query import drivers
from serve.query.errors import CannotAnswerError
from serve.query.intent_answers import Breakdown, Contribution, DriverAnswer, PeriodOut
from serve.query.intent_common import _measure, _rows, _window, fmt, signed
from serve.query.plan import QueryPlan, filter_sql
from serve.query.semantic import Measure

if TYPE_CHECKING:
    from serve.query.service import QueryService


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
    if where:  # say which rows were analysed ("... where region = 'Northeast'")
        text = f"Where {' and '.join(where)}: {text}"
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
