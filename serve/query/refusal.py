"""The translator's refusals: what was understood, the span that could not be placed and the nearest
known values (or why the table cannot have it)."""

from __future__ import annotations

import re
from collections.abc import Callable

from serve.query.linking import (
    COUNTRY_NAMES,
    Vocabulary,
    norm_words,
    singular,
)
from serve.query.plan import (
    PlanError,
    QueryPlan,
    Span,
    nearest,
)
from serve.query.reading import Placed, Reading
from serve.query.semantic import SERIES_VALUES, Measure, SemanticLayer
from serve.query.vocab import FILLERS, STRUCTURAL
from serve.query.words import _contiguous, _generic


class RefusalStage:
    """Refusing with what was understood and the nearest known values (mixed into the translator)."""

    layer: SemanticLayer
    vocab: Vocabulary
    default_limit: int
    _multi: bool
    _readings: list[Reading]
    _rank: Callable[[Reading], tuple]  # ReadingStage
    _range: Callable[..., tuple[str | None, str | None]]  # ShapeStage

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
        elsewhere = self._values_elsewhere(r.table, [orig[g[0] : g[-1] + 1] for g in groups])
        if elsewhere and "is a column of" in elsewhere and " value in " not in elsewhere:
            dims = ", ".join(d.column for d in self.layer.dims_of(r.table) if d.values and d.column != "lineage")
            near, about = [], ""  # a column of another table: its values are no nearer than this table's
            hint = f"{elsewhere}; {r.table} can be split by: {dims or 'nothing'}"
        elif elsewhere:
            hint = f"{elsewhere}; {hint}"
        geo = span.lower() in COUNTRY_NAMES or re.search(r"\b(region|country|countries|city|cities)\b", span.lower())
        geo_cols = ("city", "region", "state", "market", "territory")
        if geo and not any("country" in d.column or d.column in geo_cols for d in self.layer.dims_of(r.table)):
            dims = ", ".join(d.column for d in self.layer.dims_of(r.table) if d.values and d.column != "lineage")
            raise PlanError(
                f"{r.table} has no country or region, so {span!r} cannot be placed",
                hint=(f"{elsewhere}; " if elsewhere else "") + f"{r.table} can be split by: {dims or 'nothing'}",
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

    def _values_elsewhere(self, table: str, spans: list[list[str]]) -> str:
        """Where the unplaced words are values of another table ('Northeast' is a region of the campaign
        and customer tables, not of the table the measure is in): said in the refusal's hint."""
        found: dict[str, dict[tuple[str, str], None]] = {}
        for span in spans:
            stems = tuple(singular(w.lower()) for w in span)
            for i in range(len(stems)):
                for j in range(len(stems), i, -1):
                    for other, tv in self.vocab.tables.items():
                        if other == table:
                            continue
                        for e in tv.phrases.get(stems[i:j], []):
                            if e.role == "dimension" and e.strength >= 0.9 and (i, j) == (0, len(stems)):
                                found.setdefault(" ".join(span), {})[(other, f"column {e.target}")] = None
                            if e.role != "value" or e.strength < 0.9:
                                continue
                            col_words = set(norm_words(e.target[0].replace("_", " ")))
                            rest = [w for w in stems[:i] + stems[j:] if w not in FILLERS and w not in STRUCTURAL]
                            if all(w in col_words for w in rest):  # 'Northeast region', not 'support tickets'
                                found.setdefault(" ".join(span[i:j]), {})[(other, e.target[0])] = None
        parts = []
        for text, where in list(found.items())[:3]:
            tables = sorted({t for t, _c in where})
            shown = ", ".join(tables[:4]) + (f" and {len(tables) - 4} more" if len(tables) > 4 else "")
            if all(c.startswith("column ") for _t, c in where):
                parts.append(f"{text!r} is a column of {shown}, not of {table}")
                continue
            cols = sorted({c for _t, c in where if not c.startswith("column ")})
            parts.append(f"{text!r} is a {'/'.join(cols)} value in {shown}, not in {table}")
        return "; ".join(parts)

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
            if around and (set(norm_words(dim.column.replace("_", " "))) | set(dim.synonyms)) & around:
                score += 40  # "Pacific region": the next word names this column
            if around and any(around & set(norm_words(v)) for v in dim.values):
                score += 40  # "LinkedIn ads": the next word is part of this column's values (meta_ads)
            if score > best[0]:
                best = (score, nearest(span, list(dim.values), 8), f"{dim.column} values")
        names = sorted({m.name for m in self.layer.measures if m.table == table})
        mscore = max((fuzz.WRatio(span.lower(), n.lower()) for n in names), default=0)
        if mscore > best[0] + 10 or not best[1]:
            return nearest(span, names, 8), "measures of this table"
        return best[1], best[2]

    def _refuse_tied_tables(self, best: Reading, readings: list[Reading], orig: list[str]) -> None:
        """Two tables that place the same words in the same roles equally well and name no measure (three
        'observations' tables): the answer would be a row count of a table picked by its name - a guess."""
        key = self._rank(best)[:-1]
        shape = [(p.first, p.last, p.role) for p in best.placed]
        if not shape or best.has_measure or best.unplaced:
            return  # a measure in both: the same data at two grains (campaign rows and their daily sums)
        tied = [
            x.table
            for x in readings
            if x.table != best.table
            and self._rank(x)[:-1] == key
            and [(p.first, p.last, p.role) for p in x.placed] == shape
        ]
        if not tied:
            return
        tables = [best.table, *sorted(tied)]
        spans = [" ".join(orig[p.first : p.last + 1]) for p in best.placed]
        described = "; ".join(f"{t} ({self.layer.tables[t].description[:60] or 'no description'})" for t in tables)
        raise PlanError(
            f"{' '.join(spans)!r} fits several tables equally well: {described}",
            hint="say which one: name its source or subject (e.g. '"
            + tables[0].split(".", 1)[1].replace("_", " ")
            + "'), see GET /v1/tables",
            understood={"understood": [], "candidates": tables},
            unplaced=" ".join(spans),
            nearest=tables,
        )

    def _refuse_duplicate_series(
        self, r: Reading, placed: Placed, primary: Measure, words: list[str], plan: QueryPlan
    ) -> None:
        """The same measure from two sources (FRED's and statsmodels' unemployment rate): when the words
        that named the series also name a series of another source, read in the same order, covering the
        periods asked, and no source is named, refuse with both rather than pick one."""
        if primary.kind != "series" or "." not in primary.name:
            return
        tv = self.vocab.tables[r.table]
        run = tuple(
            singular(words[j]) for j in range(placed.first, placed.last + 1) if not _generic(words[j], words, j)
        )
        if not run:
            return
        source = primary.name.split(".", 1)[0]
        chosen = placed.entry.strength if placed.entry else 0.0
        same_words = {
            e.target.name
            for e in placed.alts
            if e.role == "measure" and isinstance(e.target, Measure) and e.strength >= chosen
        }
        others: list[str] = []
        for _bag, m, order in tv.bags:
            if m.kind != "series" or m.name == primary.name or m.name.split(".", 1)[0] == source:
                continue
            if m.name not in same_words and _contiguous(run, order) < len(run):
                continue
            lo, hi = self._range(r.table, measure=m.name)
            if lo and hi and any((p.start and p.start > hi) or (p.end and p.end <= lo) for p in plan.periods):
                continue  # the other source has no data for the period asked
            others.append(m.name)
        ranges = self.layer.series_ranges or {}
        agree = [o for o in others if _same_values(ranges.get(primary.name), ranges.get(o))]
        if agree:
            plan.notes.append(
                f"{primary.name} also exists as {', '.join(sorted(set(agree)))} from another source with the same "
                "values (same dates, count, mean and spread); answered from " + primary.name
            )
        others = [o for o in others if o not in agree]
        if not others:
            return
        names = [primary.name, *sorted(set(others))]
        what = " ".join(run)
        desc = {m.name: m.description for m in self.layer.measures if m.name in names}
        raise PlanError(
            f"{what!r} is held by several sources: " + "; ".join(f"{n} ({desc.get(n, '')})" for n in names),
            hint="say which source (e.g. '" + names[0].split(".", 1)[0] + " " + what + "'), see GET /v1/series",
            understood={"understood": plan.understood_list(), "candidates": names},
            unplaced=what,
            nearest=names,
        )


def _same_values(a: dict | None, b: dict | None) -> bool:
    """Two series' profile fingerprints (range, count of dates, mean, spread) agree: the same data."""
    if not a or not b or a.get("mean") is None or b.get("mean") is None:
        return False
    if (str(a.get("min_time"))[:10], str(a.get("max_time"))[:10], a.get("n")) != (
        str(b.get("min_time"))[:10],
        str(b.get("max_time"))[:10],
        b.get("n"),
    ):
        return False
    scale = max(abs(float(a["mean"])), abs(float(b["mean"])), 1e-12)
    sd_a, sd_b = float(a.get("sd") or 0.0), float(b.get("sd") or 0.0)
    same_mean = abs(float(a["mean"]) - float(b["mean"])) <= 1e-6 * scale
    return same_mean and abs(sd_a - sd_b) <= 1e-6 * max(sd_a, sd_b, 1e-12)
