"""The explorer page at ``/`` (self-contained static assets) and its data routes under ``/v1/explorer``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from charts.figures import cross_correlation, plotly_js_path
from serve.auth import Principal, require_role
from serve.query.deployments import unwrap

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"app.js": "text/javascript", "app.css": "text/css", "plotly.min.js": "text/javascript"}
router = APIRouter()

LATEST_RUN = "(SELECT run_id FROM gold.correlation_runs ORDER BY finished_at DESC LIMIT 1)"


@router.get("/", include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, "no such asset")
    path = STATIC / name
    if name == "plotly.min.js" and not path.exists():
        path = plotly_js_path()  # the copy bundled with the installed plotly package
    return FileResponse(path, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=3600"})


async def _sql(request: Request, sql: str, max_rows: int = 5000) -> dict[str, Any]:
    """Trusted SQL written here, still run through the query service's guard and locked engine."""
    return unwrap(await request.app.state.ctx.engine.run_sql.remote(sql, max_rows))


def _records(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


async def _present(request: Request) -> set[str]:
    health = unwrap(await request.app.state.ctx.engine.call.remote("health", {}))
    return set(health.get("tables", []))


@router.get("/v1/explorer/overview", tags=["explorer"], summary="Latest run's findings with series metadata")
async def overview(request: Request, _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    present = await _present(request)
    out: dict[str, Any] = {"run": None, "findings": [], "series": []}
    if "gold.series_catalog" in present:
        out["series"] = _records(
            await _sql(
                request, "SELECT series_id, description, unit, frequency, source, domain FROM gold.series_catalog"
            )
        )
    if {"gold.correlation_runs", "gold.correlation_findings"} <= present:
        runs = _records(
            await _sql(
                request,
                "SELECT run_id, finished_at, series, pairs, tested, significant, compared_to, new, strengthened, "
                "weakened, vanished FROM gold.correlation_runs ORDER BY finished_at DESC LIMIT 1",
            )
        )
        out["run"] = runs[0] if runs else None
        out["findings"] = _records(
            await _sql(
                request,
                "SELECT finding_id, a, b, lag, r, r_raw, ci_low, ci_high, n, n_eff, p, q, significant, warnings, "
                "third_series, partial_r_third, partial_r_calendar, granger_p_ab, granger_p_ba, precedence, caveat, "
                f"change, r_previous FROM gold.correlation_findings WHERE run_id = {LATEST_RUN} ORDER BY q",
            )
        )
    request.state.rows = len(out["findings"])
    return out


async def _series(request: Request, series_id: str) -> dict[str, Any]:
    return unwrap(
        await request.app.state.ctx.engine.call.remote(
            "series_values", {"series_id": series_id, "start": None, "end": None, "limit": 100_000}
        )
    )


@router.get("/v1/explorer/pair", tags=["explorer"], summary="Both series, cross-correlation by lag and the finding")
async def pair(
    request: Request,
    a: str,
    b: str,
    max_lag: int = Query(8, ge=0, le=60),
    _: Principal = Depends(require_role("viewer")),
) -> dict[str, Any]:
    sa, sb = await _series(request, a), await _series(request, b)
    xa = {str(ts)[:10]: v for ts, v in sa["rows"]}
    xb = {str(ts)[:10]: v for ts, v in sb["rows"]}
    steps = sorted(set(xa) & set(xb))
    x = np.array([np.nan if xa[t] is None else xa[t] for t in steps], dtype=float)
    y = np.array([np.nan if xb[t] is None else xb[t] for t in steps], dtype=float)
    lags, r = cross_correlation(x, y, max_lag) if steps else ([], [])
    finding = None
    if "gold.correlation_findings" in await _present(request):
        rows = _records(
            await _sql(
                request,
                "SELECT * FROM gold.correlation_findings WHERE run_id = "
                f"{LATEST_RUN} AND ((a = {_q(a)} AND b = {_q(b)}) OR (a = {_q(b)} AND b = {_q(a)}))",
                10,
            )
        )
        finding = rows[0] if rows else None
    return {
        "a": {
            "id": a,
            "meta": sa.get("meta"),
            "ts": [str(t)[:10] for t, _ in sa["rows"]],
            "values": [v for _, v in sa["rows"]],
        },
        "b": {
            "id": b,
            "meta": sb.get("meta"),
            "ts": [str(t)[:10] for t, _ in sb["rows"]],
            "values": [v for _, v in sb["rows"]],
        },
        "aligned_steps": len(steps),
        "ccf": {"lags": lags, "r": r, "note": f"positive lag: {a} leads {b}"},
        "finding": finding,
    }


@router.get("/v1/explorer/kpis", tags=["explorer"], summary="KPI dashboard: latest period with changes")
async def kpis(
    request: Request,
    period: str = Query("month", pattern="^(week|month|quarter)$"),
    _: Principal = Depends(require_role("viewer")),
) -> dict[str, Any]:
    present = await _present(request)
    if "gold.marketing_kpis" in present:
        rows = _records(
            await _sql(
                request,
                "SELECT metric, period, period_start, value, previous_value, previous_change_pct, year_ago_change_pct "
                f"FROM gold.marketing_kpis WHERE platform = '*' AND country = '*' AND period = {_q(period)} "
                "QUALIFY row_number() OVER (PARTITION BY metric ORDER BY period_start DESC) = 1 ORDER BY metric",
            )
        )
        return {"kind": "kpi", "period": period, "rows": rows}
    if "gold.series_values" in present:  # no KPI table yet: the latest value of each series vs the one before
        rows = _records(
            await _sql(
                request,
                "SELECT series_id AS metric, ts AS period_start, value, lag(value) OVER w AS previous_value "
                "FROM gold.series_values WINDOW w AS (PARTITION BY series_id ORDER BY ts) "
                "QUALIFY row_number() OVER (PARTITION BY series_id ORDER BY ts DESC) = 1 ORDER BY series_id",
            )
        )
        for r in rows:
            prev, value = r.get("previous_value"), r.get("value")
            r["period"] = "latest"
            r["previous_change_pct"] = (
                (value - prev) / abs(prev) * 100 if prev not in (None, 0) and value is not None else None
            )
        return {"kind": "series", "period": "latest", "rows": rows}
    return {"kind": "none", "period": period, "rows": []}


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


__all__ = ["router"]
