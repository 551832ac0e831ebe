"""The explorer page at ``/`` (self-contained static assets) and its read-only data routes under ``/v1/explorer``.

Every data route needs a viewer token. SQL written here is trusted but still runs through the query service's
guard and locked engine; tables the guard does not expose (uploads, quarantine, documents) are read from the
lake, read-only, by the ``Explorer`` deployment (serve/explorer/deployment.py).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from charts.figures import cross_correlation, plotly_js_path
from serve.auth import Principal, require_role
from serve.query.deployments import unwrap

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"app.js": "text/javascript", "app.css": "text/css", "plotly.min.js": "text/javascript"}
router = APIRouter()
viewer = require_role("viewer")

LATEST_RUN = "(SELECT run_id FROM gold.correlation_runs ORDER BY finished_at DESC LIMIT 1)"
Row = dict[str, Any]


# ------------------------------------------------------------------------------------------ models
class Run(BaseModel):
    run_id: str
    finished_at: Any = None
    series: int | None = None
    pairs: int | None = None
    tested: int | None = None
    significant: int | None = None
    compared_to: str | None = None
    new: int | None = None
    strengthened: int | None = None
    weakened: int | None = None
    vanished: int | None = None


class Overview(BaseModel):
    run: Run | None = Field(None, description="The latest correlation run, if any.")
    findings: list[Row] = Field(description="Findings of the latest run (gold.correlation_findings columns).")
    series: list[Row] = Field(description="Series catalogue: series_id, description, unit, frequency, source, domain.")


class SeriesData(BaseModel):
    id: str
    meta: Row | None = None
    ts: list[str]
    values: list[float | None]


class Ccf(BaseModel):
    lags: list[int]
    r: list[float | None]
    note: str


class Pair(BaseModel):
    a: SeriesData
    b: SeriesData
    aligned_steps: int
    ccf: Ccf
    finding: Row | None = None


class KpiTile(BaseModel):
    metric: str = Field(description="KPI id or series id.")
    label: str = Field(description="Human name.")
    domain: str
    period: str = Field(description="Grain of the comparison: week, month or quarter.")
    period_start: str = Field(description="First day of the latest complete period.")
    value: float | None
    display: str = Field(description="Value with its unit, e.g. '0.77 %' or '$45.72 per customer'.")
    unit: str | None = None
    previous_value: float | None = None
    change_pct: float | None = Field(None, description="Percent change vs the previous period.")
    good: bool | None = Field(None, description="Is the change good? null: direction unknown or no change.")
    direction_source: str | None = Field(None, description="Where 'higher is better' comes from.")


class KpiDomain(BaseModel):
    domain: str
    tiles: list[KpiTile]


class Kpis(BaseModel):
    kind: Literal["kpi", "series", "none"]
    period: str
    domains: list[KpiDomain]
    rows: list[KpiTile] = Field(description="Every tile, all domains.")


class ForecastSeries(BaseModel):
    series_id: str
    description: str | None = None
    unit: str | None = None
    domain: str | None = None
    model: str
    origin: str
    horizon: int
    mase: float | None = None
    baseline_mase: float | None = None


class ForecastList(BaseModel):
    series: list[ForecastSeries]


class ForecastDetail(BaseModel):
    series_id: str
    meta: Row | None = None
    actual: SeriesData
    forecast: list[Row] = Field(description="ts, step, mean, lo80, hi80, lo95, hi95 of the latest origin.")
    model: str | None = None
    origin: str | None = None
    backtests: list[Row] = Field(description="Every candidate model's backtest scores at that origin.")


class Anomalies(BaseModel):
    anomalies: list[Row]
    alerts: list[Row] = Field(description="Cross-source anomaly alerts (gold.anomaly_alerts).")
    correlation_alerts: list[Row] = Field(
        description="Correlation changes of the latest report (gold.correlation_alerts)."
    )
    dq_alerts: list[Row] = Field(description="Failing data-quality checks of the latest DQ run.")


class Quality(BaseModel):
    run_id: str | None
    checked_at: str | None
    tables: list[Row] = Field(description="Per table: pass, warn and fail counts.")
    problems: list[Row] = Field(description="Every warn/fail check with its detail.")


class Uploads(BaseModel):
    uploads: list[Row] = Field(description="bronze.upload_files rows, newest first, profile parsed.")
    quarantine: list[Row] = Field(description="Quarantined upload rows (ops.quarantine, source upload*).")


class Document(BaseModel):
    doc_id: str
    kind: str | None = None
    title: str | None = None
    source_table: str | None = None
    source_version: int | None = None
    indexed_at: str | None = None
    text: str | None = Field(None, description="Full text for uploaded documents and reports.")
    link: str | None = Field(None, description="Explorer page of what the document describes.")


class TableVersion(BaseModel):
    table: str
    description: str | None = None
    version: int | None = None
    versions: list[Row] = Field(description="Recent Delta commits: version, time (UTC ISO), operation, rows added.")
    columns: list[Row] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------ helpers
@router.get("/", include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, f"no such asset {name!r}")
    path = STATIC / name
    if name == "plotly.min.js" and not path.exists():
        path = plotly_js_path()  # the copy bundled with the installed plotly package
    return FileResponse(path, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=3600"})


async def _sql(request: Request, sql: str, max_rows: int = 5000) -> dict[str, Any]:
    """Trusted SQL written here, still run through the query service's guard and locked engine."""
    return unwrap(await request.app.state.ctx.engine.run_sql.remote(sql, max_rows))


