"""The structured query plan both translators produce, its validation against the semantic layer, and
the SQL compiler.

A plan says *what* was asked (intent, table, measure, dimensions, filters, periods, grain, ranking,
comparison, share/running flags) and *how each span of the question was understood*. The
deterministic translator builds one from the question; the LLM translator asks a model for one as
JSON. Either way :func:`validate` checks every name against the semantic layer (unknown measure,
column, value or table -> :class:`PlanError`, a 422 with reason and hint) and :func:`compile_sql`
writes the SQL itself; model-written SQL never runs.

Intents other than ``sql`` (why / relation / forecast / anomaly / monitor) are answered by
``serve.query.intents.run_intent(plan, service)``.

The plan is a stable contract: change it only additively.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any, Literal

from rapidfuzz import fuzz, process

from serve.query.errors import CannotAnswerError
from serve.query.semantic import Dimension, Measure, SemanticLayer, daily_mean, ident

Intent = Literal["sql", "why", "relation", "forecast", "anomaly", "monitor"]
INTENTS: tuple[str, ...] = ("sql", "why", "relation", "forecast", "anomaly", "monitor")
GRAIN_NAMES: tuple[str, ...] = ("day", "week", "month", "quarter", "year", "decade")
FILTER_OPS: tuple[str, ...] = ("=", "!=", "in", "not in", ">", ">=", "<", "<=", "between", "contains")
AGGREGATIONS: tuple[str, ...] = (
    "default",
    "sum",
    "avg",
    "avg_daily",
    "median",
    "min",
    "max",
    "count",
    "count_distinct",
)
ROLES: tuple[str, ...] = (
    "measure",
    "table",
    "dimension",
    "filter",
    "period",
    "grain",
    "ranking",
    "comparison",
    "intent",
    "aggregation",
    "shape",
    "filler",
)


# ------------------------------------------------------------------------------------------ pieces
@dataclass
class Span:
    """One piece of the question and the role it was given (``value``: what it was linked to)."""

    text: str
    role: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"span": self.text, "role": self.role, "value": self.value}


@dataclass
class Filter:
    """``column op values``; ``values`` are data values (strings for categories, numbers for measures)."""

    column: str
    op: str = "="
    values: list[Any] = field(default_factory=list)
    span: str | None = None


@dataclass
class PeriodSpec:
    """``[start, end)`` as ISO dates (either may be None = open); ``relative`` names how a relative period
    was resolved (e.g. "last month, anchored to the latest complete month in the data: 2024-11")."""

    start: str | None = None
    end: str | None = None
    label: str = ""
    relative: str | None = None
    span: str | None = None

    def sql(self, column: str) -> str:
        parts = []
        if self.start:
            parts.append(f"{ident(column)} >= DATE '{_iso(self.start)}'")
        if self.end:
            parts.append(f"{ident(column)} < DATE '{_iso(self.end)}'")
        return " AND ".join(parts) or "TRUE"


@dataclass
class Ranking:
    """Top/bottom ``n`` (None: all, ordered) by the measure; ``per``: one ranking per value of that column
    ("top 3 campaigns per platform")."""

    n: int | None = 10
    direction: Literal["desc", "asc"] = "desc"
    per: str | None = None


@dataclass
class Comparison:
    """``periods``: the first two plan periods side by side with the change; ``values``: the listed values
    of ``column`` ("Meta vs Google"); ``previous``: each grain period against the one before
    (period-over-period)."""

    kind: Literal["periods", "values", "previous"] = "periods"
    column: str | None = None
    values: list[Any] = field(default_factory=list)


@dataclass
class QueryPlan:
    intent: str = "sql"
    question: str = ""
    table: str | None = None
    measure: str | None = None
    aggregation: str = "default"
    dimensions: list[str] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    periods: list[PeriodSpec] = field(default_factory=list)
    grain: str | None = None
    ranking: Ranking | None = None
    comparison: Comparison | None = None
    share: bool = False
    running: bool = False
    understood: list[Span] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # intent extras: relation partners ("how does X affect Y"), forecast horizon, free parameters
    other_measures: list[str] = field(default_factory=list)
    horizon: int | None = None
    subject: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    translator: str = "deterministic"

    # ------------------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryPlan:
        """Parse a plan from JSON (an LLM's reply); unknown keys are ignored, wrong shapes raise PlanError."""
        if not isinstance(data, dict):
            raise PlanError("the plan is not a JSON object", hint="send an object with at least 'intent'")
        try:
            known = {f.name for f in fields(cls)}
            kw: dict[str, Any] = {k: v for k, v in data.items() if k in known}
            kw["filters"] = [Filter(**_only(Filter, f)) for f in kw.get("filters") or []]
            kw["periods"] = [PeriodSpec(**_only(PeriodSpec, p)) for p in kw.get("periods") or []]
            kw["understood"] = [
                Span(str(s.get("text", s.get("span", ""))), str(s.get("role", "")), s.get("value"))
                for s in kw.get("understood") or []
            ]
            if kw.get("ranking") is not None:
                kw["ranking"] = Ranking(**_only(Ranking, kw["ranking"]))
            if kw.get("comparison") is not None:
                kw["comparison"] = Comparison(**_only(Comparison, kw["comparison"]))
            for name in ("dimensions", "other_measures", "notes"):
                value = kw.get(name)
                if value is not None and not isinstance(value, list):
                    raise TypeError(f"{name} must be a list")
            if "params" in kw and not isinstance(kw["params"], dict):
                raise TypeError("params must be an object")
            return cls(**kw)
        except (TypeError, AttributeError, ValueError) as exc:
            raise PlanError(f"malformed plan: {exc}", hint="see serve/query/plan.py for the plan fields") from exc

    def understood_list(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.understood]


def _only(cls: type, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} must be an object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _iso(value: str) -> str:
    text = str(value)[:10]
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise PlanError(f"bad date {value!r} in a period", hint="periods use ISO dates YYYY-MM-DD") from exc


class PlanError(CannotAnswerError):
    """A plan names something the semantic layer does not have (422). ``understood`` carries the spans
    understood so far, the span that could not be placed and the nearest known names."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        understood: dict | None = None,
        unplaced: str | None = None,
        nearest: list[str] | None = None,
    ) -> None:
        extra = dict(understood or {})
        if unplaced is not None:
            extra["unplaced"] = unplaced
        if nearest:
            extra["nearest"] = list(nearest)
        super().__init__(message, hint=hint, understood=extra)


# ------------------------------------------------------------------------------------- translation
@dataclass
class Translation:
    """A translated question: SQL plus what the answer should look like and a one-line explanation."""

    sql: str
    chart: dict[str, Any]
    explanation: str
    translator: str = "deterministic"
    understood: Any = field(default_factory=list)
    intent: str = "sql"
    plan: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "chart": self.chart,
            "explanation": self.explanation,
            "translator": self.translator,
            "understood": self.understood,
            "intent": self.intent,
            "plan": self.plan,
        }


# ---------------------------------------------------------------------------------------- lookup
def find_measure(layer: SemanticLayer, table: str | None, name: str) -> Measure | None:
    """The measure called ``name`` (in ``table`` when given)."""
    hits = [m for m in layer.measures if m.name == name and (table is None or m.table == table)]
    return hits[0] if len(hits) == 1 or (hits and table) else None


def nearest(word: str, choices: list[str], k: int = 5) -> list[str]:
    """The ``k`` known names closest to ``word`` (for hints)."""
    if not choices:
        return []
    found = process.extract(str(word), choices, scorer=fuzz.WRatio, limit=k)
    return [c for c, _score, _i in found]


def _dim(layer: SemanticLayer, table: str, column: str) -> Dimension | None:
    return next((d for d in layer.dims_of(table) if d.column == column), None)


def _columns(layer: SemanticLayer, table: str) -> set[str]:
    cols = {d.column for d in layer.dims_of(table)}
    cols |= {m.name for m in layer.measures if m.table == table and m.kind == "column"}
    info = layer.tables.get(table)
    if info and info.time_column:
        cols.add(info.time_column)
    return cols


# -------------------------------------------------------------------------------------- validate
def validate(plan: QueryPlan, layer: SemanticLayer) -> QueryPlan:
    """Check every name in ``plan`` against ``layer``; raise :class:`PlanError` naming what is unknown.

    Returns the plan (with ``table`` filled from the measure when it was missing)."""
    said = {"understood": plan.understood_list()}
    if plan.intent not in INTENTS:
        raise PlanError(f"unknown intent {plan.intent!r}", hint=f"one of {', '.join(INTENTS)}", understood=said)
    if plan.table is None and plan.measure:
        owners = sorted({m.table for m in layer.measures if m.name == plan.measure})
        if len(owners) == 1:
            plan.table = owners[0]
        elif len(owners) > 1:
            raise PlanError(
                f"measure {plan.measure!r} exists in several tables",
                hint=f"name the table: {', '.join(owners)}",
                understood=said,
            )
    if plan.table is not None and plan.table not in layer.tables:
        raise PlanError(
            f"no table {plan.table!r}",
            hint="tables: " + ", ".join(nearest(plan.table, list(layer.tables), 8)),
            understood=said,
            unplaced=plan.table,
            nearest=nearest(plan.table, list(layer.tables)),
        )
    if plan.intent == "sql" and not plan.table:
        raise PlanError("the plan names no table or measure", hint="say what to measure", understood=said)
    table = plan.table
    if plan.measure is not None and table is not None and find_measure(layer, table, plan.measure) is None:
        names = [m.name for m in layer.measures if m.table == table]
        raise PlanError(
            f"no measure {plan.measure!r} in {table}",
            hint="measures of this table: " + ", ".join(names[:20]),
            understood=said,
            unplaced=plan.measure,
            nearest=nearest(plan.measure, names),
        )
    for other in plan.other_measures:
        if plan.intent == "sql" and table is not None and find_measure(layer, table, other) is None:
            names = [m.name for m in layer.measures if m.table == table]
            raise PlanError(
                f"no measure {other!r} in {table}", understood=said, unplaced=other, nearest=nearest(other, names)
            )
        if not any(m.name == other for m in layer.measures):
            names = [m.name for m in layer.measures]
            raise PlanError(f"no measure {other!r}", understood=said, unplaced=other, nearest=nearest(other, names))
    if plan.aggregation not in AGGREGATIONS:
        raise PlanError(f"unknown aggregation {plan.aggregation!r}", hint=", ".join(AGGREGATIONS), understood=said)
    if plan.grain is not None and plan.grain not in GRAIN_NAMES:
        raise PlanError(f"unknown grain {plan.grain!r}", hint=", ".join(GRAIN_NAMES), understood=said)
    if table is None:
        return plan
    info = layer.tables[table]
    cols = _columns(layer, table)
    dim_names = [d.column for d in layer.dims_of(table)]
    for column in [*plan.dimensions, *(f.column for f in plan.filters)]:
        if column not in cols:
            raise PlanError(
                f"{table} has no column {column!r}",
                hint="columns: " + ", ".join(sorted(cols)[:30]),
                understood=said,
                unplaced=column,
                nearest=nearest(column, sorted(cols)),
            )
    for column in plan.dimensions:
        if column not in dim_names and column != info.time_column:
            raise PlanError(
                f"{column!r} is a number in {table}, not something to group by",
                hint="group by one of: " + ", ".join(dim_names[:20]),
                understood=said,
            )
    for f in plan.filters:
        if f.op not in FILTER_OPS:
            raise PlanError(f"unknown filter operator {f.op!r}", hint=", ".join(FILTER_OPS), understood=said)
        if not isinstance(f.values, list) or not f.values:
            raise PlanError(f"the filter on {f.column} has no values", understood=said)
        dim = _dim(layer, table, f.column)
        if dim is not None and dim.values and f.op in ("=", "!=", "in", "not in"):
            known = set(dim.values)
            for v in f.values:
                if str(v) not in known:
                    raise PlanError(
                        f"no {f.column} {v!r} in {table}",
                        hint=f"{f.column} values: " + ", ".join(list(dim.values)[:15]),
                        understood=said,
                        unplaced=str(f.span or v),
                        nearest=nearest(str(v), list(dim.values)),
                    )
        if dim is None and f.op not in ("=", "!=", "in", "not in", "contains"):
            for v in f.values:
                if not isinstance(v, int | float) or isinstance(v, bool):
                    raise PlanError(f"the filter on {f.column} compares with a non-number {v!r}", understood=said)
    if (plan.periods or plan.grain or (plan.comparison and plan.comparison.kind != "values")) and not info.time_column:
        raise PlanError(f"{table} has no time column, so it cannot be split or filtered by period", understood=said)
    for p in plan.periods:
        for d in (p.start, p.end):
            if d is not None:
                _iso(d)
    if plan.ranking is not None:
        if plan.ranking.n is not None and (not isinstance(plan.ranking.n, int) or plan.ranking.n < 1):
            raise PlanError("the ranking needs a positive whole number", understood=said)
        if plan.ranking.direction not in ("asc", "desc"):
            raise PlanError("ranking direction is asc or desc", understood=said)
        if plan.ranking.per is not None and plan.ranking.per not in cols:
            raise PlanError(f"{table} has no column {plan.ranking.per!r} to rank within", understood=said)
    if plan.comparison is not None:
        c = plan.comparison
        if c.kind not in ("periods", "values", "previous"):
            raise PlanError(f"unknown comparison {c.kind!r}", understood=said)
        if c.kind == "periods" and len(plan.periods) < 2:
            raise PlanError("a comparison of periods needs two periods", understood=said)
        if c.kind == "values" and (not c.column or c.column not in dim_names or len(c.values) < 2):
            raise PlanError("a comparison of values needs a column and at least two of its values", understood=said)
        if c.kind == "previous" and not plan.grain:
            raise PlanError("period-over-period needs a grain (month, quarter, ...)", understood=said)
    if plan.limit is not None and (not isinstance(plan.limit, int) or plan.limit < 1):
        raise PlanError("limit must be a positive whole number", understood=said)
    return plan


# --------------------------------------------------------------------------------------- compile
_SIMPLE_AGG_RE = re.compile(r"^(SUM|AVG|MEDIAN|MIN|MAX)\(([A-Za-z_][A-Za-z0-9_\.\"]*)\)$")
_AGG_CALL_RE = re.compile(r"\b(SUM|AVG|MEDIAN|MIN|MAX|COUNT)\(([^()]*)\)", re.IGNORECASE)


def q(value: Any) -> str:
    """A SQL literal: numbers bare, everything else single-quoted."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def alias_of(name: str) -> str:
    parts = [p for p in name.split(".") if p not in ("daily", "weekly", "monthly", "quarterly", "all")]
    last = parts[-1] if len(parts) < 3 else "_".join(parts[1:])
    out = re.sub(r"[^a-z0-9_]", "_", last.lower()).strip("_") or "value"
    return out if not out[0].isdigit() else f"m_{out}"


def measure_expr(measure: Measure, aggregation: str) -> str:
    """``measure``'s SQL aggregate, re-aggregated as asked where that is meaningful (a ratio KPI keeps its
    definition; "average" of an additive measure is the average per day, see ``daily_mean``)."""
    if aggregation in ("default", ""):
        return measure.expr
    if aggregation == "count":
        return "COUNT(*)"
    simple = _SIMPLE_AGG_RE.match(measure.expr.strip())
    if not simple:
        return measure.expr
    default, column = simple.group(1), simple.group(2)
    if aggregation == "avg_daily":
        return daily_mean(column, measure.time_column) if measure.time_column else measure.expr
    if aggregation == "count_distinct":
        return f"COUNT(DISTINCT {column})"
    asked = {"sum": "SUM", "avg": "AVG", "median": "MEDIAN", "min": "MIN", "max": "MAX"}[aggregation]
    if asked == default:
        return measure.expr
    return f"{asked}({column})"


def filtered(expr: str, cond: str) -> str:
    """``expr`` with every aggregate call restricted to rows where ``cond`` holds (``FILTER (WHERE ...)``)."""
    return _AGG_CALL_RE.sub(lambda m: f"{m.group(1)}({m.group(2)}) FILTER (WHERE {cond})", expr)


def filter_sql(f: Filter) -> str:
    col = ident(f.column)
    vals = f.values
    if f.op in ("=", "in") and len(vals) == 1:
        return f"{col} = {q(vals[0])}"
    if f.op in ("=", "in"):
        return f"{col} IN ({', '.join(q(v) for v in vals)})"
    if f.op in ("!=", "not in") and len(vals) == 1:
        return f"({col} IS NULL OR {col} <> {q(vals[0])})"
    if f.op in ("!=", "not in"):
        return f"({col} IS NULL OR {col} NOT IN ({', '.join(q(v) for v in vals)}))"
    if f.op == "between":
        return f"{col} BETWEEN {q(vals[0])} AND {q(vals[-1])}"
    if f.op == "contains":
        return f"lower(CAST({col} AS VARCHAR)) LIKE {q('%' + str(vals[0]).lower() + '%')}"
    return f"{col} {f.op} {q(vals[0])}"


def _period_label(p: PeriodSpec) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (p.label or f"{p.start}_{p.end}").lower()).strip("_") or "period"


