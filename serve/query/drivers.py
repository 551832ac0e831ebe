"""Driver analysis: why did a measure change between two periods, segment by segment.

The change of a measure between a baseline period and a period of interest is split over the segments of
each dimension of its table (and of pairs of dimensions), so the contributions of one breakdown add up to
the total change:

- additive measures (``SUM(x)``, ``COUNT(*)``): a segment's contribution is its own change;
- levels (``SUM(x) / COUNT(DISTINCT day)``): each segment's total over the period's days, so again the
  segments add up;
- ratios (``scale * SUM(n) / SUM(d)``: conversion rate, ROAS, CAC, CTR ..., and ``AVG(x)`` =
  ``SUM(x) / COUNT(x)``): the ratio is the weighted mean of segment rates ``r_s = n_s / d_s`` with weights
  ``w_s = d_s / d``; the change splits symmetrically (Kitagawa, 1955) into a *rate* effect
  ``(r2 - r1)(w1 + w2) / 2`` per segment (its own rate moved) and a *mix* effect
  ``(w2 - w1)((r1 + r2) / 2 - R)`` (its share of the denominator moved), with ``R`` the mean of the overall
  ratio in the two periods. Because the weights sum to one in both periods, centring on ``R`` leaves the
  total unchanged but signs each segment's mix effect the intuitive way: gaining share at a below-average
  rate pulls the ratio down. A segment with no denominator in one period has no rate there: its whole
  contribution is mix.

The decomposition is arithmetic: it says where the change happened, not why.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations
from typing import Any, Literal

from serve.query.errors import CannotAnswerError
from serve.query.semantic import Measure, ident

MAX_PAIR_VALUES = 60  # dimensions with more values than this are not crossed with others
MAX_DIMS = 6
TOP = 10


@dataclass(frozen=True)
class MeasureForm:
    """How a measure decomposes: ``numerator`` / ``denominator`` are SQL aggregates over the table."""

    kind: Literal["additive", "ratio", "level"]
    numerator: str
    denominator: str | None = None
    scale: float = 1.0


_NUM = r"(\d+(?:\.\d+)?)"
_COL = r"([A-Za-z_][A-Za-z0-9_]*|\"[^\"]+\")"
_RATIO_RE = re.compile(
    rf"^(?:{_NUM}\s*\*\s*)?SUM\({_COL}\)\s*/\s*(?:NULLIF\(\s*)?SUM\({_COL}\)(?:\s*,\s*0\s*\))?$", re.I
)
_LEVEL_RE = re.compile(rf"^SUM\({_COL}\)\s*/\s*NULLIF\(\s*COUNT\(DISTINCT\s+{_COL}\)\s*,\s*0\s*\)$", re.I)
_SUM_RE = re.compile(rf"^SUM\({_COL}\)$", re.I)
_AVG_RE = re.compile(rf"^AVG\({_COL}\)$", re.I)


def measure_form(measure: Measure) -> MeasureForm:
    """The decomposable form of ``measure`` or :class:`CannotAnswerError` (medians, maxima ... do not add up)."""
    expr = " ".join(measure.expr.split())
    if measure.kind == "kpi":
        try:
            from jobs.kpi.definitions import KPIS
            from jobs.kpi.definitions import SOURCE_TABLE as kpi_table

            k = KPIS.get(measure.name)
        except ImportError:  # pragma: no cover - the KPI module ships with covary
            k = None
        if k is not None and measure.table == kpi_table:  # elsewhere (campaign rows) its renamed columns
            if k.denominator is None:
                return MeasureForm("additive", f"SUM({ident(k.numerator)})")
            return MeasureForm("ratio", f"SUM({ident(k.numerator)})", f"SUM({ident(k.denominator)})", k.scale)
    if expr.upper() == "COUNT(*)":
        return MeasureForm("additive", "COUNT(*)")
    if m := _SUM_RE.match(expr):
        return MeasureForm("additive", f"SUM({m[1]})")
    if m := _LEVEL_RE.match(expr):
        return MeasureForm("level", f"SUM({m[1]})", f"COUNT(DISTINCT {m[2]})")
    if m := _RATIO_RE.match(expr):
        return MeasureForm("ratio", f"SUM({m[2]})", f"SUM({m[3]})", float(m[1]) if m[1] else 1.0)
    if m := _AVG_RE.match(expr):
        return MeasureForm("ratio", f"SUM({m[1]})", f"COUNT({m[1]})")
    raise CannotAnswerError(
        f"the change of {measure.name} ({measure.expr}) does not decompose over segments",
        hint="driver analysis works for sums, counts, levels, averages and ratios of sums (rates, ROAS, CAC ...)",
    )


# ----------------------------------------------------------------------------------------- periods
@dataclass(frozen=True)
class Window:
    """A period ``[start, end)`` with a label."""

    start: date
    end: date
    label: str

    def sql(self, column: str) -> str:
        return f"{ident(column)} >= DATE '{self.start.isoformat()}' AND {ident(column)} < DATE '{self.end.isoformat()}'"

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def _months_between(start: date, end: date) -> int | None:
    if start.day != 1 or end.day != 1:
        return None
    n = (end.year - start.year) * 12 + end.month - start.month
    return n if n > 0 else None


def window_label(start: date, end: date) -> str:
    months = _months_between(start, end)
    if months == 12 and start.month == 1:
        return str(start.year)
    if months == 3 and start.month in (1, 4, 7, 10):
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if months == 1:
        return start.strftime("%b %Y")
    if months and months % 12 == 0 and start.month == 1:
        return f"{start.year}-{start.year + months // 12 - 1}"
    return f"{start.isoformat()} to {(end - timedelta(days=1)).isoformat()}"


def previous_window(w: Window) -> Window:
    """The comparable period just before ``w``: the previous year/quarter/month(s), else as many days before."""
    months = _months_between(w.start, w.end)
    if months:
        start = _add_months(w.start, -months)
        return Window(start, w.start, window_label(start, w.start))
    days = (w.end - w.start).days
    start = w.start - timedelta(days=days)
    return Window(start, w.start, window_label(start, w.start))


def latest_complete_month(max_time: date) -> Window:
    """The latest calendar month fully covered by data ending at ``max_time``."""
    nxt = max_time + timedelta(days=1)
    end = date(nxt.year, nxt.month, 1) if nxt.day != 1 else nxt
    start = _add_months(end, -1)
    return Window(start, end, window_label(start, end))


# ------------------------------------------------------------------------------------ decomposition
@dataclass
class Cell:
    """One segment's aggregates in both periods (``d*`` are None for additive measures)."""

    values: dict[str, Any]
    n1: float
    d1: float | None
    n2: float
    d2: float | None