async def _rows(request: Request, sql: str, max_rows: int = 5000) -> list[Row]:
    return _records(await _sql(request, sql, max_rows))


def _records(result: dict[str, Any]) -> list[Row]:
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


async def _present(request: Request) -> set[str]:
    health = unwrap(await request.app.state.ctx.engine.call.remote("health", {}))
    return set(health.get("tables", []))


def _explorer(request: Request) -> Any:
    """The ``Explorer`` deployment (its read-only lake reads), passed to the ingress by handle."""
    handle = request.app.state.ctx.extra.get("explorer")
    if handle is None:
        raise HTTPException(501, "this app was built without the Explorer deployment (serve.query.app.build_app)")
    return handle


async def _read(request: Request, table: str, doc_id: str | None = None) -> list[Row]:
    """Rows of a table the guard does not expose (read-only, finished loads only); [] when it has no data."""
    return await _explorer(request).read.remote(table, doc_id)  # type: ignore[no-any-return]


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _day(value: Any) -> str:
    return str(value)[:10] if value is not None else ""


# ------------------------------------------------------------------------------------ correlations
@router.get(
    "/v1/explorer/overview",
    tags=["explorer"],
    response_model=Overview,
    summary="Latest run's findings and the series catalogue",
)
async def overview(request: Request, _: Principal = Depends(viewer)) -> dict[str, Any]:
    present = await _present(request)
    out: dict[str, Any] = {"run": None, "findings": [], "series": []}
    if "gold.series_catalog" in present:
        out["series"] = await _rows(
            request, "SELECT series_id, description, unit, frequency, source, domain FROM gold.series_catalog"
        )
    if {"gold.correlation_runs", "gold.correlation_findings"} <= present:
        runs = await _rows(
            request,
            "SELECT run_id, finished_at, series, pairs, tested, significant, compared_to, new, strengthened, "
            "weakened, vanished FROM gold.correlation_runs ORDER BY finished_at DESC LIMIT 1",
        )
        out["run"] = runs[0] if runs else None
        out["findings"] = await _rows(
            request,
            "SELECT finding_id, a, b, lag, r, r_raw, ci_low, ci_high, n, n_eff, p, q, significant, warnings, "
            "third_series, partial_r_third, partial_r_calendar, granger_p_ab, granger_p_ba, precedence, caveat, "
            f"change, r_previous FROM gold.correlation_findings WHERE run_id = {LATEST_RUN} ORDER BY q",
        )
    request.state.rows = len(out["findings"])
    return out


async def _series(request: Request, series_id: str, limit: int = 100_000) -> dict[str, Any]:
    return unwrap(  # type: ignore[no-any-return]
        await request.app.state.ctx.engine.call.remote(
            "series_values", {"series_id": series_id, "start": None, "end": None, "limit": limit}
        )
    )


