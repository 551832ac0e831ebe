"""The deterministic NL->SQL translator: every word of the question is placed, or the question is refused.

The question is split into words; each span gets a role - period, intent, measure, subject (table),
dimension, filter value, grain, ranking, comparison, aggregation - or is a known filler word. Spans are
placed table by table with that table's vocabulary (``serve.query.linking``); the table that places the
most words wins (values pin their column's table). A content word no table can place is never dropped:
the question is refused (422) with what was understood, the span that was not placed and the nearest
known values. The result is a :class:`~serve.query.plan.QueryPlan`, validated and compiled to SQL by
``serve.query.plan``; non-SQL intents (why / relation / forecast / anomaly / monitor) are answered by
``serve.query.intents``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from serve.query.errors import CannotAnswerError
from serve.query.linking import (
    ABBREVIATIONS,
    ADJECTIVES,
    COUNTRY_NAMES,
    Entry,
    Vocabulary,
    norm_words,
    singular,
    vocabulary,
)
from serve.query.periods import Anchor, Mention, detect, horizon, resolve
from serve.query.plan import (
    Comparison,
    Filter,
    PeriodSpec,
    PlanError,
    QueryPlan,
    Ranking,
    Span,
    Translation,
    compile_sql,
    filtered,
    nearest,
    q,
)
from serve.query.semantic import SERIES_VALUES, Measure, SemanticLayer, daily_mean
from serve.query.vocab import (
    _ANOMALY_RE,
    _ASC,
    _DESC,
    _FORECAST_RE,
    _FOREIGN,
    _INJECTION_RE,
    _INTENT_WORDS,
    _MONITOR_RE,
    _RELATION_RE,
    _SQL_RE,
    _WHY_RE,
    FILLERS,
    GRAIN_WORDS,
    GROUP_CUES,
    MAX_CHARS,
    STRUCTURAL,
    UNIT_WORDS,
)


@dataclass
class Placed:
    first: int
    last: int
    role: str
    entry: Entry | None = None
    value: Any = None
    alts: list[Entry] = field(default_factory=list)


@dataclass
class Reading:
    """One table's placement of the question's words."""

    table: str
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[int] = field(default_factory=list)
    strength: float = 0.0
    has_measure: bool = False
    misfit: int = 0  # periods the table cannot answer (no time column, or outside its range)
    ambiguous: list[str] = field(default_factory=list)  # series the words fit equally well

    def by_role(self, role: str) -> list[Placed]:
        return [p for p in self.placed if p.role == role]


_TOKEN_RE = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:[&'’][A-Za-z]+)?")


def _words(question: str) -> tuple[list[str], list[str]]:
    """(lower-case words, original words); abbreviations expanded, possessives dropped."""
    text = question
    for abbr, full in ABBREVIATIONS.items():
        if not abbr.isalnum():
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(abbr)}(?![A-Za-z0-9])", f" {full} ", text, flags=re.IGNORECASE)
    lower: list[str] = []
    orig: list[str] = []
    for raw in _TOKEN_RE.findall(text):
        token = raw.replace("’", "'")
        low = token.lower()
        if low.endswith("'s"):
            low, token = low[:-2], token[:-2]
        expansion = ABBREVIATIONS.get(low)
        if expansion and expansion != low:
            for part in expansion.split():
                lower.append(part)
                orig.append(part)
        else:
            lower.append(low)
            orig.append(token)
    return lower, orig


def check_question(question: str) -> None:
    """Refuse input that is not a question about the data: empty, too long, SQL, prompt injection, foreign."""
    text = (question or "").strip()
    if not text:
        raise PlanError("the question is empty", hint="ask about a measure, e.g. 'spend by platform in 2024'")
    if len(text) > MAX_CHARS:
        raise PlanError(
            f"the question is {len(text)} characters long; questions are at most {MAX_CHARS}",
            hint="ask one short question at a time",
        )
    if _SQL_RE.search(text):
        raise PlanError(
            "this looks like SQL, not a question; /v1/query does not run SQL",
            hint="analysts can send SQL to /v1/sql (or `covary sql`); viewers ask in plain words",
        )
    if _INJECTION_RE.search(text):
        raise PlanError(
            "the question contains instructions to the system, not a question about the data",
            hint="ask about a measure in the lake; nothing was run",
        )
    words = re.findall(r"[^\W\d_]+", text.lower())
    foreign = sum(1 for w in words if w in _FOREIGN)
    non_ascii = sum(1 for ch in text if ord(ch) > 127 and ch.isalpha())
    if words and (foreign >= 2 or foreign / len(words) > 0.25 or non_ascii > max(3, len(text) // 8) or "¿" in text):
        raise PlanError(
            "the question is not in English: covary understands one language, English",
            hint="ask in English, e.g. 'support tickets by channel in 2024'",
        )


class DeterministicTranslator:
    """Rules over the semantic layer; raises :class:`CannotAnswerError` saying what it could not place."""

    def __init__(self, layer: SemanticLayer, *, default_limit: int = 100) -> None:
        self.layer = layer
        self.default_limit = default_limit
        self.vocab: Vocabulary = vocabulary(layer)
        self._multi = False  # several series may be named (relation questions)
        self._readings: list[Reading] = []

    # ----------------------------------------------------------------------------- public
    def translate(self, question: str) -> Translation:
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

    _STRONG = frozenset(
        [
            "why",
            "forecast",
            "forecasts",
            "predict",
            "prediction",
            "monitor",
            "affect",
            "affects",
            "impact",
            "impacts",
            "correlate",
            "correlation",
            "correlated",
            "anomaly",
            "anomalies",
            "outlier",
            "outliers",
        ]
    )

    def _is_vocab_word(self, word: str) -> bool:
        """Intent words that are also data words stay data words (strong intent words never do)."""
        if word in self._STRONG:
            return False
        stem = singular(word)
        return any((stem,) in tv.phrases for tv in self.vocab.tables.values())

    # --------------------------------------------------------------------------- reading
    def _read(self, table: str, words: list[str], orig: list[str], taken: dict[int, tuple[str, Any]]) -> Reading:
        tv = self.vocab.tables[table]
        stems = [singular(w) for w in words]
        r = Reading(table)
        i = 0
        n = len(words)
        while i < n:
            if i in taken:
                i += 1
                continue
            hit = None
            for length in range(min(7, n - i), 0, -1):
                span = list(range(i, i + length))
                if any(j in taken for j in span):
                    continue
                phrase = tuple(stems[i : i + length])
                entries = tv.phrases.get(phrase)
                if entries:
                    entries = [e for e in entries if self._case_ok(e, orig[i : i + length], phrase)]
                subject_only = entries and length > 1 and all(e.role == "table" for e in entries)
                if subject_only and any(e.role == "measure" for w in phrase for e in tv.phrases.get((w,), [])):
                    entries = None  # a subject phrase made of measure names ('budget vs actual'): word by word
                if entries:
                    hit = (length, entries)
                    break
                adj = " ".join(words[i : i + length])
                if adj in ADJECTIVES:
                    hit = (length, [Entry("adjective", table, ADJECTIVES[adj], 1.0, phrase)])
                    break
            if hit is None and words[i] not in FILLERS and words[i] not in _DESC | _ASC:
                fz = tv.phrases and self.vocab.fuzzy(table, stems[i])
                if fz:
                    hit = (1, fz)
            if hit is None:
                i += 1
                continue
            length, entries = hit
            cue = i > 0 and words[i - 1] in GROUP_CUES
            entry = self._choose(entries, prefer_dimension=cue)
            placed = Placed(i, i + length - 1, entry.role, entry, entry.target)
            placed.alts = entries
            r.placed.append(placed)
            content = sum(1 for j in range(i, i + length) if not _generic(words[j], words, j))
            r.strength += entry.strength * max(content, 0.5 if entry.role != "source" else 0.0)
            if entry.role == "measure":
                r.has_measure = True
            elif entry.role == "adjective" and self._adjective_measure(table, entry):
                r.has_measure = True
                r.strength += 0.5
            i += length
        covered = {j for p in r.placed for j in range(p.first, p.last + 1)}
        if tv.bags:
            self._bag_match(tv, words, stems, taken, covered, r)
            r.placed.sort(key=lambda p: p.first)
            r.strength = 0.0
            for p in r.placed:
                content = sum(1 for j in range(p.first, p.last + 1) if not _generic(words[j], words, j))
                weight = p.entry.strength if p.entry else 0.7
                r.strength += weight * max(content, 0.5 if p.role != "source" else 0.0)
        for j, w in enumerate(words):
            if j in taken or j in covered:
                continue
            if not _generic(w, words, j):
                r.unplaced.append(j)
        return r

    def _bag_match(
        self, tv: Any, words: list[str], stems: list[str], taken: dict, covered: set[int], r: Reading
    ) -> None:
        """Series named by words of their description in any order ('real investment' for 'Real gross
        private domestic investment'): the most specific series containing every word of a run."""
        runs: list[list[int]] = []
        measure_tokens = {j for p in r.placed if p.role == "measure" for j in range(p.first, p.last + 1)}
        last = -2
        for j, w in enumerate(words):
            free = j not in taken and (j not in covered or j in measure_tokens) and w not in FILLERS
            free = free and w not in STRUCTURAL
            if free and not _generic(w, words, j):
                joined = last == j - 2 and words[j - 1] in ("in", "of", "for", "at")  # "precipitation in Seattle"
                if runs and (last == j - 1 or joined):
                    runs[-1].append(j)
                else:
                    runs.append([j])
                last = j
        for run in runs:
            if all(j in measure_tokens for j in run):
                continue
            if measure_tokens and not any(j in measure_tokens for j in run) and not self._multi:
                continue  # a measure is already named; other words are not a second series
            want = {stems[j] for j in run}
            run_words = tuple(stems[j] for j in run)
            fits = [
                (-_contiguous(run_words, order), len(bag), len(m.description), m.name, m, bag)
                for bag, m, order in tv.bags
                if want <= bag
            ]
            if not fits:
                continue
            fits.sort(key=lambda x: x[:4])
            if len(fits) > 1 and fits[0][:2] == fits[1][:2] and fits[0][5] != fits[1][5]:
                # ambiguous: they differ by words the question does not say (album / single / EP)
                r.ambiguous = [f[3] for f in fits if f[:2] == fits[0][:2]][:6]
                continue
            m = fits[0][4]
            r.placed = [p for p in r.placed if not (p.role == "measure" and p.first >= run[0] and p.last <= run[-1])]
            span = list(range(run[0], run[-1] + 1))
            entry = Entry("measure", tv.table, m, 0.7, tuple(stems[j] for j in span))
            placed = Placed(run[0], run[-1], "measure", entry, m)
            r.placed.append(placed)
            r.strength += 0.7 * sum(1 for j in run if words[j] not in STRUCTURAL)
            r.has_measure = True
            covered.update(run)

    @staticmethod
    def _case_ok(entry: Entry, orig: list[str], phrase: tuple[str, ...]) -> bool:
        """Two-letter values/aliases ('US', 'DE', 'GB') must be written in capitals, so 'us' stays a pronoun."""
        if entry.role == "value" and len(phrase) == 1 and len(phrase[0]) <= 2:
            return orig[0].isupper()
        return True

    def _adjective_measure(self, table: str, entry: Entry) -> Entry | None:
        for w in entry.target[0]:
            hits = [e for e in self.vocab.tables[table].phrases.get(norm_words(w), []) if e.role == "measure"]
            if hits:
                return self._choose(hits)
        return None

    @staticmethod
    def _choose(entries: list[Entry], prefer_dimension: bool = False) -> Entry:
        order = {"value": 0, "measure": 1, "flag": 2, "dimension": 3, "table": 4, "adjective": 5, "source": 6}
        if prefer_dimension and any(e.role == "dimension" for e in entries):
            entries = [e for e in entries if e.role == "dimension"]
        elif any(e.role == "measure" and e.strength >= 0.75 for e in entries):
            entries = [e for e in entries if e.role != "table"]  # 'precipitation' the measure, not the table

        def key(e: Entry) -> tuple:
            m = e.target if e.role == "measure" else None
            kind_rank = 0 if isinstance(m, Measure) and m.kind == "kpi" else 1
            return (-e.strength, order.get(e.role, 9), kind_rank)

        return sorted(entries, key=key)[0]

    def _rank(self, r: Reading) -> tuple:
        has_subject = any(p.role in ("table", "value", "flag") for p in r.placed)
        kpis = sum(1 for p in r.placed if p.role == "measure" and getattr(p.value, "kind", "") == "kpi")
        layer = r.table.split(".", 1)[0]
        return (
            len(r.unplaced) + r.misfit,
            not (r.has_measure or has_subject),
            -round(r.strength, 3),
            not r.has_measure,
            -kpis,
            {"silver": 0, "gold": 2}.get(layer, 3) - (1 if r.table == SERIES_VALUES else 0),
            r.table,
        )

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
                if alt is not None:
                    seen_m[0] = alt
                    break
        primary = seen_m[0] if seen_m else None
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

    def _refuse(
        self, question: str, r: Reading, words: list[str], orig: list[str], spans: list, reason: str | None = None
    ) -> None:
        understood = [s.as_dict() for _a, _b, s in sorted(spans, key=lambda x: x[0])]
        for p in r.placed:
            role = {"value": "filter", "flag": "filter"}.get(p.role, p.role)
            val = p.value.name if isinstance(p.value, Measure) else p.value
            understood.append(
                Span(
                    " ".join(orig[p.first : p.last + 1]), role, val if not isinstance(val, tuple) else list(val)
                ).as_dict()
            )
        if reason:
            names = sorted({m.name for m in self.layer.measures if m.table == r.table})
            raise PlanError(
                f"I could not tell which measure of {r.table} the question is about",
                hint="name one of: " + ", ".join(names[:20]),
                understood={"understood": understood, "table": r.table},
                nearest=names[:10],
            )
        groups: list[list[int]] = []
        for j in r.unplaced:
            if groups and j == groups[-1][-1] + 1:
                groups[-1].append(j)
            else:
                groups.append([j])
        span = " ".join(orig[groups[0][0] : groups[0][-1] + 1])
        all_spans = [" ".join(orig[g[0] : g[-1] + 1]) for g in groups]
        for table, cols in (self.layer.empty_columns or {}).items():
            hit = next(
                (
                    c
                    for c in cols
                    if norm_words(c.replace("_", " ")) == tuple(singular(w.lower()) for w in span.split())
                ),
                None,
            )
            if hit:
                raise PlanError(
                    f"{table}.{hit} has no values in the lake: the source does not provide it",
                    hint=f"{self.layer.tables[table].description}",
                    understood={"understood": understood, "unplaced_all": all_spans},
                    unplaced=span,
                )
        amb = next((x.ambiguous for x in self._readings if x.ambiguous), None) if self._readings else None
        if amb:
            raise PlanError(
                f"{span!r} fits several series equally well: {', '.join(amb)}",
                hint="say which one (use words of its description, see GET /v1/series)",
                understood={"understood": understood, "unplaced_all": all_spans},
                unplaced=span,
                nearest=amb,
            )
        if not r.placed:  # nothing of the question is in any table
            subjects = sorted({t.split(".", 1)[1].replace("synth_", "") for t in self.vocab.tables})
            raise PlanError(
                f"I could not place {', '.join(repr(x) for x in all_spans)}: no table has a measure, dimension or "
                "value of that name",
                hint="the lake has data about: " + ", ".join(subjects[:30]) + " (GET /v1/tables for the columns)",
                understood={"understood": understood, "unplaced_all": all_spans},
                unplaced=span,
            )
        around = {singular(words[j]) for j in (groups[0][0] - 1, groups[0][-1] + 1) if 0 <= j < len(words)}
        near, about = self._nearest_values(r.table, span, around)
        hint = f"{about}: {', '.join(near)}" if near else "GET /v1/tables lists tables, columns and values"
        geo = span.lower() in COUNTRY_NAMES or re.search(r"\b(region|country|countries|city|cities)\b", span.lower())
        if geo and not any("country" in d.column or d.column == "city" for d in self.layer.dims_of(r.table)):
            dims = ", ".join(d.column for d in self.layer.dims_of(r.table) if d.values and d.column != "lineage")
            raise PlanError(
                f"{r.table} has no country or region, so {span!r} cannot be placed",
                hint=f"{r.table} can be split by: {dims or 'nothing'}",
                understood={"understood": understood, "table": r.table, "unplaced_all": all_spans},
                unplaced=span,
            )
        raise PlanError(
            f"I could not place {', '.join(repr(s) for s in all_spans)} in {r.table}"
            + (
                f" (no measure {span!r})"
                if about.startswith("measures")
                else (f" (no {about.split(' ')[0]} {span!r})" if near and about else "")
            ),
            hint=hint,
            understood={"understood": understood, "table": r.table, "unplaced_all": all_spans},
            unplaced=span,
            nearest=near,
        )

    def _nearest_values(self, table: str, span: str, around: set[str] | None = None) -> tuple[list[str], str]:
        """The closest known values (or measure names) to an unplaced span, with what they are."""
        best: tuple[float, list[str], str] = (0.0, [], "")
        from rapidfuzz import fuzz

        for dim in self.layer.dims_of(table):
            if not dim.values or len(dim.values) > 200 or dim.column == "lineage":
                continue
            if table == SERIES_VALUES and dim.column == "series_id":
                continue  # the series are this table's measures
            score = max(fuzz.WRatio(span.lower(), v.lower()) for v in dim.values)
            # a span that reads like a value of this column's kind ("Northeast region" -> a country column)
            low = span.lower()
            if dim.column.lower() in low or any(s in low for s in dim.synonyms):
                score += 30
            if "country" in dim.column and re.search(r"\b(region|area|territory|market|geo|state|nation)\b", low):
                score += 40
            if any(w in dim.description.lower() for w in re.findall(r"[a-z]{4,}", low)):
                score += 20
            if around and any(around & set(norm_words(v)) for v in dim.values):
                score += 40  # "LinkedIn ads": the next word is part of this column's values (meta_ads)
            if score > best[0]:
                best = (score, nearest(span, list(dim.values), 8), f"{dim.column} values")
        names = sorted({m.name for m in self.layer.measures if m.table == table})
        mscore = max((fuzz.WRatio(span.lower(), n.lower()) for n in names), default=0)
        if mscore > best[0] + 10 or not best[1]:
            return nearest(span, names, 8), "measures of this table"
        return best[1], best[2]


def _contiguous(run: tuple[str, ...], order: tuple[str, ...]) -> int:
    """Length of the longest stretch of ``run`` that appears in ``order`` in the same sequence."""
    best = 0
    for i in range(len(run)):
        for j in range(len(order)):
            k = 0
            while i + k < len(run) and j + k < len(order) and run[i + k] == order[j + k]:
                k += 1
            best = max(best, k)
    return best


def _generic(word: str, words: list[str], i: int) -> bool:
    """Words that need no data link: fillers, structure, shapes, numbers used by rankings."""
    if word in FILLERS or word in STRUCTURAL or word in _DESC or word in _ASC:
        return True
    if word in GRAIN_WORDS or singular(word) in UNIT_WORDS:
        return True
    if word in (
        "top",
        "bottom",
        "share",
        "proportion",
        "percentage",
        "percent",
        "running",
        "cumulative",
        "cumulated",
        "median",
        "trend",
        "trends",
        "evolution",
        "history",
        "timeline",
        "vs",
        "versus",
        "compare",
        "compared",
        "excluding",
        "except",
        "not",
        "without",
        "non",
        "exclude",
        "over",
        "previous",
        "change",
        "growth",
        "difference",
        "changes",
    ):
        return True
    if word.isdigit() and len(word) <= 3:
        return True
    return word in ADJECTIVES


def _intent_explanation(plan: QueryPlan) -> str:
    what = plan.measure or plan.subject or plan.table or "the lake"
    return {
        "why": f"Why {what} changed: a driver analysis over the dimensions of {plan.table}.",
        "relation": f"How {what} relates to other series: tested correlation findings (correlation is not causation).",
        "forecast": f"Forecast of {what} from gold.forecasts with prediction intervals.",
        "anomaly": f"Anomalies in {what} from gold.anomalies.",
        "monitor": "The KPIs worth monitoring, with their current values.",
    }.get(plan.intent, plan.intent)


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


__all__ = [
    "CannotAnswerError",
    "DeterministicTranslator",
    "Translation",
    "check_question",
    "filtered",
    "q",
    "with_requested_aggregation",
]