def _f(v: Any) -> float:
    return 0.0 if v is None else float(v)


def decompose(
    cells: list[Cell], form: MeasureForm, total1: tuple[float, float | None], total2: tuple[float, float | None]
) -> tuple[float, float, list[dict[str, Any]]]:
    """(value before, value after, per-segment rows) for one breakdown; the rows' contributions sum to
    ``after - before`` (up to float rounding)."""
    n1, d1 = total1
    n2, d2 = total2
    if form.kind == "additive":
        v1, v2 = n1, n2
        rows = [
            {
                "segment": c.values,
                "before": c.n1,
                "after": c.n2,
                "contribution": c.n2 - c.n1,
                "mix": None,
                "rate": None,
            }
            for c in cells
        ]
        return v1, v2, rows
    if not d1 or not d2:
        which = "baseline" if not d1 else "period of interest"
        raise CannotAnswerError(
            f"the measure is undefined in the {which} (its denominator is zero or there is no data)",
            hint="choose periods with data",
        )
    s = form.scale
    if form.kind == "level":  # segments share the period's day count
        v1, v2 = s * n1 / d1, s * n2 / d2
        rows = [
            {
                "segment": c.values,
                "before": s * c.n1 / d1,
                "after": s * c.n2 / d2,
                "contribution": s * (c.n2 / d2 - c.n1 / d1),
                "mix": None,
                "rate": None,
            }
            for c in cells
        ]
        return v1, v2, rows
    v1, v2 = s * n1 / d1, s * n2 / d2
    centre = (v1 + v2) / 2  # weights moving towards above-average segments raise the ratio, and vice versa
    rows = []
    for c in cells:
        cd1, cd2 = _f(c.d1), _f(c.d2)
        w1, w2 = cd1 / d1, cd2 / d2
        r1 = s * c.n1 / cd1 if cd1 else None
        r2 = s * c.n2 / cd2 if cd2 else None
        contribution = s * (c.n2 / d2 - c.n1 / d1) - (w2 - w1) * centre
        if r1 is not None and r2 is not None:
            rate = (r2 - r1) * (w1 + w2) / 2
            mix = contribution - rate  # = (w2 - w1)((r1 + r2) / 2 - centre), exact by construction
        else:  # the segment has no rate in one period: entering/leaving the mix is all it does
            mix, rate = contribution, 0.0
        rows.append(
            {
                "segment": c.values,
                "before": r1,
                "after": r2,
                "weight_before": w1,
                "weight_after": w2,
                "contribution": contribution,
                "mix": mix,
                "rate": rate,
            }
        )
    return v1, v2, rows


