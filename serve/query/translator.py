"""The deterministic NL->SQL translator: common question shapes over the semantic layer, no LLM."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from rapidfuzz import fuzz

from serve.query.errors import CannotAnswerError
from serve.query.periods import Period, find_periods
from serve.query.semantic import SERIES_VALUES, STOP, Dimension, Measure, SemanticLayer, daily_mean, ident, words

GRAINS = {
    "daily": "day",
    "day": "day",
    "days": "day",
    "weekly": "week",
    "week": "week",
    "weeks": "week",
    "monthly": "month",
    "month": "month",
    "months": "month",
    "quarterly": "quarter",
    "quarter": "quarter",
    "quarters": "quarter",
    "yearly": "year",
    "annual": "year",
    "annually": "year",
    "year": "year",
    "years": "year",
    "decade": "decade",
    "decades": "decade",
}
_GRAIN_RE = re.compile(
    r"\b(?:by|per|each|every|for each|over|across)\s+(day|week|month|quarter|year|decade)s?\b|\b(daily|weekly|monthly|"
    r"quarterly|yearly|annual|annually)\b"
)
_TREND_RE = re.compile(r"\b(trend|trends|over time|evolution|evolve|history|historical|time series|timeline|chart)\b")
_TOP_RE = re.compile(
    r"\b(top|bottom|highest|lowest|largest|smallest|biggest|best|worst|most|least|max(?:imum)?|min(?:imum)?)"
    r"(?:\s+(\d+))?\b"
)
_NUM_RE = re.compile(r"\b(\d+)\s+(?:highest|lowest|largest|smallest|biggest|best|worst|top|bottom)\b")
_COMPARE_RE = re.compile(r"\b(compare|compared|comparison|vs\.?|versus|against|change from|difference between)\b")
_CORR_RE = re.compile(
    r"\b(correlat\w*|move together|moves together|co-?move\w*|related to|relationship with|"
    r"associated with|track\w* with)\b"
)
_DESC = {"top", "highest", "largest", "biggest", "best", "most", "max", "maximum"}
_COUNT_RE = re.compile(r"\b(how many|number of|count of|count)\b")
_TOPDIM_RE = re.compile(r"\b(?:top|bottom|highest|lowest|best|worst)\s+(?:\d+\s+)?([a-z_]+?)s?\s+(?:by|of|for)\b")
_DIM_RE = re.compile(
    r"\b(?:by|per|for each|for every|each|across|broken down by|breakdown by|split by|grouped by)"
    r"\s+([a-z_][a-z0-9_ ]{1,40})"
)


@dataclass
class Translation:
    """A translated question: SQL plus what the answer should look like and a one-line explanation."""

    sql: str
    chart: dict[str, Any]
    explanation: str
    translator: str = "deterministic"
    understood: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "chart": self.chart,
            "explanation": self.explanation,
            "translator": self.translator,
            "understood": self.understood,
        }


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _alias(measure: Measure) -> str:
    return re.sub(r"[^a-z0-9_]", "_", measure.name.rsplit(".", 1)[-1].lower())


class DeterministicTranslator:
    """Rules over the semantic layer; raises :class:`CannotAnswerError` saying what it could not map."""

    def __init__(self, layer: SemanticLayer, *, default_limit: int = 100) -> None:
        self.layer = layer
        self.default_limit = default_limit

    # ----------------------------------------------------------------------------- matching
    def _score(self, measure: Measure, text: str, tokens: set[str]) -> float:
        joined = " ".join(sorted(tokens))
        best = 0.0
        for name in measure.names:
            if not name:
                continue
            if re.search(rf"(?<![a-z0-9_]){re.escape(name)}(?![a-z0-9_])", text):
                own = name in measure.own_names  # the measure's own name beats another's synonym
                best = max(best, 100.0 + len(name) + (0.5 if own else 0.0))  # exact beats fuzzy; longer wins
            elif len(name) > 3:
                clean = " ".join(words(name))
                best = max(
                    best, 0.9 * fuzz.token_set_ratio(clean, joined) + 0.05 * fuzz.token_sort_ratio(clean, joined)
                )
        desc = " ".join(w for w in words(measure.description) if w not in STOP)
        if tokens:
            best = max(best, 0.8 * fuzz.token_set_ratio(desc, joined) + 0.1 * fuzz.token_sort_ratio(desc, joined))
        return best

    def match_measure(
        self, text: str, *, dims: list[str] | None = None, count: bool = False
    ) -> tuple[Measure, float] | None:
        tokens = {w for w in words(text) if w not in STOP and len(w) > 1}
        if not tokens:
            return None
        with_dim = {t for t in self.layer.tables if dims and any(self.match_dimension(d, t) for d in dims)}
        scored = []
        for m in self.layer.measures:
            if count != (m.kind == "count"):
                continue
            score = self._score(m, text, tokens)
            if with_dim:
                score += 15 if m.table in with_dim else -30
            if m.kind == "count" and len(self.layer.keys.get(m.table, ())) != 1:
                score -= 15  # "how many X" counts entities (one-key tables) before observations
            scored.append((score, m))
        scored.sort(key=lambda s: -s[0])
        if not scored or scored[0][0] < 62:
            return None
        return scored[0][1], scored[0][0]

    def match_dimension(self, phrase: str, table: str) -> Dimension | None:
        best: tuple[float, Dimension | None] = (0.0, None)
        for dim in self.layer.dims_of(table):
            for name in dim.names:
                if re.match(rf"{re.escape(name)}(?:e?s)?\b", phrase):
                    return dim
                score = fuzz.partial_ratio(name, phrase.split(" ", maxsplit=1)[0]) if len(name) > 3 else 0
                if score > best[0]:
                    best = (score, dim)
        return best[1] if best[0] >= 90 else None

    def match_filters(self, text: str, table: str, exclude: set[str]) -> list[tuple[Dimension, str]]:
        out = []
        for dim in self.layer.dims_of(table):
            if dim.column in exclude:
                continue
            for value in sorted(dim.values, key=len, reverse=True):
                v = value.lower()
                if len(v) < 2 or v in STOP:
                    continue
                if re.search(rf"(?<![a-z0-9_]){re.escape(v)}(?![a-z0-9_])", text):
                    out.append((dim, value))
                    text = text.replace(v, " ")
                    break
        return out

    # --------------------------------------------------------------------------- translate
    def translate(self, question: str) -> Translation:
        text = " " + re.sub(r"[?!,;:()\"]", " ", question.lower()) + " "
        if _CORR_RE.search(text):
            return self._correlate(text)
        compare = bool(_COMPARE_RE.search(text))

        dim_phrases = [d.group(1).strip() for d in _DIM_RE.finditer(text) if d.group(1).split(" ")[0] not in GRAINS]
        count = bool(_COUNT_RE.search(text))
        stripped = _strip_shapes(find_periods(text, None)[1])
        m = self.match_measure(stripped, dims=dim_phrases, count=count)
        if m is None and count:
            m = self.match_measure(stripped, dims=dim_phrases)
        if m is None:
            known = ", ".join(sorted({x.name for x in self.layer.measures})[:25])
            raise CannotAnswerError(
                "I could not tell which measure the question is about",
                hint=f"name one of the measures, e.g. {known}; or send SQL to /v1/sql",
                understood={"question": question},
            )
        measure, score = m
        measure, agg_word = with_requested_aggregation(measure, text)
        info = self.layer.tables[measure.table]
        anchor = date.fromisoformat(info.max_time[:10]) if info.max_time else None
        periods, text = find_periods(text, anchor)
        tcol = measure.time_column

        grain = _grain(text)
        if grain is None and _TREND_RE.search(text) and tcol:
            grain = _default_grain(info)
        top = _top(text)

        dim = None
        candidates = [m.group(1) for m in _TOPDIM_RE.finditer(text)] + [m.group(1) for m in _DIM_RE.finditer(text)]
        for raw in candidates:
            phrase = raw.strip()
            if phrase.split(" ")[0] in GRAINS:
                continue
            dim = self.match_dimension(phrase, measure.table)
            if dim:
                break
        exclude = {dim.column} if dim else set()
        if measure.kind == "series":
            exclude.add("series_id")
        filters = self.match_filters(text, measure.table, exclude)

        if grain and not tcol:
            raise CannotAnswerError(f"{measure.table} has no time column, so there is no trend to show")
        if (periods or compare) and not tcol:
            raise CannotAnswerError(f"{measure.table} has no time column to filter by period")
        where = [measure.where] if measure.where else []
        where += [f"{ident(d.column)} = {q(v)}" for d, v in filters]
        understood = {
            "measure": measure.name,
            "table": measure.table,
            "score": round(score, 1),
            "dimension": dim.column if dim else None,
            "grain": grain,
            "filters": {d.column: v for d, v in filters},
            "periods": [p.label for p in periods],
            "top": top,
            "compare": compare,
            "aggregation": measure.expr.partition("(")[0],
            "aggregation_asked": agg_word,
        }
        alias = _alias(measure)
        filt_text = "".join(f", {d.column} = {v}" for d, v in filters)

        if compare and len(periods) >= 2 and tcol:
            return self._compare(measure, alias, periods[0], periods[1], dim, where, tcol, understood, filt_text)
        if periods and tcol:
            where.append(periods[0].sql(tcol))
        span = f" ({periods[0].label})" if periods else ""
        where_sql = f" WHERE {' AND '.join(where)}" if where else ""

        if grain and tcol:
            period_expr = f"CAST(DATE_TRUNC('{grain}', {tcol}) AS DATE)"
            if dim:
                sql = (
                    f"SELECT {period_expr} AS period, {ident(dim.column)}, {measure.expr} AS {alias} "
                    f"FROM {measure.table}{where_sql} GROUP BY 1, 2 ORDER BY 1, 2"
                )
                chart = {"type": "line", "x": "period", "y": alias, "series": dim.column}
            elif top:
                n, desc = top
                sql = (
                    f"SELECT {period_expr} AS period, {measure.expr} AS {alias} FROM {measure.table}{where_sql} "
                    f"GROUP BY 1 ORDER BY 2 {'DESC' if desc else 'ASC'} NULLS LAST LIMIT {n}"
                )
                chart = {"type": "bar", "x": "period", "y": alias}
                return Translation(
                    sql,
                    chart,
                    f"The {n} {grain}s with the {'highest' if desc else 'lowest'} "
                    f"{measure.description}{span}{filt_text}.",
                    understood=understood,
                )
            else:
                sql = (
                    f"SELECT {period_expr} AS period, {measure.expr} AS {alias} FROM {measure.table}{where_sql} "
                    f"GROUP BY 1 ORDER BY 1"
                )
                chart = {"type": "line", "x": "period", "y": alias}
            return Translation(
                sql,
                chart,
                f"{measure.description} by {grain}{span}{filt_text}"
                f"{' and ' + dim.column if dim else ''} ({measure.expr}).",
                understood=understood,
            )
        if dim:
            n, desc = top or (self.default_limit, True)
            sql = (
                f"SELECT {ident(dim.column)}, {measure.expr} AS {alias} FROM {measure.table}{where_sql} "
                f"GROUP BY 1 ORDER BY 2 {'DESC' if desc else 'ASC'} NULLS LAST LIMIT {n}"
            )
            chart = {"type": "bar", "x": dim.column, "y": alias}
            lead = f"Top {n} " if top else ""
            return Translation(
                sql,
                chart,
                f"{lead}{measure.description} by {dim.column}{span}{filt_text} ({measure.expr}).",
                understood=understood,
            )
        if top and tcol:
            n, desc = top
            sql = (
                f"SELECT {tcol}, {measure.expr} AS {alias} FROM {measure.table}{where_sql} GROUP BY 1 "
                f"ORDER BY 2 {'DESC' if desc else 'ASC'} NULLS LAST LIMIT {n}"
            )
            chart = {"type": "bar", "x": tcol, "y": alias}
            return Translation(
                sql,
                chart,
                f"The {n} periods with the {'highest' if desc else 'lowest'} {measure.description}{span}{filt_text}.",
                understood=understood,
            )
        sql = f"SELECT {measure.expr} AS {alias} FROM {measure.table}{where_sql}"
        chart = {"type": "number", "y": alias}
        return Translation(
            sql, chart, f"{measure.description}{span}{filt_text} ({measure.expr}).", understood=understood
        )

    def _compare(
        self,
        measure: Measure,
        alias: str,
        p1: Period,
        p2: Period,
        dim: Dimension | None,
        where: list[str],
        tcol: str,
        understood: dict[str, Any],
        filt_text: str,
    ) -> Translation:
        a, b = _filtered(measure.expr, p1.sql(tcol)), _filtered(measure.expr, p2.sql(tcol))
        cond = " AND ".join([*where, f"(({p1.sql(tcol)}) OR ({p2.sql(tcol)}))"])
        l1, l2 = (re.sub(r"[^a-z0-9]+", "_", p.label.lower()).strip("_") for p in (p1, p2))
        if l1 == l2:
            l2 += "_2"
        cols = f"{a} AS p_{l1}, {b} AS p_{l2}, ({b}) - ({a}) AS change"
        if dim:
            sql = (
                f"SELECT {ident(dim.column)}, {cols} FROM {measure.table} WHERE {cond} GROUP BY 1 "
                f"ORDER BY 1 LIMIT {self.default_limit}"
            )
        else:
            sql = f"SELECT {cols} FROM {measure.table} WHERE {cond}"
        chart = {"type": "bar", "x": dim.column if dim else None, "y": [f"p_{l1}", f"p_{l2}"]}
        return Translation(
            sql,
            chart,
            f"{measure.description}{filt_text}: {p1.label} vs {p2.label}"
            f"{' by ' + dim.column if dim else ''}, with the change.",
            understood=understood,
        )

    def _correlate(self, text: str) -> Translation:
        target_text = _CORR_RE.split(text, maxsplit=1)[-1] if _CORR_RE.search(text) else text
        series = [m for m in self.layer.measures if m.kind == "series"]
        m = self.match_measure(target_text) or self.match_measure(text)
        if m is None or m[0].kind != "series":
            raise CannotAnswerError(
                "which series? I could not find the series to correlate with",
                hint="name a series from /v1/series, e.g. " + ", ".join(s.name for s in series[:5]),
            )
        target = m[0].name
        n = (_top(text) or (10, True))[0]
        understood = {"shape": "correlate", "series": target, "top": n}
        if self.layer.findings_table:
            cols = {d.column for d in self.layer.dims_of(self.layer.findings_table)}
            a, b = next(
                (
                    (x, y)
                    for x, y in (("series_a", "series_b"), ("a", "b"), ("series_x", "series_y"), ("left", "right"))
                    if x in cols and y in cols
                ),
                (None, None),
            )
            if a and b:
                table_cols = {c.column for c in self.layer.dims_of(self.layer.findings_table)}
                latest = ""
                if "run_id" in table_cols and "gold.correlation_runs" in self.layer.tables:
                    latest = (
                        " AND run_id = (SELECT run_id FROM gold.correlation_runs ORDER BY finished_at DESC LIMIT 1)"
                    )
                order = "ABS(r) DESC NULLS LAST" if self.layer.findings_has_r else "1"
                sql = (
                    f"SELECT * FROM {self.layer.findings_table} WHERE ({a} = {q(target)} OR {b} = {q(target)}){latest} "
                    f"ORDER BY {order} LIMIT {n}"
                )
                return Translation(
                    sql,
                    {"type": "table"},
                    f"Tested findings involving {target} (see their stats and caveats).",
                    understood=understood,
                )
        sql = (
            "WITH d AS (SELECT series_id, ts, value - LAG(value) OVER (PARTITION BY series_id ORDER BY ts) AS dv "
            f"FROM {SERIES_VALUES}), x AS (SELECT ts, dv FROM d WHERE series_id = {q(target)}) "
            "SELECT d.series_id, CORR(x.dv, d.dv) AS r, COUNT(*) AS n FROM d JOIN x USING (ts) "
            f"WHERE d.series_id <> {q(target)} AND d.dv IS NOT NULL AND x.dv IS NOT NULL "
            f"GROUP BY 1 HAVING COUNT(*) >= 8 ORDER BY ABS(r) DESC NULLS LAST LIMIT {n}"
        )
        return Translation(
            sql,
            {"type": "bar", "x": "series_id", "y": "r"},
            f"Pearson correlation of period-over-period changes with {target} (changes, not levels, to avoid "
            "trend-driven correlation; untested - see /v1/findings for tested results).",
            understood=understood,
        )


_AGG_WORDS = {
    "average": "AVG",
    "avg": "AVG",
    "mean": "AVG",
    "median": "MEDIAN",
}
_AGG_RE = re.compile(rf"\b({'|'.join(_AGG_WORDS)})\b")
_SIMPLE_AGG_RE = re.compile(r"^(SUM|AVG|MEDIAN|MIN|MAX)\(([A-Za-z_][A-Za-z0-9_\.\"]*)\)$")


def with_requested_aggregation(measure: Measure, text: str) -> tuple[Measure, str | None]:
    """The measure aggregated as the question asks, for plain ``AGG(column)`` measures (a ratio KPI such as
    ROAS keeps its definition).

    - "average" of an additive measure (one that sums by default) is the average *per day*:
      ``SUM(x) / COUNT(DISTINCT day)`` — the mean daily total, whatever the number of rows per day
      (a per-row AVG over campaign x country rows would be a different, smaller number);
    - "median" of an additive measure only where there is one row per day (a series); elsewhere the
      default stays (a median of per-row values is not the median day);
    - "median" of an averaged measure (a rate, a level) is the median of its values;
    - "total"/"sum" never turn an averaged measure into a sum, and "maximum"/"minimum" keep meaning the
      top/bottom period (see ``_top``).
    """
    m = _AGG_RE.search(text)
    simple = _SIMPLE_AGG_RE.match(measure.expr.strip())
    if not m or not simple:
        return measure, None
    asked, default, column = _AGG_WORDS[m.group(1)], simple.group(1), simple.group(2)
    if asked == default:
        return measure, m.group(1)
    if default == "SUM" and asked == "AVG":
        if not measure.time_column:
            return measure, None
        return replace(measure, expr=daily_mean(column, measure.time_column)), m.group(1)
    if default == "SUM" and measure.kind != "series":
        return measure, None
    return replace(measure, expr=f"{asked}({column})"), m.group(1)


_AGG_CALL_RE = re.compile(r"\b(SUM|AVG|MEDIAN|MIN|MAX|COUNT)\(([^()]*)\)", re.IGNORECASE)


def _filtered(expr: str, cond: str) -> str:
    """``expr`` with every aggregate call restricted to rows where ``cond`` holds (``FILTER (WHERE ...)``)."""
    return _AGG_CALL_RE.sub(lambda m: f"{m.group(1)}({m.group(2)}) FILTER (WHERE {cond})", expr)


_TOP_GRAIN_RE = re.compile(
    r"\b(?:top|bottom|highest|lowest|largest|smallest|biggest|best|worst)\s+(?:\d+\s+)?"
    r"(day|week|month|quarter|year)s?\b"
)


def _grain(text: str) -> str | None:
    """The grain asked for: "by month" beats an adjective ("average daily X by month" is monthly), then
    "top 3 months", then "daily"/"monthly"."""
    matches = list(_GRAIN_RE.finditer(text))
    by = next((m.group(1) for m in matches if m.group(1)), None)
    if by:
        return GRAINS[by]
    top = _TOP_GRAIN_RE.search(text)
    if top:
        return GRAINS[top.group(1)]
    return GRAINS[matches[0].group(2)] if matches else None


def _strip_shapes(text: str) -> str:
    text = _TOP_RE.sub(" ", text)
    text = _GRAIN_RE.sub(" ", text)
    text = _TREND_RE.sub(" ", text)
    text = _COMPARE_RE.sub(" ", text)
    text = _COUNT_RE.sub(" ", text)
    return re.sub(r"\b(average|avg|mean|sum|total|median)\b", " ", text)


def _top(text: str) -> tuple[int, bool] | None:
    m = _NUM_RE.search(text)
    if m:
        word = text[m.end(1) : m.end()].rsplit(maxsplit=1)[-1]
        return int(m.group(1)), word in _DESC
    m = _TOP_RE.search(text)
    if not m:
        return None
    return (int(m.group(2)) if m.group(2) else (10 if m.group(1) in ("top", "bottom") else 1)), m.group(1) in _DESC


def _default_grain(info: Any) -> str:
    if info.min_time and info.max_time:
        days = (date.fromisoformat(info.max_time[:10]) - date.fromisoformat(info.min_time[:10])).days
        if days > 365 * 15:
            return "year"
        if days > 365 * 3:
            return "quarter"
        if days > 120:
            return "month"
        return "day"
    return "month"


__all__ = ["DeterministicTranslator", "Translation"]