def explain(plan: QueryPlan, measure: Measure | None, expr: str) -> str:
    """The one-line explanation, built from the plan (so it says exactly what was answered)."""
    what = measure.description if measure else plan.table or ""
    if measure is not None and measure.kind == "series":
        what = f"{measure.description} (series {measure.name})"
    elif measure is not None:
        what = f"{measure.name.rsplit('.', 1)[-1].replace('_', ' ')} ({measure.description.rstrip('.')})"
    parts = [what]
    if plan.aggregation not in ("default", ""):
        parts[0] = f"{plan.aggregation.replace('_', ' ')} of {parts[0]}"
    if plan.filters:
        parts.append(
            "where "
            + " and ".join(
                f"{f.column} {'is' if f.op in ('=', 'in') else f.op} {' or '.join(map(str, f.values))}"
                for f in plan.filters
            )
        )
    if plan.periods and not (plan.comparison and plan.comparison.kind == "periods"):
        parts.append(f"in {plan.periods[0].label}")
    if plan.comparison and plan.comparison.kind == "periods":
        parts.append(f"{plan.periods[0].label} vs {plan.periods[1].label}, with the change")
    if plan.comparison and plan.comparison.kind == "values":
        parts.append(f"{' vs '.join(map(str, plan.comparison.values))} ({plan.comparison.column})")
    if plan.grain:
        parts.append(f"by {plan.grain}")
    if plan.dimensions:
        parts.append("by " + " and ".join(plan.dimensions))
    if plan.comparison and plan.comparison.kind == "previous":
        parts.append(f"with the change from the previous {plan.grain}")
    if plan.ranking and plan.ranking.n:
        word = "top" if plan.ranking.direction == "desc" else "bottom"
        per = f" per {plan.ranking.per}" if plan.ranking.per else ""
        parts.insert(0, f"{word} {plan.ranking.n}{per}:")
    if plan.share:
        parts.append("as a share of the total")
    if plan.running:
        parts.append("as a running total")
    text = " ".join(p for p in parts if p)
    for note in plan.notes:
        text += f"; {note}"
    return f"{text[0].upper()}{text[1:]} ({expr} over {plan.table})." if text else f"{expr} over {plan.table}."