def driver_sql(
    table: str,
    form: MeasureForm,
    dims: list[str],
    sets: list[tuple[str, ...]],
    where: list[str],
    time_column: str,
    before: Window,
    after: Window,
) -> str:
    """One statement: both periods' numerator/denominator for every grouping set (plus the total)."""
    p1, p2 = before.sql(time_column), after.sql(time_column)
    cols = [f"GROUPING({ident(d)}) AS g_{i}" for i, d in enumerate(dims)]
    cols += [ident(d) for d in dims]
    cols += [f"{form.numerator} FILTER (WHERE {p1}) AS n1", f"{form.numerator} FILTER (WHERE {p2}) AS n2"]
    if form.denominator:
        cols += [f"{form.denominator} FILTER (WHERE {p1}) AS d1", f"{form.denominator} FILTER (WHERE {p2}) AS d2"]
    sets_sql = ", ".join("(" + ", ".join(ident(d) for d in s) + ")" for s in [(), *sets])
    cond = " AND ".join([*where, f"(({p1}) OR ({p2}))"])
    return f"SELECT {', '.join(cols)} FROM {table} WHERE {cond} GROUP BY GROUPING SETS ({sets_sql})"


def grouping_sets(dims: list[str], cardinality: dict[str, int]) -> list[tuple[str, ...]]:
    """Each dimension alone, then pairs of the smaller ones (where one cell may drive a change)."""
    singles = [(d,) for d in dims]
    small = [d for d in dims if cardinality.get(d, MAX_PAIR_VALUES + 1) <= MAX_PAIR_VALUES]
    return singles + list(combinations(small, 2))


def _members(row: dict[str, Any], s: tuple[str, ...], dims: list[str]) -> bool:
    """Is ``row`` a cell of grouping set ``s`` (GROUPING() is 0 for the set's columns, 1 for the others)?"""
    return all(row[f"g_{i}"] == (0 if d in s else 1) for i, d in enumerate(dims))


