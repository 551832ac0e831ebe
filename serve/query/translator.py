"""The deterministic NL->SQL translator: every word of the question is placed, or the question is refused.

The question is split into words; each span gets a role - period, intent, measure, subject (table),
dimension, filter value, grain, ranking, comparison, aggregation - or is a known filler word. Spans are
placed table by table with that table's vocabulary (``serve.query.linking``); the table that places the
most words wins (values pin their column's table). A content word no table can place is never dropped:
the question is refused (422) with what was understood, the span that was not placed and the nearest
known values. The result is a :class:`~serve.query.plan.QueryPlan`, validated and compiled to SQL by
``serve.query.plan``; non-SQL intents (why / relation / forecast / anomaly / monitor) are answered by
``serve.query.intents``. A few cross-table questions (tickets after releases, hiring vs delivery slip) are
declared joins in ``serve.query.intent_joins``, tried first and answered with their definition stated.
"""

from __future__ import annotations

import re
from typing import Any

from serve.query.errors import CannotAnswerError
from serve.query.intent_joins import join_translation
from serve.query.linking import (
    Vocabulary,
    norm_words,
    vocabulary,
)
from serve.query.periods import Mention, detect, horizon, resolve
from serve.query.plan import (
    Comparison,
    Filter,
    PeriodSpec,
    PlanError,
    QueryPlan,
    Span,
    Translation,
    compile_sql,
    filtered,
    q,
)
from serve.query.reading import Placed, Reading, ReadingStage
from serve.query.refusal import RefusalStage
from serve.query.semantic import Measure, SemanticLayer
from serve.query.shapes import ShapeStage, with_requested_aggregation
from serve.query.vocab import (
    _ANOMALY_RE,
    _ASC,
    _DESC,
    _FORECAST_RE,
    _INTENT_WORDS,
    _MONITOR_RE,
    _RELATION_RE,
    _WHY_RE,
    GROUP_CUES,
)
from serve.query.words import _words, check_question