def _series_data(series_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": series_id,
        "meta": data.get("meta"),
        "ts": [_day(t) for t, _ in data["rows"]],
        "values": [v for _, v in data["rows"]],
    }


@router.get(
    "/v1/explorer/pair",
    tags=["explorer"],
    response_model=Pair,
    summary="Both series, cross-correlation by lag and the finding",
)
async def pair(
    request: Request,
    a: str,
    b: str,
    max_lag: int = Query(8, ge=0, le=60),
    _: Principal = Depends(viewer),
) -> dict[str, Any]:
    sa, sb = await _series(request, a), await _series(request, b)
    xa = {_day(ts): v for ts, v in sa["rows"]}
    xb = {_day(ts): v for ts, v in sb["rows"]}
    steps = sorted(set(xa) & set(xb))
    x = np.array([np.nan if xa[t] is None else xa[t] for t in steps], dtype=float)
    y = np.array([np.nan if xb[t] is None else xb[t] for t in steps], dtype=float)
    lags, r = cross_correlation(x, y, max_lag) if steps else ([], [])
    finding = None
    if "gold.correlation_findings" in await _present(request):
        rows = await _rows(
            request,
            "SELECT * FROM gold.correlation_findings WHERE run_id = "
            f"{LATEST_RUN} AND ((a = {_q(a)} AND b = {_q(b)}) OR (a = {_q(b)} AND b = {_q(a)}))",
            10,
        )
        finding = rows[0] if rows else None
    return {
        "a": _series_data(a, sa),
        "b": _series_data(b, sb),
        "aligned_steps": len(steps),
        "ccf": {"lags": list(lags), "r": list(r), "note": f"positive lag: {a} leads {b}"},
        "finding": finding,
    }


# -------------------------------------------------------------------------------------------- KPIs
# Series without a declared KPI direction: "higher is better" assumed from words in the id/description.
# Unknown words leave the change uncoloured rather than guess.
_LOWER_IS_BETTER = re.compile(
    r"unemploy|inflation|\bcpi\b|cost|\bcac\b|\bcpc\b|\bcpm\b|churn|attrition|backlog|ticket|failure|defect|"
    r"incident|response[_ ]time|resolution[_ ]time|downtime|\bbugs?\b|open[_ ]issues|expense|debt|latency|"
    r"delay|overtime|absence|turnover|returns?\b",
    re.I,
)
_HIGHER_IS_BETTER = re.compile(
    r"revenue|sales|\bgdp\b|income|profit|margin|signups?|conversions?|deals?[_ ]won|deal[_ ]value|customers|"
    r"satisfaction|csat|\bnps\b|stars|stargazers|retention|orders|uptime|consumption|investment|roas|ctr",
    re.I,
)


def _direction(metric: str, description: str) -> tuple[bool | None, str | None]:
    text = f"{metric} {description}"
    if _LOWER_IS_BETTER.search(text):
        return False, "assumed from the name (lower is better)"
    if _HIGHER_IS_BETTER.search(text):
        return True, "assumed from the name (higher is better)"
    return None, None