def analyse(
    rows: list[dict[str, Any]], dims: list[str], sets: list[tuple[str, ...]], form: MeasureForm
) -> dict[str, Any]:
    """Turn the grouping-sets result into breakdowns (one per set) with contributions and shares."""
    total = next((r for r in rows if all(r[f"g_{i}"] == 1 for i in range(len(dims)))), None)
    if total is None:
        raise CannotAnswerError("there is no data in either period", hint="check the periods and filters")
    t1 = (_f(total["n1"]), total.get("d1") if form.denominator else None)
    t2 = (_f(total["n2"]), total.get("d2") if form.denominator else None)
    t1 = (t1[0], None if t1[1] is None else float(t1[1]))
    t2 = (t2[0], None if t2[1] is None else float(t2[1]))
    breakdowns: list[dict[str, Any]] = []
    before = after = 0.0
    counts = {s: sum(1 for r in rows if _members(r, s, dims)) for s in sets}
    sets = [  # a pair where one dimension determines the other (campaign -> platform) repeats a single
        s for s in sets if len(s) == 1 or all(counts[s] != counts[(d,)] for d in s if (d,) in counts)
    ]
    for s in sets:
        members = [r for r in rows if _members(r, s, dims)]
        cells = [
            Cell(
                {d: r[d] for d in s},
                _f(r["n1"]),
                _f(r.get("d1")) if form.denominator else None,
                _f(r["n2"]),
                _f(r.get("d2")) if form.denominator else None,
            )
            for r in members
        ]
        before, after, seg = decompose(cells, form, t1, t2)
        breakdowns.append({"dimensions": list(s), "segments": seg})
    if not sets:
        before, after, _ = decompose([], form, t1, t2)
    change = after - before
    for b in breakdowns:
        explained = math.fsum(x["contribution"] for x in b["segments"])
        b["explained"] = explained
        b["residual"] = change - explained
        for x in b["segments"]:
            x["share_of_change"] = x["contribution"] / change if change else None
        if form.kind == "ratio":
            for x in b["segments"]:
                x["weight"] = (x["weight_before"] + x["weight_after"]) / 2
        else:
            size = math.fsum(abs(_f(x["before"])) + abs(_f(x["after"])) for x in b["segments"])
            for x in b["segments"]:
                x["weight"] = (abs(_f(x["before"])) + abs(_f(x["after"]))) / size if size else None
        b["segments"].sort(key=lambda x: -abs(x["contribution"]))
        absolute = math.fsum(abs(x["contribution"]) for x in b["segments"])
        b["concentration"] = abs(b["segments"][0]["contribution"]) / absolute if absolute and b["segments"] else 0.0
    return {"before": before, "after": after, "change": change, "breakdowns": breakdowns}


def _disproportionate(x: dict[str, Any], change: float) -> bool:
    """A driver moves more than its size implies (a segment holding half the base and half the change is
    not one), or moves the mix."""
    if x.get("mix") is not None and abs(x["mix"]) > abs(x.get("rate") or 0.0):
        return True
    share, weight = x.get("share_of_change"), x.get("weight")
    return share is None or weight is None or abs(share) >= 1.2 * weight


def headline(breakdowns: list[dict[str, Any]], change: float) -> list[dict[str, Any]]:
    """The top contributors in the direction of the change; a cell of two dimensions replaces its single-
    dimension parents when it carries at least 75% of the larger parent's contribution."""
    sign = 1.0 if change >= 0 else -1.0
    pool = [
        x
        for b in breakdowns
        for x in b["segments"]
        if (change == 0 or x["contribution"] * sign > 0) and _disproportionate(x, change)
    ]
    seen: set[tuple[float, ...]] = set()
    singles = sorted((x for x in pool if len(x["segment"]) == 1), key=lambda x: -abs(x["contribution"]))
    pairs = sorted((x for x in pool if len(x["segment"]) == 2), key=lambda x: -abs(x["contribution"]))
    out: list[dict[str, Any]] = []
    used: set[tuple[tuple[str, Any], ...]] = set()
    for x in singles:
        key = tuple(sorted(x["segment"].items(), key=lambda kv: kv[0]))
        if key in used:
            continue
        best_pair = next(
            (
                p
                for p in pairs
                if set(key) <= set(p["segment"].items()) and abs(p["contribution"]) >= 0.75 * abs(x["contribution"])
            ),
            None,
        )
        chosen = best_pair or x
        ckey = tuple(sorted(chosen["segment"].items(), key=lambda kv: kv[0]))
        same = tuple(round(_f(chosen.get(k)), 12) for k in ("contribution", "before", "after", "weight"))
        if ckey in used or same in seen:  # the same cells reached another way (campaign vs platform x country)
            continue
        seen.add(same)
        used.add(ckey)
        for item in chosen["segment"].items():  # the pair stands for its single-dimension parents
            used.add((item,))
        out.append(chosen)
        if len(out) >= 5:
            break
    return out


__all__ = [
    "Cell",
    "MeasureForm",
    "Window",
    "analyse",
    "decompose",
    "driver_sql",
    "grouping_sets",
    "headline",
    "latest_complete_month",
    "measure_form",
    "previous_window",
    "window_label",
]