class DeterministicTranslator(ReadingStage, ShapeStage, RefusalStage):
    """Rules over the semantic layer; raises :class:`CannotAnswerError` saying what it could not place."""

    def __init__(self, layer: SemanticLayer, *, default_limit: int = 100) -> None:
        self.layer = layer
        self.default_limit = default_limit
        self.vocab: Vocabulary = vocabulary(layer)
        self._multi = False  # several series may be named (relation questions)
        self._readings: list[Reading] = []

    # ----------------------------------------------------------------------------- public
    def translate(self, question: str) -> Translation:
        check_question(question)
        joined = join_translation(question, self.layer)  # declared cross-table questions, definition stated
        if joined is not None:
            return joined
        plan = self.plan(question)
        if plan.intent != "sql":
            return Translation(
                sql="",
                chart={"type": plan.intent},
                explanation=_intent_explanation(plan),
                understood=plan.understood_list(),
                intent=plan.intent,
                plan=plan.to_dict(),
            )
        return compile_sql(plan, self.layer, default_limit=self.default_limit)

    def plan(self, question: str) -> QueryPlan:
        check_question(question)
        words, orig = _words(question)
        if not words:
            raise PlanError("the question has no words", hint="ask about a measure, e.g. 'tickets by channel'")
        text = " ".join(words)
        mentions = detect(words)
        for m in mentions:
            if m.kind == "invalid_day":
                raise PlanError(
                    f"'{m.text}' is not a calendar date",
                    hint="check the day and the month (e.g. 2009-02-28), or ask about the month or the year",
                    unplaced=m.text,
                )
        taken: dict[int, tuple[str, Any]] = {}
        next_mention = None
        for m in mentions:
            kind = "horizon" if m.kind == "next" else "period"
            if kind == "horizon":
                next_mention = m
            for i in range(m.first, m.last + 1):
                taken[i] = (kind, m)
        intent = self._intent(text)
        if intent != "sql":
            for i, w in enumerate(words):
                if i in taken or w not in _INTENT_WORDS:
                    continue
                if w in ("lead", "leads"):
                    if intent != "relation" or (
                        i and words[i - 1] in ("does", "do", "the", "of", "new", "many", "our")
                    ):
                        continue
                elif self._is_vocab_word(w):
                    continue
                taken[i] = ("intent", intent)
        self._multi = intent == "relation"
        readings = [self._read(t, words, orig, taken) for t in self.vocab.tables]
        readings = [r for r in readings if r is not None]
        period_mentions = [m for m in mentions if m.kind != "next"]
        for r in readings:
            info = self.layer.tables[r.table]
            lo_t, hi_t = self._range(r.table, r)
            if period_mentions and not info.time_column:
                r.misfit += 1
            elif lo_t and hi_t:
                lo, hi = lo_t[:4], hi_t[:4]
                for m in period_mentions:
                    ys = [a for a in m.args if isinstance(a, str) and a.isdigit() and len(a) == 4]
                    if ys and (max(ys) < lo or min(ys) > hi):
                        r.misfit += 1
        if not readings:
            raise PlanError("I could not relate the question to any table", hint="GET /v1/tables lists the data")
        best = min(readings, key=self._rank)
        self._readings = readings
        self._refuse_tied_tables(best, readings, orig)
        return self._plan(question, words, orig, best, mentions, taken, intent, next_mention)

    # ---------------------------------------------------------------------------- intent
    def _intent(self, text: str) -> str:
        if _WHY_RE.search(text):
            return "why"
        if _ANOMALY_RE.search(text):
            return "anomaly"
        if _FORECAST_RE.search(text) or re.search(r"\bnext (\d+ )?(day|week|month|quarter|year)s?\b", text):
            return "forecast"
        if _MONITOR_RE.search(text):
            return "monitor"
        if _RELATION_RE.search(text):
            return "relation"
        return "sql"

    # ------------------------------------------------------------------------------ plan
    def _plan(
        self,
        question: str,
        words: list[str],
        orig: list[str],
        r: Reading,
        mentions: list[Mention],
        taken: dict[int, tuple[str, Any]],
        intent: str,
        next_mention: Mention | None,
    ) -> QueryPlan:
        table = r.table
        info = self.layer.tables[table]
        tv = self.vocab.tables[table]
        plan = QueryPlan(intent=intent, question=question, table=table)
        spans: list[tuple[int, int, Span]] = []

        def say(first: int, last: int, role: str, value: Any) -> None:
            spans.append((first, last, Span(" ".join(orig[first : last + 1]), role, value)))

        # periods (anchored to this table's data)
        anchor = self._anchor(table, r)
        years = [
            int(m.args[-1]) for m in mentions if m.args and str(m.args[-1]).isdigit() and len(str(m.args[-1])) == 4
        ]
        for m in mentions:
            if m.kind == "next":
                continue
            ctx = next(
                (
                    y
                    for mm in mentions
                    if mm.first > m.first
                    for y in [mm.args[-1]]
                    if str(y).isdigit() and len(str(y)) == 4
                ),
                None,
            )
            start, end, label, note = resolve(m, anchor, int(ctx) if ctx else (years[0] if years else None))
            spec = PeriodSpec(
                start.isoformat() if start else None, end.isoformat() if end else None, label, note, m.text
            )
            plan.periods.append(spec)
            if note:
                plan.notes.append(note)
            say(m.first, m.last, "period", label)
        if next_mention is not None:
            steps, unit = horizon(next_mention)
            plan.horizon = steps
            plan.params["horizon_unit"] = unit
            say(next_mention.first, next_mention.last, "period", f"next {steps} {unit}(s)")
        for i, (kind, _v) in taken.items():
            if kind == "intent":
                say(i, i, "intent", intent)
        if r.unplaced and intent == "relation":
            r = self._partners(r, words, taken, plan, say)
        if r.unplaced and intent == "monitor":
            plan.subject = " ".join(orig[j] for j in r.unplaced)
            say(r.unplaced[0], r.unplaced[-1], "intent", f"subject: {plan.subject}")
            r.unplaced = []
        if r.unplaced:
            self._refuse(question, r, words, orig, spans)

        measures: list[tuple[Placed, Measure]] = []
        values: list[Placed] = []
        dims: list[Placed] = []
        flags: list[Placed] = []
        subject: Placed | None = None
        adjective: Placed | None = None
        for p in r.placed:
            if p.role == "measure":
                measures.append((p, p.value))
            elif p.role == "value":
                values.append(p)
            elif p.role == "dimension":
                dims.append(p)
            elif p.role == "flag":
                flags.append(p)
            elif p.role == "table":
                subject = subject or p
                say(p.first, p.last, "table", table)
            elif p.role == "adjective":
                adjective = p
        # adjectives ('heaviest') name a measure of this table and a direction
        adj_dir = None
        if adjective is not None:
            words_for, adj_dir = adjective.value
            found = None
            for w in words_for:
                hits = [e for e in tv.phrases.get(norm_words(w), []) if e.role == "measure"]
                if hits:
                    found = self._choose(hits)
                    break
            if found is not None and not measures:
                measures.append((adjective, found.target))
            say(adjective.first, adjective.last, "ranking", adj_dir)
        # measure(s)
        seen_m: list[Measure] = []
        for p, meas in measures:
            if meas not in seen_m:
                seen_m.append(meas)
            if p is not adjective:
                say(p.first, p.last, "measure", meas.name)
        sources = [p.value for p in r.placed if p.role == "source"]
        for p in r.placed:
            if p.role == "source":
                say(p.first, p.last, "filter", f"source {p.value}")
        if sources and seen_m and seen_m[0].kind == "series" and not seen_m[0].name.startswith(sources[0] + "."):
            for p, _m in measures:
                alt = next(
                    (
                        e.target
                        for e in p.alts
                        if isinstance(e.target, Measure) and e.target.name.startswith(sources[0] + ".")
                    ),
                    None,
                )
                alt = alt or self._source_series(tv, p, words, sources[0])
                if alt is not None:
                    seen_m[0] = alt
                    break
        primary = seen_m[0] if seen_m else None
        if primary is not None and not sources and intent == "sql":
            placed_at = next((p for p, m in measures if m is primary), None)
            if placed_at is not None:
                self._refuse_duplicate_series(r, placed_at, primary, words, plan)
        if len(seen_m) > 1:
            plan.other_measures = [m.name for m in seen_m[1:]]
        # values -> filters / comparison; a dimension word next to its own value is part of the filter
        by_col: dict[str, list[tuple[Placed, str]]] = {}
        for p in values:
            col, val = p.value
            by_col.setdefault(col, []).append((p, val))
        absorbed: set[int] = set()
        for p in dims:
            for vp in values:
                if vp.value[0] == p.value and (abs(vp.first - p.last) == 1 or abs(p.first - vp.last) == 1):
                    absorbed.add(id(p))
                    say(p.first, p.last, "filler", f"{p.value} (names the filter)")
        negated = {i for i, w in enumerate(words) if w in ("excluding", "except", "not", "without", "non", "exclude")}
        compare_words = {
            i for i, w in enumerate(words) if w in ("vs", "versus", "against", "compared", "compare", "or")
        }
        for col, items in by_col.items():
            vals = []
            neg = False
            for p, val in items:
                if val not in vals:
                    vals.append(val)
                if any(j in negated for j in range(max(0, p.first - 2), p.first)):
                    neg = True
                say(p.first, p.last, "filter", f"{col} = {val}")
            compared = len(vals) >= 2 and any(
                items[0][0].last < j < items[-1][0].first
                for j in compare_words | {i for i, w in enumerate(words) if w == "and"}
            )
            if compared and not neg and intent == "sql":
                plan.comparison = Comparison("values", col, vals)
            else:
                plan.filters.append(
                    Filter(
                        col, "not in" if neg else "in", vals, " ".join(orig[items[0][0].first : items[-1][0].last + 1])
                    )
                )
        for p in flags:
            plan.filters.append(Filter(p.value, "=", [True], " ".join(orig[p.first : p.last + 1])))
            say(p.first, p.last, "filter", f"{p.value} = true")
        # grain, ranking, aggregation, shapes from the generic words
        grain, ranking, rank_unit = self._generic_shapes(words, taken, r, plan, say, adj_dir)
        grouped_any = False
        starts = {p.first: p for p in r.placed}
        cue_from: dict[int, int] = {}
        kept = []
        for p in dims:
            nxt = starts.get(p.last + 1)
            if nxt is not None and (
                nxt.role == "dimension" or (nxt.role == "measure" and nxt.entry and nxt.entry.strength >= 0.9)
            ):
                say(p.first, p.last, "filler", f"{p.value} (qualifies the next word)")
                cue_from[id(nxt)] = cue_from.get(id(p), p.first)
                continue
            kept.append(p)
        dims = kept
        for p in dims:
            if id(p) in absorbed:
                continue
            begin = cue_from.get(id(p), p.first)
            before = words[max(0, begin - 3) : begin]
            prev = before[-1] if before else ""
            cue = prev in GROUP_CUES or (prev == "and" and grouped_any)
            cue = cue or (ranking is not None and (prev.isdigit() or prev in _DESC | _ASC | {"the"}))
            cue = cue or " ".join(before[-2:]) in ("broken down", "split by", "grouped by", "in each", "for each")
            cue = cue or (p.last + 1 < len(words) and words[p.last + 1] in ("breakdown", "split"))
            if not cue:
                say(p.first, p.last, "filler", f"{p.value} (mentioned, not grouped)")
                continue
            grouped_any = True
            if p.value not in plan.dimensions and not (plan.comparison and plan.comparison.column == p.value):
                plan.dimensions.append(p.value)
            say(p.first, p.last, "dimension", p.value)
        # entities ranked ('top 5 movies by revenue', 'the 3 heaviest pokemon'): group by the label
        if (
            ranking is not None
            and subject is not None
            and not plan.dimensions
            and not grain
            and not rank_unit
            and tv.label
        ):
            plan.dimensions.append(tv.label)
        if rank_unit and not grain:
            grain = rank_unit
        if ranking is not None and len(plan.dimensions) >= 2:
            for p in dims:
                before = words[max(0, p.first - 2) : p.first]
                if p.value in plan.dimensions and ("per" in before or "each" in before or "within" in before):
                    ranking.per = p.value
                    plan.dimensions.remove(p.value)
                    plan.dimensions.append(p.value)
                    if ranking.n is None:
                        ranking.n = 1
        if ranking is not None and ranking.n is None and ranking.per is None:
            for p in dims:
                if p.first and words[p.first - 1] in ("which", "what") and not words[p.last].endswith("s"):
                    ranking.n = 1
            if subject is not None and subject.first and words[subject.first - 1] in ("which", "what"):
                ranking.n = 1
        plan.grain = grain
        plan.ranking = ranking
        if ranking is not None and ranking.n is None and not (plan.dimensions or grain or plan.comparison):
            ranking.n = 1
        # "which X has most" with a dimension: one answer
        # measure: named, else a count of rows (subject noun or 'how many'), else refuse
        if primary is None:
            if intent in ("monitor",) or (intent in ("relation", "anomaly", "forecast") and subject is None):
                plan.table = table if subject is not None or values else None
                plan.measure = None
            elif (
                values
                and not subject
                and not re.search(r"\b(how many|number of|count)\b", " ".join(words))
                and any(m.table == table and m.name == "value" for m in self.layer.measures)
            ):  # long format (series, value): the value of the named series
                plan.measure = "value"
                primary = next(m for m in self.layer.measures if m.table == table and m.name == "value")
            elif (
                subject is not None or re.search(r"\b(how many|number of|count)\b", " ".join(words)) or values or flags
            ):
                plan.measure = next(
                    (m.name for m in self.layer.measures if m.table == table and m.kind == "count"), None
                )
            else:
                self._refuse(question, r, words, orig, spans, reason="which measure")
        else:
            plan.measure = primary.name
        if primary is not None:
            plan.aggregation = self._aggregation(words, primary, tv.daily_keyed, plan)
        plan.understood = [s for _a, _b, s in sorted(spans, key=lambda x: (x[0], x[1]))]
        # two periods and a comparison word -> side by side
        if len(plan.periods) >= 2 and intent == "sql" and plan.comparison is None:
            plan.comparison = Comparison("periods")
        if intent == "sql" and plan.periods and len(plan.periods) == 1 and info.time_column is None:
            raise PlanError(
                f"{table} has no time column to filter by period", understood={"understood": plan.understood_list()}
            )
        if intent == "sql":
            self._check_range(plan, info)
        return plan


def _intent_explanation(plan: QueryPlan) -> str:
    what = plan.measure or plan.subject or plan.table or "the lake"
    return {
        "why": f"Why {what} changed: a driver analysis over the dimensions of {plan.table}.",
        "relation": f"How {what} relates to other series: tested correlation findings (correlation is not causation).",
        "forecast": f"Forecast of {what} from gold.forecasts with prediction intervals.",
        "anomaly": f"Anomalies in {what} from gold.anomalies.",
        "monitor": "The KPIs worth monitoring, with their current values.",
    }.get(plan.intent, plan.intent)


__all__ = [
    "CannotAnswerError",
    "DeterministicTranslator",
    "Translation",
    "check_question",
    "filtered",
    "q",
    "with_requested_aggregation",
]