def _display(value: float | None, unit: str | None) -> str:
    """The value people read: '0.77 %', '$45.72 per customer', '1,234 customers'."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    u = (unit or "").strip()
    low = u.lower()
    if low.startswith("percent") or u == "%":
        rest = u[len("percent") :].strip() if low.startswith("percent") else ""
        return f"{value:,.2f} %" + (f" {rest}" if rest else "")
    if low == "usd" or low.startswith("usd per "):
        amount = f"${value:,.2f}" if abs(value) < 1000 else f"${value:,.0f}"
        return amount + u[3:]
    number = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{number} {u}".strip()


def _good(change_pct: float | None, higher_is_better: bool | None) -> bool | None:
    if change_pct is None or higher_is_better is None or change_pct == 0:
        return None
    return (change_pct > 0) == higher_is_better


async def _marketing_tiles(request: Request, period: str) -> list[dict[str, Any]]:
    from jobs.kpi.definitions import KPIS

    step = {"week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH", "quarter": "INTERVAL 3 MONTH"}[period]
    rows = await _rows(
        request,
        "SELECT metric, period_start, value, previous_value, previous_change_pct FROM gold.marketing_kpis "
        f"WHERE platform = '*' AND country = '*' AND period = {_q(period)} "
        f"AND days >= date_diff('day', period_start, period_start + {step}) "  # complete periods only
        "QUALIFY row_number() OVER (PARTITION BY metric ORDER BY period_start DESC) = 1 ORDER BY metric",
    )
    tiles = []
    for r in rows:
        kpi = KPIS.get(r["metric"])
        unit = kpi.unit if kpi else None
        better = kpi.higher_is_better if kpi else None
        change = r.get("previous_change_pct")
        tiles.append(
            {
                "metric": r["metric"],
                "label": kpi.name if kpi else r["metric"],
                "domain": "marketing",
                "period": period,
                "period_start": _day(r["period_start"]),
                "value": r["value"],
                "display": _display(r["value"], unit),
                "unit": unit,
                "previous_value": r.get("previous_value"),
                "change_pct": change,
                "good": _good(change, better),
                "direction_source": "KPI definition" if kpi else None,
            }
        )
    return tiles


async def _series_tiles(request: Request, skip_domains: set[str]) -> list[dict[str, Any]]:
    """Per series: the latest complete month (quarter for quarterly series) vs the one before."""
    rows = await _rows(
        request,
        "WITH s AS (SELECT v.series_id, v.ts, v.value, c.description, c.unit, c.domain, c.frequency, c.aggregation, "
        "CASE WHEN c.frequency = 'Q' THEN date_trunc('quarter', v.ts) ELSE date_trunc('month', v.ts) END AS p "
        "FROM gold.series_values v JOIN gold.series_catalog c ON v.series_id = c.series_id WHERE v.value IS NOT NULL), "
        "agg AS (SELECT series_id, p, any_value(description) AS description, any_value(unit) AS unit, "
        "any_value(domain) AS domain, any_value(frequency) AS frequency, "
        "CASE WHEN any_value(aggregation) = 'sum' THEN SUM(value) ELSE AVG(value) END AS value FROM s GROUP BY 1, 2), "
        "last AS (SELECT series_id, MAX(ts) AS max_ts FROM s GROUP BY 1), "
        "done AS (SELECT a.* FROM agg a JOIN last l ON a.series_id = l.series_id WHERE a.frequency IN ('M', 'Q') "
        "OR a.p + INTERVAL 1 MONTH <= l.max_ts + INTERVAL 1 DAY) "
        "SELECT series_id, p, description, unit, domain, frequency, value, lag(value) OVER w AS previous_value "
        "FROM done WINDOW w AS (PARTITION BY series_id ORDER BY p) "
        "QUALIFY row_number() OVER (PARTITION BY series_id ORDER BY p DESC) = 1 ORDER BY domain, series_id",
        20_000,
    )
    tiles = []
    for r in rows:
        domain = r.get("domain") or "other"
        if domain in skip_domains:
            continue
        value, prev = r.get("value"), r.get("previous_value")
        change = (value - prev) / abs(prev) * 100 if prev not in (None, 0) and value is not None else None
        better, source = _direction(r["series_id"], r.get("description") or "")
        tiles.append(
            {
                "metric": r["series_id"],
                "label": r.get("description") or r["series_id"],
                "domain": domain,
                "period": "quarter" if r.get("frequency") == "Q" else "month",
                "period_start": _day(r["p"]),
                "value": value,
                "display": _display(value, r.get("unit")),
                "unit": r.get("unit"),
                "previous_value": prev,
                "change_pct": change,
                "good": _good(change, better),
                "direction_source": source,
            }
        )
    return tiles


@router.get(
    "/v1/explorer/kpis",
    tags=["explorer"],
    response_model=Kpis,
    summary="KPI tiles per domain: latest complete period vs the previous, with units",
)
async def kpis(
    request: Request,
    period: str = Query("month", pattern="^(week|month|quarter)$"),
    _: Principal = Depends(viewer),
) -> dict[str, Any]:
    present = await _present(request)
    tiles: list[dict[str, Any]] = []
    if "gold.marketing_kpis" in present:
        tiles += await _marketing_tiles(request, period)
    if {"gold.series_values", "gold.series_catalog"} <= present:
        # marketing is covered by its KPI table when there is one; other domains by their series
        tiles += await _series_tiles(request, {"marketing"} if tiles else set())
    domains: dict[str, list[dict[str, Any]]] = {}
    for t in tiles:
        domains.setdefault(t["domain"], []).append(t)
    kind = "kpi" if "gold.marketing_kpis" in present else "series" if tiles else "none"
    return {
        "kind": kind,
        "period": period,
        "domains": [{"domain": d, "tiles": ts} for d, ts in domains.items()],
        "rows": tiles,
    }


# --------------------------------------------------------------------------------------- forecasts
@router.get(
    "/v1/explorer/forecasts",
    tags=["explorer"],
    response_model=ForecastList,
    summary="Series with forecasts: model, origin, backtest score vs the best baseline",
)
async def forecasts(request: Request, _: Principal = Depends(viewer)) -> dict[str, Any]:
    present = await _present(request)
    if "gold.forecasts" not in present:
        return {"series": []}
    cat = "gold.series_catalog" in present
    bt = "gold.forecast_backtests" in present
    rows = await _rows(
        request,
        "WITH f AS (SELECT series_id, origin, any_value(model) AS model, COUNT(*) AS horizon FROM gold.forecasts "
        "GROUP BY 1, 2 QUALIFY row_number() OVER (PARTITION BY series_id ORDER BY origin DESC) = 1) "
        "SELECT f.series_id, f.origin, f.model, f.horizon"
        + (", c.description, c.unit, c.domain" if cat else "")
        + (
            ", (SELECT MIN(b.mase) FILTER (WHERE b.winner) FROM gold.forecast_backtests b "
            "WHERE b.series_id = f.series_id AND b.origin = f.origin) AS mase, "
            "(SELECT MIN(b.mase) FROM gold.forecast_backtests b WHERE b.series_id = f.series_id "
            "AND b.origin = f.origin AND b.model IN ('naive', 'seasonal_naive')) AS baseline_mase"
            if bt
            else ""
        )
        + " FROM f"
        + (" LEFT JOIN gold.series_catalog c ON c.series_id = f.series_id" if cat else "")
        + " ORDER BY f.series_id",
    )
    for r in rows:
        r["origin"] = _day(r["origin"])
    request.state.rows = len(rows)
    return {"series": rows}


@router.get(
    "/v1/explorer/forecasts/{series_id}",
    tags=["explorer"],
    response_model=ForecastDetail,
    summary="One series: recent actuals, the latest forecast with 80%/95% intervals, backtests",
)
async def forecast_detail(
    series_id: str, request: Request, history: int = Query(180, ge=7, le=5000), _: Principal = Depends(viewer)
) -> dict[str, Any]:
    present = await _present(request)
    rows = []
    if "gold.forecasts" in present:
        rows = await _rows(
            request,
            "SELECT ts, step, mean, lo80, hi80, lo95, hi95, model, origin FROM gold.forecasts "
            f"WHERE series_id = {_q(series_id)} AND origin = (SELECT MAX(origin) FROM gold.forecasts "
            f"WHERE series_id = {_q(series_id)}) ORDER BY ts",
        )
    if not rows:
        raise HTTPException(404, f"no forecast for series {series_id!r}; GET /v1/explorer/forecasts lists them")
    origin = _day(rows[0]["origin"])
    backtests = []
    if "gold.forecast_backtests" in present:
        backtests = await _rows(
            request,
            "SELECT model, mase, smape, coverage80, coverage95, points, winner FROM gold.forecast_backtests "
            f"WHERE series_id = {_q(series_id)} AND origin = DATE {_q(origin)} ORDER BY mase NULLS LAST",
        )
    actual = await _series(request, series_id)
    data = _series_data(series_id, actual)
    data["ts"], data["values"] = data["ts"][-history:], data["values"][-history:]
    for r in rows:
        r["ts"] = _day(r["ts"])
    return {
        "series_id": series_id,
        "meta": actual.get("meta"),
        "actual": data,
        "forecast": [{k: r[k] for k in ("ts", "step", "mean", "lo80", "hi80", "lo95", "hi95")} for r in rows],
        "model": rows[0]["model"],
        "origin": origin,
        "backtests": backtests,
    }


# ------------------------------------------------------------------------------ anomalies, alerts, DQ
@router.get(
    "/v1/explorer/anomalies",
    tags=["explorer"],
    response_model=Anomalies,
    summary="Recent anomalies, cross-source alerts, correlation alerts and DQ alerts",
)
async def anomalies(
    request: Request, limit: int = Query(200, ge=1, le=5000), _: Principal = Depends(viewer)
) -> dict[str, Any]:
    present = await _present(request)
    out: dict[str, Any] = {"anomalies": [], "alerts": [], "correlation_alerts": [], "dq_alerts": []}
    if "gold.anomalies" in present:
        out["anomalies"] = await _rows(
            request,
            "SELECT series_id, ts, kind, value, expected, score, direction, threshold FROM gold.anomalies "
            f"ORDER BY ts DESC, abs(score) DESC LIMIT {int(limit)}",
        )
    if "gold.anomaly_alerts" in present:
        out["alerts"] = await _rows(
            request,
            "SELECT alert_id, source_series, source_ts, target_series, target_ts, lag_days, expected_lag_days, "
            f"correlation, message FROM gold.anomaly_alerts ORDER BY target_ts DESC LIMIT {int(limit)}",
        )
    if "gold.correlation_alerts" in present:
        out["correlation_alerts"] = await _rows(
            request,
            "SELECT alert_id, finding_id, a, b, change, r, r_previous, q, message, report_id, raised_at "
            "FROM gold.correlation_alerts WHERE report_id = (SELECT report_id FROM gold.correlation_alerts "
            f"ORDER BY raised_at DESC LIMIT 1) ORDER BY q LIMIT {int(limit)}",
        )
    if "gold.dq_results" in present:
        out["dq_alerts"] = await _rows(
            request,
            'SELECT table_name, scope, "check", column_name, value, threshold, status, detail FROM gold.dq_results '
            "WHERE run_id = (SELECT run_id FROM gold.dq_results ORDER BY checked_at DESC LIMIT 1) AND status = 'fail' "
            f"ORDER BY table_name LIMIT {int(limit)}",
        )
    for key in ("anomalies",):
        for r in out[key]:
            r["ts"] = _day(r["ts"])
    for r in out["alerts"]:
        r["source_ts"], r["target_ts"] = _day(r["source_ts"]), _day(r["target_ts"])
    return out


@router.get(
    "/v1/explorer/quality",
    tags=["explorer"],
    response_model=Quality,
    summary="The latest data-quality run: per table and every problem",
)
async def quality(request: Request, _: Principal = Depends(viewer)) -> dict[str, Any]:
    if "gold.dq_results" not in await _present(request):
        return {"run_id": None, "checked_at": None, "tables": [], "problems": []}
    latest = "(SELECT run_id FROM gold.dq_results ORDER BY checked_at DESC LIMIT 1)"
    tables = await _rows(
        request,
        "SELECT table_name, any_value(run_id) AS run_id, MAX(checked_at) AS checked_at, "
        "COUNT(*) FILTER (WHERE status = 'pass') AS pass, COUNT(*) FILTER (WHERE status = 'warn') AS warn, "
        "COUNT(*) FILTER (WHERE status = 'fail') AS fail, MAX(table_version) AS table_version "
        f"FROM gold.dq_results WHERE run_id = {latest} GROUP BY 1 ORDER BY fail DESC, warn DESC, table_name",
    )
    problems = await _rows(
        request,
        'SELECT table_name, scope, "check", column_name, value, threshold, status, detail FROM gold.dq_results '
        f"WHERE run_id = {latest} AND status <> 'pass' ORDER BY status, table_name LIMIT 2000",
    )
    run_id = tables[0]["run_id"] if tables else None
    checked = str(max(t["checked_at"] for t in tables)) if tables else None
    return {"run_id": run_id, "checked_at": checked, "tables": tables, "problems": problems}


# ------------------------------------------------------------------------------------------ uploads
@router.get(
    "/v1/explorer/uploads",
    tags=["explorer"],
    response_model=Uploads,
    summary="Uploaded files with status, column profile and quarantined rows",
)
async def uploads(request: Request, _: Principal = Depends(viewer)) -> dict[str, Any]:
    files = await _read(request, "bronze.upload_files")
    files.sort(key=lambda r: str(r.get("uploaded_at")), reverse=True)
    for f in files:
        for key in ("profile", "schema_check"):
            if isinstance(f.get(key), str):
                with contextlib.suppress(ValueError):
                    f[key] = json.loads(f[key])
        f["uploaded_at"] = str(f.get("uploaded_at") or "")
        quarantined = int(f.get("rows_quarantined") or 0)
        f["status"] = "loaded with problems" if quarantined else "loaded"
    rows = [
        {k: r.get(k) for k in ("source", "entity", "reason", "location", "raw", "quarantined_at", "load_id")}
        for r in await _read(request, "ops.quarantine")
        if str(r.get("source", "")).startswith("upload")
    ]
    for r in rows:
        r["quarantined_at"] = str(r.get("quarantined_at") or "")
        r["raw"] = str(r.get("raw") or "")[:500]
    rows.sort(key=lambda r: str(r["quarantined_at"]), reverse=True)
    return {"uploads": files[:500], "quarantine": rows[:1000]}


# --------------------------------------------------------------------------- citations: docs, tables
@router.get(
    "/v1/explorer/documents/{doc_id:path}",
    tags=["explorer"],
    response_model=Document,
    summary="A cited document: what it is, where it came from, its text when stored",
)
async def document(doc_id: str, request: Request, _: Principal = Depends(viewer)) -> dict[str, Any]:
    meta = await _read(request, "ops.rag_documents", doc_id)
    out: dict[str, Any] = {"doc_id": doc_id}
    if meta:
        m = meta[0]
        out |= {k: m.get(k) for k in ("kind", "title", "source_table", "source_version")}
        out["indexed_at"] = str(m.get("indexed_at") or "")
    if doc_id.startswith("user:"):
        docs = await _read(request, "silver.user_documents", doc_id)
        if docs:
            out |= {"kind": "user", "title": docs[0].get("title"), "text": docs[0].get("text")}
    if len(out) == 1:
        raise HTTPException(404, f"no document {doc_id!r} in the index")
    kind, _sep, ref = doc_id.partition(":")
    if kind == "finding":
        out["link"] = f"#/finding/{ref}"
    elif kind == "table":
        out["link"] = f"#/table/{ref}"
    elif kind in ("series", "forecast", "anomaly") and ref:
        out["link"] = f"#/series/{ref}"
    return out


@router.get(
    "/v1/explorer/tables/{name}",
    tags=["explorer"],
    response_model=TableVersion,
    summary="A table's description, columns and recent versions (cited table versions)",
)
async def table_versions(
    name: str, request: Request, limit: int = Query(20, ge=1, le=200), _: Principal = Depends(viewer)
) -> dict[str, Any]:
    from datetime import UTC, datetime

    tables = unwrap(await request.app.state.ctx.engine.call.remote("tables", {}))
    info = next((t for t in tables if t["table"] == name), None)
    if info is None:
        raise HTTPException(404, f"no table {name!r}; GET /v1/tables lists them")
    versions = []
    for h in await _explorer(request).history.remote(name, limit):
        metrics = h.get("operationMetrics") or {}
        ts = h.get("timestamp")
        versions.append(
            {
                "version": h.get("version"),
                "time": datetime.fromtimestamp(ts / 1000, tz=UTC).isoformat(timespec="seconds")
                if isinstance(ts, int | float)
                else None,
                "operation": h.get("operation"),
                "load": h.get("covary.load_id"),
                "rows_added": metrics.get("num_added_rows", metrics.get("num_target_rows_inserted")),
            }
        )
    return {
        "table": name,
        "description": info.get("description"),
        "version": versions[0]["version"] if versions else None,
        "versions": versions,
        "columns": info.get("columns", []),
    }


__all__ = ["router"]
