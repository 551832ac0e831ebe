"""Cross-table questions answered by declared joins, each with its definition said in the answer.

The translator reads one table at a time; a few questions need two record tables put side by side
("which features get the most tickets after major releases", "how does hiring affect delivery"). Each
is a :class:`JoinQuestion`: the words that call it, the words it may also contain, and SQL written here
over columns checked against the semantic layer. A question that calls one but says something it cannot
honour (a period, a filter it does not take) is refused naming that word - never answered without it.
Nothing here reads the planted truth: the answers are computed from the records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from serve.query.plan import PlanError, Translation, q
from serve.query.semantic import SemanticLayer
from serve.query.vocab import FILLERS
from serve.query.words import _words

TICKETS, RELEASES = "silver.synth_tickets", "silver.synth_releases"
EMPLOYEES, PROJECTS = "silver.synth_employees", "silver.synth_projects"
DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS = 14, 120
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "fourteen": 14}
_WINDOW_RE = re.compile(r"\b(\d{1,3}|a|one|two|three|four|five|six|ten|fourteen) (day|days|week|weeks)\b")
_YEAR_RE = re.compile(r"\b(20\d\d)\b")


@dataclass(frozen=True)
class JoinQuestion:
    """One cross-table question: ``calls`` must all match; every other word must be in ``allowed``."""

    name: str
    tables: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]
    calls: tuple[re.Pattern[str], ...]
    allowed: frozenset[str]
    build: Callable[[str, SemanticLayer], tuple[str, str, dict[str, Any]]]  # text -> sql, definition, params


def _days(text: str) -> int:
    m = _WINDOW_RE.search(text)
    if not m:
        return DEFAULT_WINDOW_DAYS
    n = int(m[1]) if m[1].isdigit() else _NUMBERS[m[1]]
    days = n * (7 if m[2].startswith("week") else 1)
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise PlanError(
            f"a window of {days} days after a release is out of range",
            hint=f"use 1 to {MAX_WINDOW_DAYS} days (default {DEFAULT_WINDOW_DAYS})",
        )
    return days


def _tickets_after_releases(text: str, layer: SemanticLayer) -> tuple[str, str, dict[str, Any]]:
    days = _days(text)
    kind = "major" if re.search(r"\bmajor\b", text) else "minor" if re.search(r"\bminor\b", text) else None
    year = _YEAR_RE.search(text)
    conds = [
        "r.product = t.product",
        "t.opened_at >= r.release_date",
        f"t.opened_at < r.release_date + INTERVAL {days} DAY",
    ]
    if kind:
        conds.insert(0, f"r.kind = {q(kind)}")
    if year:
        y = int(year[1])
        conds.append(f"r.release_date >= DATE '{y}-01-01' AND r.release_date < DATE '{y + 1}-01-01'")
    sql = (
        "WITH w AS (SELECT t.product, t.feature, EXISTS (SELECT 1 FROM "
        f"{RELEASES} r WHERE {' AND '.join(conds)}) AS after_release FROM {TICKETS} t), "
        "a AS (SELECT product, feature, COUNT(*) FILTER (WHERE after_release) AS tickets_after, "
        "COUNT(*) FILTER (WHERE NOT after_release) AS tickets_other FROM w GROUP BY 1, 2), "
        "s AS (SELECT *, 100.0 * tickets_after / NULLIF(SUM(tickets_after) OVER (PARTITION BY product), 0) "
        "AS share_after_pct, 100.0 * tickets_other / NULLIF(SUM(tickets_other) OVER (PARTITION BY product), 0) "
        "AS share_other_pct FROM a) "
        "SELECT product, feature, tickets_after, share_after_pct, share_other_pct, "
        "share_after_pct / NULLIF(share_other_pct, 0) AS lift FROM s WHERE tickets_after > 0 "
        "ORDER BY lift DESC NULLS LAST, tickets_after DESC"
    )
    which = f"a {kind} release" if kind else "a release"
    span = f" released in {year[1]}" if year else ""
    definition = (
        f"'After {which}' means a ticket opened within {days} days of {which} of the same product{span} "
        f"({RELEASES}.release_date <= {TICKETS}.opened_at < release_date + {days} days"
        + (f", kind = '{kind}'" if kind else "")
        + "). Per product and feature: tickets_after counts those tickets; share_after_pct is the feature's "
        "share of the product's tickets inside those windows, share_other_pct its share outside them, and "
        "lift = share_after_pct / share_other_pct (above 1: the feature draws more tickets after releases "
        "than usual). Sorted by lift. A rise after releases is a timing association, not proof of cause."
    )
    return sql, definition, {"window_days": days, "release_kind": kind, "year": int(year[1]) if year else None}


def _hires_and_slip(text: str, layer: SemanticLayer) -> tuple[str, str, dict[str, Any]]:
    teams = next((d.values for d in layer.dims_of(EMPLOYEES) if d.column == "team"), ())
    named = [t for t in teams if re.search(rf"\b{re.escape(t.lower())}\b", text)]
    where = f" AND team IN ({', '.join(q(t) for t in named)})" if named else ""
    sql = (
        "WITH p AS (SELECT team, CAST(DATE_TRUNC('quarter', planned_end) - INTERVAL 3 MONTH AS DATE) AS quarter, "
        f"AVG(slip_days) AS mean_slip_days_next_quarter, COUNT(*) AS projects_due_next_quarter FROM {PROJECTS} "
        f"WHERE delivered_date IS NOT NULL{where} GROUP BY 1, 2), "
        "h AS (SELECT team, CAST(DATE_TRUNC('quarter', hire_date) AS DATE) AS quarter, COUNT(*) AS hires "
        f"FROM {EMPLOYEES} WHERE TRUE{where} GROUP BY 1, 2) "
        "SELECT p.team, p.quarter, COALESCE(h.hires, 0) AS hires, p.mean_slip_days_next_quarter, "
        "p.projects_due_next_quarter, CORR(COALESCE(h.hires, 0), p.mean_slip_days_next_quarter) "
        "OVER (PARTITION BY p.team) AS team_correlation FROM p LEFT JOIN h USING (team, quarter) ORDER BY 1, 2"
    )
    definition = (
        f"Per team and quarter: hires = people whose {EMPLOYEES}.hire_date falls in the quarter; "
        f"mean_slip_days_next_quarter = the mean slip_days (delivered - planned, days) of the team's delivered "
        f"{PROJECTS} whose planned_end falls in the following quarter; team_correlation = Pearson r of the "
        "two over the team's quarters. Quarters with projects and no hires count 0 hires"
        + (f"; teams: {', '.join(named)}" if named else "")
        + ". Correlation is not causation: it shows whether slips follow hiring, not why."
    )
    return sql, definition, {"teams": named}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMMON = _wordset(
    "which what how do does did is are was were there the a an of in on for by per to me show list give tell "
    "most more top highest biggest largest get gets got have has cause causes caused drive drives driven "
    "trigger triggers generate generates create creates lead leads result results rise spike spikes and or "
    "with our we number count many much affect affects affected impact impacts influence influences "
    "relate relates related relationship between pattern patterns effect effects"
)
JOINS: tuple[JoinQuestion, ...] = (
    JoinQuestion(
        "tickets_after_releases",
        (TICKETS, RELEASES),
        {TICKETS: ("product", "feature", "opened_at"), RELEASES: ("product", "release_date", "kind")},
        (
            re.compile(r"\b(tickets?|support|complaints?|issues?)\b"),
            re.compile(r"\breleases?\b|\blaunch(es)?\b"),
            re.compile(r"\b(after|following|since|post|within)\b"),
        ),
        _COMMON
        | _wordset(
            "ticket tickets support issue issues complaint complaints after following since post within release "
            "releases launch launches major minor product products feature features day days week weeks first "
            "each every new opened raised filed come came"
        ),
        _tickets_after_releases,
    ),
    JoinQuestion(
        "hires_and_project_slip",
        (EMPLOYEES, PROJECTS),
        {EMPLOYEES: ("team", "hire_date"), PROJECTS: ("team", "planned_end", "delivered_date", "slip_days")},
        (
            re.compile(r"\b(hire|hires|hiring|hired|recruiting|recruitment|onboarding|headcount growth)\b"),
            re.compile(
                r"\b(slip|slips|slipped|slippage|delay|delays|delayed|delivery|deliveries|timelines?|deadlines?|late|projects?)\b"
            ),
        ),
        _COMMON
        | _wordset(
            "hire hires hiring hired recruiting recruitment onboarding headcount growth slip slips slipped "
            "slippage delay delays delayed delivery deliveries deliver delivered timeline timelines deadline "
            "deadlines late lateness project projects team teams new people staff employee employees quarter "
            "quarters over time"
        ),
        _hires_and_slip,
    ),
)


def join_translation(question: str, layer: SemanticLayer) -> Translation | None:
    """The answer of the :data:`JOINS` entry ``question`` calls, ``None`` when it calls none, or a refusal
    naming what it said that the join cannot honour (its tables or columns missing, an unplaced word)."""
    words, orig = _words(question)
    text = " ".join(words)
    for jq in JOINS:
        if not all(p.search(text) for p in jq.calls):
            continue
        missing = [t for t in jq.tables if t not in layer.tables or not layer.tables[t].rows]
        if missing:
            raise PlanError(
                f"answering this needs {' and '.join(jq.tables)}; {', '.join(missing)} has no data",
                hint="run `covary demo` (or `covary enterprise`) to produce the record tables",
            )
        for table, cols in jq.columns.items():
            have = {d.column for d in layer.dims_of(table)} | {m.name for m in layer.measures if m.table == table}
            have |= {layer.tables[table].time_column or ""}
            lacking = [c for c in cols if c not in have and not c.endswith(("_at", "_date", "_end"))]
            if lacking:
                raise PlanError(f"{table} lacks {', '.join(lacking)}, so '{jq.name}' cannot be answered")
        sql, definition, params = jq.build(text, layer)
        extra = {str(v).lower() for v in params.get("teams") or []}
        unplaced = [
            orig[i]
            for i, w in enumerate(words)
            if w not in jq.allowed
            and w not in FILLERS
            and w not in extra
            and not w.isdigit()
            and w not in _NUMBERS
            and not _YEAR_RE.fullmatch(w)
        ]
        if _YEAR_RE.search(text) and jq.name != "tickets_after_releases":
            unplaced.append(_YEAR_RE.search(text)[1])  # type: ignore[index]
        if unplaced:
            raise PlanError(
                f"this reads as the cross-table question '{jq.name.replace('_', ' ')}', but I could not place "
                + ", ".join(repr(u) for u in unplaced),
                hint="it is answered as defined: " + definition,
                understood={"understood": [{"text": question, "role": "join", "value": jq.name}]},
                unplaced=unplaced[0],
            )
        plan = {"intent": "sql", "join": jq.name, "tables": list(jq.tables), "params": params, "definition": definition}
        return Translation(
            sql=sql,
            chart={"type": "table"},
            explanation=definition,
            understood=[{"text": question, "role": "join", "value": jq.name}],
            intent="sql",
            plan=plan,
        )
    return None


__all__ = ["JOINS", "JoinQuestion", "join_translation"]