def compile_sql(plan: QueryPlan, layer: SemanticLayer, *, default_limit: int = 100) -> Translation:
    """Validate ``plan`` and write its SQL (only ``intent == "sql"`` plans compile to SQL)."""
    validate(plan, layer)
    if plan.intent != "sql":
        raise PlanError(f"a {plan.intent!r} question is not answered by SQL", hint="see serve.query.intents")
    assert plan.table is not None
    table = plan.table
    info = layer.tables[table]
    tcol = info.time_column
    measure = plan_measure(plan, layer)
    if plan.share and not _additive(measure, plan.aggregation):
        raise PlanError(
            f"{measure.name} is a ratio or level, so a share of its total means nothing",
            hint="ask for the share of an additive measure (spend, revenue, tickets, ...)",
            understood={"understood": plan.understood_list()},
        )
    if plan.running and not _additive(measure, plan.aggregation):
        raise PlanError(
            f"{measure.name} is a ratio or level; a running total of it means nothing",
            hint="ask for the running total of an additive measure",
            understood={"understood": plan.understood_list()},
        )
    expr = measure_expr(measure, plan.aggregation)
    alias = alias_of(measure.name)
    where = ([measure.where] if measure.where else []) + asked_conditions(plan)
    comparison = plan.comparison
    dims = list(plan.dimensions)
    if comparison is not None and comparison.kind == "values" and comparison.column not in dims:
        dims.insert(0, comparison.column or "")
    limit = plan.limit or default_limit
    explanation = explain(plan, measure, expr)
    if comparison is not None and comparison.kind == "periods" and tcol:
        sql, chart = _compare_periods(plan, measure, expr, alias, where, dims, tcol, limit)
        return _done(plan, sql, chart, explanation)
    if plan.periods and tcol:
        where.append(plan.periods[0].sql(tcol))
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    keys: list[str] = []
    select: list[str] = []
    if plan.grain and tcol:
        select.append(f"CAST(DATE_TRUNC('{plan.grain}', {ident(tcol)}) AS DATE) AS period")
        keys.append("period")
    for d in dims:
        select.append(ident(d))
        keys.append(ident(d))
    select.append(f"{expr} AS {alias}")
    for other in plan.other_measures:  # "budget vs actual": more measures of the same table, side by side
        om = find_measure(layer, table, other)
        if om is not None and om is not measure:
            select.append(f"{measure_expr(om, plan.aggregation)} AS {alias_of(om.name)}")
    base = f"SELECT {', '.join(select)} FROM {table}{where_sql}"
    if keys:
        base += f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}"
    chart = _chart(plan, dims, alias)
    ranking = plan.ranking
    window_shape = plan.share or plan.running or (comparison is not None and comparison.kind == "previous")
    if not keys:
        if ranking is not None and ranking.n and tcol and not window_shape:
            # "the best day", "top 3 days" without a grain: rank the time column itself
            sql = (
                f"SELECT {ident(tcol)}, {expr} AS {alias} FROM {table}{where_sql} GROUP BY 1 "
                f"ORDER BY 2 {_dir(ranking)} NULLS LAST LIMIT {ranking.n}"
            )
            return _done(plan, sql, {"type": "bar", "x": tcol, "y": alias}, explanation)
        return _done(plan, base, {"type": "number", "y": alias}, explanation)
    dim_keys = [ident(d) for d in dims]
    if window_shape:
        cols = ", ".join(keys)
        extra = []
        if plan.share:
            part = "PARTITION BY period" if "period" in keys and dim_keys else ""
            extra.append(f"{alias} / NULLIF(SUM({alias}) OVER ({part}), 0) AS share")
        if plan.running:
            order = "period" if "period" in keys else f"{alias} DESC"
            part = f"PARTITION BY {', '.join(dim_keys)} " if "period" in keys and dim_keys else ""
            extra.append(f"SUM({alias}) OVER ({part}ORDER BY {order} ROWS UNBOUNDED PRECEDING) AS running_{alias}")
        if comparison is not None and comparison.kind == "previous":
            part = f"PARTITION BY {', '.join(dim_keys)} " if dim_keys else ""
            prev = f"LAG({alias}) OVER ({part}ORDER BY period)"
            extra.append(f"{prev} AS previous_{alias}")
            extra.append(f"{alias} - {prev} AS change")
            extra.append(f"({alias} - {prev}) / NULLIF(ABS({prev}), 0) AS pct_change")
        order_by = ", ".join(keys)
        if ranking is not None and "period" not in keys:
            order_by = f"{alias} {_dir(ranking)} NULLS LAST"
        lim = f" LIMIT {ranking.n}" if ranking is not None and ranking.n else f" LIMIT {limit}"
        if "period" in keys and ranking is None:
            lim = f" LIMIT {max(limit, 1000)}"
        sql = f"WITH g AS ({base}) SELECT {cols}, {alias}, {', '.join(extra)} FROM g ORDER BY {order_by}{lim}"
        return _done(plan, sql, chart, explanation)
    if ranking is not None and ranking.per:
        per = ident(ranking.per)
        if ranking.per not in dims and not (ranking.per == "period" and "period" in keys):
            raise PlanError(
                f"rank within {ranking.per}: group by it too", understood={"understood": plan.understood_list()}
            )
        n = ranking.n or 10
        sql = (
            f"WITH g AS ({base}), r AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY {per} ORDER BY {alias} "
            f"{_dir(ranking)} NULLS LAST) AS rank FROM g) SELECT {', '.join(keys)}, {alias}, rank FROM r "
            f"WHERE rank <= {n} ORDER BY {per}, rank LIMIT {max(limit, 1000)}"
        )
        return _done(plan, sql, chart, explanation)
    if ranking is not None:
        cap = f" LIMIT {ranking.n}" if ranking.n else f" LIMIT {limit}"
        sql = f"{base} ORDER BY {len(keys) + 1} {_dir(ranking)} NULLS LAST{cap}"
        return _done(plan, sql, chart, explanation)
    if "period" in keys:
        sql = f"{base} ORDER BY {', '.join(str(i + 1) for i in range(len(keys)))} LIMIT {max(limit, 1000)}"
    else:
        sql = f"{base} ORDER BY {len(keys) + 1} DESC NULLS LAST LIMIT {limit}"
    return _done(plan, sql, chart, explanation)


