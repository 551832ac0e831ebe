"""Stage 3 of the translator: shapes from the generic words (grain, ranking, comparison, aggregation),
period anchors and data ranges, partner series of relation questions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from serve.query.linking import (
    ADJECTIVES,
    Vocabulary,
    singular,
)
from serve.query.periods import Anchor
from serve.query.plan import (
    Comparison,
    PlanError,
    QueryPlan,
    Ranking,
)
from serve.query.reading import Reading
from serve.query.semantic import SERIES_VALUES, Measure, SemanticLayer, daily_mean
from serve.query.vocab import (
    _ASC,
    _DESC,
    GRAIN_WORDS,
    UNIT_WORDS,
)
from serve.query.words import _generic


class ShapeStage:
    """Grain, ranking, aggregation and period checks of a plan (mixed into the translator)."""

    layer: SemanticLayer
    vocab: Vocabulary
    default_limit: int
    _multi: bool
    _readings: list[Reading]
    _read: Callable[..., Reading]  # ReadingStage

    def _partners(self, r: Reading, words: list[str], taken: dict, plan: QueryPlan, say: Any) -> Reading:
        """For "how does X relate to Y": measures of other tables for the words this table cannot place."""
        left = set(r.unplaced)
        for table in self.vocab.tables:
            if table == r.table or not left:
                continue
            other = self._read(table, words, [w for w in words], taken)
            for p in other.placed:
                span = set(range(p.first, p.last + 1))
                if (
                    p.role == "measure"
                    and span & left
                    and span <= left | {j for j in span if _generic(words[j], words, j)}
                ):
                    plan.other_measures.append(p.value.name)
                    plan.params.setdefault("other_tables", []).append(table)
                    say(p.first, p.last, "measure", p.value.name)
                    left -= span
        r.unplaced = sorted(left)
        return r

    def _generic_shapes(
        self, words: list[str], taken: dict[int, tuple[str, Any]], r: Reading, plan: QueryPlan, say: Any, adj_dir: Any
    ) -> tuple[str | None, Ranking | None, str | None]:
        covered = {j for p in r.placed for j in range(p.first, p.last + 1)} | set(taken)
        grain = None
        rank_unit = None
        ranking: Ranking | None = None
        text = " ".join(words)
        n = len(words)
        direction = adj_dir
        count_n: int | None = None
        for i, w in enumerate(words):
            if i in covered:
                continue
            nxt = words[i + 1] if i + 1 < n else ""
            prev = words[i - 1] if i else ""
            if w in GRAIN_WORDS:
                if w == "daily" and (prev in ("average", "avg", "mean") or nxt in ("average", "avg", "mean")):
                    say(i, i, "aggregation", "average per day")
                    continue
                grain = GRAIN_WORDS[w]
                say(i, i, "grain", grain)
            elif singular(w) in UNIT_WORDS and (
                prev in ("by", "per", "each", "every", "a") or (i >= 2 and words[i - 2] == "for" and prev == "each")
            ):
                grain = UNIT_WORDS[singular(w)]
                say(i, i, "grain", grain)
            elif singular(w) in UNIT_WORDS and nxt == "over" and i + 2 < n and singular(words[i + 2]) == singular(w):
                grain = UNIT_WORDS[singular(w)]
                plan.comparison = Comparison("previous")
                say(i, i + 2, "comparison", f"{grain} over {grain}")
                covered |= {i + 1, i + 2}
            elif singular(w) in UNIT_WORDS and (
                prev.isdigit() or prev in _DESC | _ASC or (prev in ("the",) and direction)
            ):
                rank_unit = UNIT_WORDS[singular(w)]
                say(i, i, "grain", rank_unit)
            elif singular(w) in UNIT_WORDS and direction is not None:
                rank_unit = UNIT_WORDS[singular(w)]
                if w == singular(w) and count_n is None:
                    count_n = 1
                say(i, i, "grain", rank_unit)
            elif w in _DESC or w in _ASC:
                if w in ("more", "less") and nxt == "than":
                    continue
                direction = "desc" if w in _DESC else "asc"
                if nxt.isdigit() and int(nxt) < 1000:
                    count_n = int(nxt)
                    covered.add(i + 1)
                    say(i, i + 1, "ranking", f"{w} {nxt}")
                elif prev.isdigit() and int(prev) < 1000:
                    count_n = int(prev)
                    say(i - 1, i, "ranking", f"{prev} {w}")
                else:
                    say(i, i, "ranking", w)
            elif w in ("share", "proportion", "percentage", "percent") and (nxt in ("of", "by") or prev in ("as", "a")):
                plan.share = True
                say(i, i, "shape", "share of total")
            elif w in ("running", "cumulative", "cumulated") or (w == "to" and prev == "running"):
                plan.running = True
                say(i, i, "shape", "running total")
            elif w in ("median", "average", "avg", "mean", "maximum", "minimum", "max", "min"):
                say(i, i, "aggregation", w)
            elif w in ("vs", "versus", "compare", "compared", "against"):
                say(i, i, "comparison", w)
            elif w in ("trend", "trends", "evolution", "history", "timeline") or (w == "time" and prev == "over"):
                grain = grain or self._default_grain(r.table)
                say(i, i, "grain", grain)
        for i, w in enumerate(words):
            if i in covered or not w.isdigit():
                continue
            if (
                (i + 1 < n and words[i + 1] in _DESC | _ASC | set(ADJECTIVES))
                or (i and words[i - 1] in ("the",) and direction)
                or (direction is not None and count_n is None and int(w) < 1000)
            ):
                count_n = int(w)
                say(i, i, "ranking", w)
        if direction is not None:
            ranking = Ranking(count_n, direction)
        top_words = re.search(r"\b(top|bottom)\b", text) and not re.search(r"\bthe (top|bottom)\b", text)
        if ranking is not None and count_n is None and top_words:
            ranking.n = 10  # "top campaigns": ten of them
        return grain, ranking, rank_unit

    def _aggregation(self, words: list[str], m: Measure, daily_keyed: bool, plan: QueryPlan) -> str:
        text = " ".join(words)
        if m.kind == "kpi" and not re.fullmatch(r"SUM\(\w+\)", m.expr):
            return "default"
        if re.search(r"\b(average|avg|mean) (daily|per day|a day)\b|\bdaily (average|avg|mean)\b|\bper day\b", text):
            return "avg_daily" if m.time_column else "avg"
        if re.search(r"\bmedian\b", text):
            return "median" if not m.expr.startswith("SUM(") or m.kind == "series" else "default"
        if re.search(r"\b(maximum|max|peak)\b", text) and not plan.dimensions:
            return "max"
        if re.search(r"\b(minimum|min)\b", text) and not plan.dimensions:
            return "min"
        if re.search(r"\b(average|avg|mean)\b", text):
            if m.expr.startswith("SUM(") and m.kind != "count":
                return "avg_daily" if (daily_keyed or m.kind == "series") and m.time_column else "avg"
            return "default"
        return "default"

    def _default_grain(self, table: str) -> str:
        info = self.layer.tables[table]
        if info.min_time and info.max_time:
            days = (date.fromisoformat(str(info.max_time)[:10]) - date.fromisoformat(str(info.min_time)[:10])).days
            if days > 365 * 15:
                return "year"
            if days > 365 * 3:
                return "quarter"
            if days > 120:
                return "month"
            return "day"
        return "month"

    def _anchor(self, table: str, r: Reading) -> Anchor | None:
        info = self.layer.tables[table]
        latest = info.max_time
        step = "day"
        series = next(
            (p.value for p in r.placed if p.role == "measure" and getattr(p.value, "kind", "") == "series"), None
        )
        extra = getattr(self.layer, "series_ranges", {}) or {}
        if series is not None and series.name in extra:
            latest, step = extra[series.name]["max_time"], extra[series.name].get("step", "day")
        elif table == SERIES_VALUES:
            step = "quarter"
        else:
            step = (getattr(self.layer, "steps", {}) or {}).get(table, "day")
        try:
            return Anchor(date.fromisoformat(str(latest)[:10]), step) if latest else None
        except ValueError:
            return None

    def _range(self, table: str, r: Reading | None = None, measure: str | None = None) -> tuple[str | None, str | None]:
        """(first, last) date of the data a reading answers from: the named series' own range, else the table's."""
        info = self.layer.tables[table]
        ranges = self.layer.series_ranges or {}
        names = (
            [measure]
            if measure
            else [getattr(p.value, "name", "") for p in (r.placed if r else []) if p.role == "measure"]
        )
        for name in names:
            if name in ranges:
                return str(ranges[name]["min_time"])[:10], str(ranges[name]["max_time"])[:10]
        if info.min_time and info.max_time:
            return str(info.min_time)[:10], str(info.max_time)[:10]
        return None, None

    def _check_range(self, plan: QueryPlan, info: Any) -> None:
        """A period entirely outside the data is refused, naming the range the data covers."""
        lo, hi = self._range(plan.table or "", measure=plan.measure)
        if not (lo and hi):
            return
        for p in plan.periods:
            if (p.start and p.start > hi) or (p.end and p.end <= lo):
                raise PlanError(
                    f"{plan.table} has no data in {p.label}: it covers {lo} to {hi}",
                    hint=f"ask about a period between {lo} and {hi}",
                    understood={"understood": plan.understood_list()},
                    unplaced=p.span or p.label,
                )


# ---------------------------------------------------------------------------------- compatibility
_AGG_WORDS = {"average": "AVG", "avg": "AVG", "mean": "AVG", "median": "MEDIAN"}
_AGG_RE = re.compile(rf"\b({'|'.join(_AGG_WORDS)})\b")
_SIMPLE_AGG_RE = re.compile(r"^(SUM|AVG|MEDIAN|MIN|MAX)\(([A-Za-z_][A-Za-z0-9_\.\"]*)\)$")


def with_requested_aggregation(measure: Measure, text: str) -> tuple[Measure, str | None]:
    """The measure aggregated as ``text`` asks, for plain ``AGG(column)`` measures (a ratio KPI keeps its
    definition): "average" of an additive measure is the average per day; "median" of an additive measure
    only where there is one row per day (a series)."""
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
