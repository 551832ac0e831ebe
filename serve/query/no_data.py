"""Answers with nothing in them: a period the data does not cover is refused, an empty match is said.

A question whose plan reads a period can come back empty, all NULL or as a count of 0. That is a true answer
only where the table has rows in the period: "failures at plant-north on 2024-12-25" = 0 while the table
holds that day is a real zero, but "revenue in 2015" = NULL from a table that covers 2006-2010 and 2023-24 is
no answer at all. ``check_answer`` runs one COUNT on the table's time column for each such period the SQL
read (ignoring the question's filters). No rows there: the spans the data covers are computed from it
(months, or the data's coarser step, that hold rows, merged into runs); a period in a gap between them (or
outside them) is a ``PlanError`` (422) naming the spans, a period inside one (a day without events) keeps
its empty answer with a ``note`` saying so. Rows in the period but none matching the filters, or a measure
NULL over all of them, also give a ``note``. Used by ``QueryService.ask`` (CLI) and the ``/v1/query`` route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from serve.query.plan import (
    PeriodSpec,
    PlanError,
    QueryPlan,
    asked_conditions,
    periods_read,
    plan_measure,
)
from serve.query.semantic import Measure, SemanticLayer, ident

Runner = Callable[[str], list[list[Any]]]
"""Runs trusted SQL written here and returns its rows."""

MAX_SPANS = 6  # more month spans than this are shown as years


def needs_check(plan: dict[str, Any] | None, result: dict[str, Any]) -> bool:
    """True when the answer to a period of a SQL plan is empty, NULL in every value or one count of 0 (cheap:
    looks at the result only, so the route asks the engine only then)."""
    return any(answer_states(plan, result))


def answer_states(plan: dict[str, Any] | None, result: dict[str, Any]) -> list[str | None]:
    """For each period the SQL read (``periods_read``): "empty" (no rows), "null" (NULL in every value),
    "zero" (one row, one value, 0) or None (an answer with values). A comparison of periods is judged per
    period, on its own column."""
    if not plan or plan.get("intent", "sql") != "sql" or not plan.get("periods") or not plan.get("table"):
        return []
    rows = result.get("rows") or []
    values = _value_columns(plan, result.get("columns") or [])
    comparison = (plan.get("comparison") or {}).get("kind") == "periods" and len(plan["periods"]) >= 2
    groups = [[i] for i in values[:2]] if comparison else [values]
    return [_state(rows, cols) for cols in groups] if rows else ["empty"] * len(groups)


def check_answer(plan: QueryPlan, layer: SemanticLayer, result: dict[str, Any], run: Runner) -> dict[str, Any]:
    """What to add to an answer that ``needs_check``: ``{}`` or ``{"note": ...}``; raises ``PlanError`` when
    the table has no rows at all in a period the SQL read."""
    table = plan.table or ""
    info = layer.tables.get(table)
    tcol = info.time_column if info else None
    if not tcol:
        return {}
    measure = plan_measure(plan, layer)
    own = [measure.where] if measure.where else []
    asked = asked_conditions(plan)
    notes: list[str] = []
    for p, state in zip(periods_read(plan), answer_states(plan.to_dict(), result), strict=False):
        if state is None:
            continue
        matching = f", COUNT(*) FILTER (WHERE {' AND '.join(asked)})" if asked else ""
        where = " AND ".join([p.sql(tcol), *own])
        row = run(f"SELECT COUNT(*){matching} FROM {table} WHERE {where}")[0]
        in_period, hits = int(row[0] or 0), int(row[-1] or 0)
        label = p.label or _bounds(p)
        subject = f"{measure.name} in {table}" if own else table
        if in_period == 0:
            spans = covered_spans(run, table, tcol, own, _unit(layer, table, measure))
            around = [(lo, hi) for lo, hi in spans if (not p.start or p.start <= hi) and (not p.end or p.end > lo)]
            if around:  # a quiet day inside the data's span (no event that day): an empty answer, said so
                notes.append(f"{subject} has no rows in {label}, inside its data's span {describe_spans(around)}")
                continue
            covers = describe_spans(spans) if spans else "no dated rows at all"
            raise PlanError(
                f"{subject} has no rows in {label}: its data covers {covers}",
                hint=f"ask about a period within {covers}" if spans else "load data for this table first",
                understood={"understood": plan.understood_list()},
                unplaced=p.span or p.label,
            )
        if asked and hits == 0:
            notes.append(f"no rows of {table} match {' and '.join(asked)} in {label}")
        elif state == "null":
            which = f"match {' and '.join(asked)}" if asked else "fall"
            notes.append(f"{hits} row(s) of {table} {which} in {label}, but {measure.name} is NULL over them")
    return {"note": "; ".join(notes)} if notes else {}


def covered_spans(run: Runner, table: str, tcol: str, where: list[str], unit: str = "month") -> list[tuple[str, str]]:
    """(first, last) day of each run of consecutive ``unit``s (month, quarter, year) that hold rows of
    ``table``; more than ``MAX_SPANS`` month runs are merged by year."""
    col = ident(tcol)
    cond = " AND ".join([f"{col} IS NOT NULL", *where])
    rows = run(
        f"SELECT CAST(DATE_TRUNC('{unit}', {col}) AS DATE), MIN({col}), MAX({col}) FROM {table} "
        f"WHERE {cond} GROUP BY 1 ORDER BY 1"
    )
    buckets = [(_day(r[0]), str(r[1])[:10], str(r[2])[:10]) for r in rows if r[0] is not None]
    spans = _merge(buckets, unit)
    if len(spans) > MAX_SPANS and unit != "year":
        years = [(date(b[0].year, 1, 1), b[1], b[2]) for b in buckets]
        spans = _merge(years, "year")
    return spans


def describe_spans(spans: list[tuple[str, str]]) -> str:
    """'2006-01-03 to 2010-12-30 and 2023-01-02 to 2024-12-31' (a long list keeps its ends and says how many)."""
    parts = [a if a == b else f"{a} to {b}" for a, b in spans]
    if len(parts) > MAX_SPANS:
        parts = [*parts[:3], f"... ({len(parts) - 5} more spans) ...", *parts[-2:]]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


# ------------------------------------------------------------------------------------------- helpers
def _value_columns(plan: dict[str, Any], columns: list[str]) -> list[int]:
    """Indexes of the result columns that hold measure values (not group keys, period or rank)."""
    comparison = plan.get("comparison") or {}
    keys = {*(plan.get("dimensions") or []), "period", "rank", comparison.get("column")}
    return [i for i, c in enumerate(columns) if c not in keys]


def _state(rows: list[list[Any]], cols: list[int]) -> str | None:
    if not cols:
        return None
    if all(row[i] is None for row in rows for i in cols):
        return "null"
    one = rows[0][cols[0]] if len(rows) == 1 and len(cols) == 1 else None
    return "zero" if isinstance(one, int | float) and not isinstance(one, bool) and one == 0 else None


def _unit(layer: SemanticLayer, table: str, measure: Measure) -> str:
    """The bucket the covered spans are counted in: the data's own step where it is coarser than a month."""
    series = (layer.series_ranges or {}).get(measure.name) or {}
    step = series.get("step") or (layer.steps or {}).get(table, "day")
    return {"year": "year", "decade": "year", "quarter": "quarter"}.get(str(step), "month")


def _merge(buckets: list[tuple[date, str, str]], unit: str) -> list[tuple[str, str]]:
    spans: list[list[Any]] = []  # [bucket start, first day, last day]
    for start, lo, hi in buckets:
        if spans and (spans[-1][0] == start or _next(spans[-1][0], unit) == start):
            spans[-1][0], spans[-1][2] = start, max(spans[-1][2], hi)
        else:
            spans.append([start, lo, hi])
    return [(lo, hi) for _start, lo, hi in spans]


def _next(start: date, unit: str) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    total = start.year * 12 + start.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _bounds(p: PeriodSpec) -> str:
    return f"{p.start or '...'} to {p.end or '...'}"


__all__ = ["MAX_SPANS", "Runner", "answer_states", "check_answer", "covered_spans", "describe_spans", "needs_check"]