def plan_measure(plan: QueryPlan, layer: SemanticLayer) -> Measure:
    """The measure a validated SQL plan reads: the named one, else the row count of its table."""
    if plan.measure is not None:
        found = find_measure(layer, plan.table, plan.measure)
        assert found is not None
        return found
    return next(m for m in layer.measures if m.table == plan.table and m.kind == "count")


def asked_conditions(plan: QueryPlan) -> list[str]:
    """The SQL conditions the question asked for besides its period: its filters and, for "A vs B", the
    compared values (the measure's own ``where`` is not among them)."""
    out = [filter_sql(f) for f in plan.filters]
    c = plan.comparison
    if c is not None and c.kind == "values" and not any(f.column == c.column for f in plan.filters):
        out.append(filter_sql(Filter(c.column or "", "in", list(c.values))))
    return out


def periods_read(plan: QueryPlan) -> list[PeriodSpec]:
    """The periods the compiled SQL reads: both of a comparison of periods, else the first."""
    if plan.comparison is not None and plan.comparison.kind == "periods":
        return plan.periods[:2]
    return plan.periods[:1]


def _compare_periods(
    plan: QueryPlan,
    measure: Measure,
    expr: str,
    alias: str,
    where: list[str],
    dims: list[str],
    tcol: str,
    limit: int,
) -> tuple[str, dict[str, Any]]:
    p1, p2 = plan.periods[0], plan.periods[1]
    a, b = filtered(expr, p1.sql(tcol)), filtered(expr, p2.sql(tcol))
    cond = " AND ".join([*where, f"(({p1.sql(tcol)}) OR ({p2.sql(tcol)}))"])
    l1, l2 = _period_label(p1), _period_label(p2)
    if l1 == l2:
        l2 += "_2"
    cols = f"{a} AS p_{l1}, {b} AS p_{l2}, ({b}) - ({a}) AS change, (({b}) - ({a})) / NULLIF(ABS({a}), 0) AS pct_change"
    if dims:
        keys = ", ".join(ident(d) for d in dims)
        groups = ", ".join(str(i + 1) for i in range(len(dims)))
        order = f"{len(dims) + 3} {_dir(plan.ranking)} NULLS LAST" if plan.ranking else groups
        n = plan.ranking.n if plan.ranking and plan.ranking.n else limit
        sql = f"SELECT {keys}, {cols} FROM {measure.table} WHERE {cond} GROUP BY {groups} ORDER BY {order} LIMIT {n}"
    else:
        sql = f"SELECT {cols} FROM {measure.table} WHERE {cond}"
    return sql, {"type": "bar", "x": dims[0] if dims else None, "y": [f"p_{l1}", f"p_{l2}"]}


def _additive(measure: Measure, aggregation: str) -> bool:
    if aggregation in ("sum", "count"):
        return True
    if aggregation not in ("default", ""):
        return False
    return measure.kind == "count" or measure.expr.upper().startswith(("SUM(", "COUNT("))


def _dir(ranking: Ranking | None) -> str:
    return "ASC" if ranking is not None and ranking.direction == "asc" else "DESC"


def _chart(plan: QueryPlan, dims: list[str], alias: str) -> dict[str, Any]:
    if plan.grain:
        chart: dict[str, Any] = {"type": "line", "x": "period", "y": alias}
        if dims:
            chart["series"] = dims[0]
        return chart
    chart = {"type": "bar", "x": dims[0] if dims else None, "y": alias}
    if len(dims) > 1:
        chart["series"] = dims[1]
    return chart


def _done(plan: QueryPlan, sql: str, chart: dict[str, Any], explanation: str) -> Translation:
    return Translation(
        sql=sql,
        chart=chart,
        explanation=explanation,
        translator=plan.translator,
        understood=plan.understood_list(),
        intent=plan.intent,
        plan=plan.to_dict(),
    )


__all__ = [
    "AGGREGATIONS",
    "FILTER_OPS",
    "GRAIN_NAMES",
    "INTENTS",
    "Comparison",
    "Filter",
    "PeriodSpec",
    "PlanError",
    "QueryPlan",
    "Ranking",
    "Span",
    "Translation",
    "alias_of",
    "asked_conditions",
    "compile_sql",
    "explain",
    "filter_sql",
    "filtered",
    "find_measure",
    "measure_expr",
    "nearest",
    "periods_read",
    "plan_measure",
    "q",
    "validate",
]
