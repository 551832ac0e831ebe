"""The /v1 routes of the query service (FastAPI router; handles live on ``request.app.state.ctx``)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, Field

from serve.auth import Principal, require_role
from serve.guard.policy import query_hash
from serve.query.deployments import unwrap
from serve.query.errors import UploadUnavailableError

router = APIRouter(prefix="/v1")


class QueryRequest(BaseModel):
    question: str = Field(..., min_length=2, max_length=2000, examples=["average unemployment rate by year since 2000"])
    max_rows: int | None = Field(None, ge=1, le=100_000)


class SqlRequest(BaseModel):
    sql: str = Field(
        ..., min_length=1, max_length=20_000, examples=["SELECT series_id, COUNT(*) FROM gold.series_values GROUP BY 1"]
    )
    max_rows: int | None = Field(None, ge=1, le=100_000)


class QueryResponse(BaseModel):
    question: str | None = None
    sql: str
    columns: list[str]
    types: list[str] = []
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    chart: dict[str, Any] | None = None
    explanation: str | None = None
    translator: str | None = None
    query_hash: str
    elapsed_ms: float


def ctx(request: Request) -> Any:
    return request.app.state.ctx


def _mark(request: Request, *, qhash: str | None = None, rows: int | None = None) -> None:
    if qhash is not None:
        request.state.query_hash = qhash
    if rows is not None:
        request.state.rows = rows


@router.get("/healthz", tags=["health"], summary="Liveness probe (no token, no details)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health", tags=["health"], summary="Health details (token required)")
async def health(request: Request, _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    c = ctx(request)
    engine = unwrap(await c.engine.call.remote("health", {}))
    audit = await c.audit.stats.remote() if c.audit is not None else None
    return {"status": "ok", "engine": engine, "audit": audit, "uptime_s": round(time.time() - c.started, 1)}


@router.post("/query", tags=["query"], response_model=QueryResponse, summary="Ask a question in plain language")
async def query(body: QueryRequest, request: Request, _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    c = ctx(request)
    _mark(request, qhash=query_hash(body.question))
    started = time.perf_counter()
    translation = unwrap(await c.translator.translate.remote(body.question))
    result = unwrap(await c.engine.run_sql.remote(translation.sql, body.max_rows))
    _mark(request, rows=result["row_count"])
    return {
        "question": body.question,
        **translation.as_dict(),
        **result,
        "query_hash": query_hash(body.question),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
    }


@router.post("/sql", tags=["query"], response_model=QueryResponse, summary="Run one read-only SELECT (analyst)")
async def sql(body: SqlRequest, request: Request, _: Principal = Depends(require_role("analyst"))) -> dict[str, Any]:
    c = ctx(request)
    _mark(request, qhash=query_hash(body.sql))
    result = unwrap(await c.engine.run_sql.remote(body.sql, body.max_rows))
    _mark(request, rows=result["row_count"])
    return result


@router.get("/tables", tags=["catalog"], summary="Data dictionary: every table and column with descriptions")
async def tables(request: Request, _: Principal = Depends(require_role("viewer"))) -> list[dict[str, Any]]:
    out = unwrap(await ctx(request).engine.call.remote("tables", {}))
    _mark(request, rows=len(out))
    return out


@router.get("/tables/{name}", tags=["catalog"], summary="One table of the data dictionary")
async def table(name: str, request: Request, _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    for t in unwrap(await ctx(request).engine.call.remote("tables", {})):
        if t["table"] == name:
            return t
    raise HTTPException(404, f"no table {name!r}; GET /v1/tables lists them")


@router.get("/series", tags=["series"], summary="Series catalogue (filter by domain or text)")
async def series(
    request: Request,
    domain: str | None = None,
    search: str | None = Query(None, alias="q"),
    limit: int = Query(200, ge=1, le=5000),
    _: Principal = Depends(require_role("viewer")),
) -> dict:
    out = unwrap(
        await ctx(request).engine.call.remote("series_list", {"domain": domain, "search": search, "limit": limit})
    )
    _mark(request, rows=out["row_count"])
    return out


@router.get("/series/{series_id}", tags=["series"], summary="Values of one series")
async def series_values(
    series_id: str,
    request: Request,
    start: str | None = None,
    end: str | None = None,
    limit: int = Query(5000, ge=1, le=100_000),
    _: Principal = Depends(require_role("viewer")),
) -> dict:
    out = unwrap(
        await ctx(request).engine.call.remote(
            "series_values", {"series_id": series_id, "start": start, "end": end, "limit": limit}
        )
    )
    _mark(request, rows=out["row_count"])
    return out


@router.get("/findings", tags=["findings"], summary="Correlation findings with stats (filter by any column)")
async def findings(
    request: Request,
    series: str | None = None,
    state: str | None = None,
    min_abs_r: float | None = None,
    limit: int = Query(100, ge=1, le=5000),
    _: Principal = Depends(require_role("viewer")),
) -> dict:
    filters = {"series": series, "state": state, "min_abs_r": min_abs_r}
    out = unwrap(await ctx(request).engine.call.remote("findings", {"filters": filters, "limit": limit}))
    _mark(request, rows=out["row_count"])
    return out


@router.get("/findings/{finding_id}", tags=["findings"], summary="One finding with its stats and caveats")
async def finding(finding_id: str, request: Request, _: Principal = Depends(require_role("viewer"))) -> dict:
    return unwrap(await ctx(request).engine.call.remote("finding", {"finding_id": finding_id}))


@router.get("/kpi", tags=["kpi"], summary="KPI and series definitions")
async def kpis(request: Request, _: Principal = Depends(require_role("viewer"))) -> list[dict[str, Any]]:
    return unwrap(await ctx(request).engine.call.remote("kpis", {}))


@router.get("/kpi/{name}", tags=["kpi"], summary="Compute a KPI over a period, by grain and dimension")
async def kpi(
    name: str,
    request: Request,
    grain: str | None = None,
    by: str | None = None,
    start: str | None = None,
    end: str | None = None,
    _: Principal = Depends(require_role("viewer")),
) -> dict:
    out = unwrap(
        await ctx(request).engine.call.remote(
            "kpi", {"name": name, "grain": grain, "by": by, "start": start, "end": end}
        )
    )
    _mark(request, qhash=query_hash(out["sql"]), rows=out["row_count"])
    return out


@router.post("/upload", tags=["upload"], summary="Upload a CSV/JSON/Parquet file into the lakehouse (analyst)")
async def upload(
    request: Request,
    file: UploadFile = File(...),
    name: str | None = Form(None),
    entity: str | None = Form(None),
    principal: Principal = Depends(require_role("analyst")),
) -> dict[str, Any]:
    c = ctx(request)
    max_bytes = c.args.max_upload_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="covary-upload-") as tmp:
        path = Path(tmp) / Path(file.filename or "upload.csv").name
        size = 0
        with path.open("wb") as fh:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise HTTPException(413, f"file exceeds {c.args.max_upload_mb} MB")
                fh.write(chunk)
        _mark(request, qhash=query_hash(path.name))
        result = await asyncio.to_thread(run_upload, c.lake_root, path, name, principal.key_id, entity)
    _mark(request, rows=int(result.get("rows_loaded", result.get("rows", 0)) or 0))
    return result


def run_upload(
    lake_root: str | None, path: Path, name: str | None, uploaded_by: str, entity: str | None = None
) -> dict[str, Any]:
    """Hand the file to the file connector (``connectors/files``, issue 3)."""
    import importlib
    import inspect

    try:
        module = importlib.import_module("connectors.files")
    except ImportError:
        module = None
    func = next((getattr(module, n) for n in ("upload_file", "upload", "ingest_file") if hasattr(module, n)), None)
    if func is None:
        raise UploadUnavailableError(
            "file uploads need the file connector (connectors.files.upload_file), which is not installed",
            hint="install a build that includes connectors/files",
        )
    from serve.query.deployments import _lake

    lake = _lake(lake_root)
    params = inspect.signature(func).parameters
    kwargs: dict[str, Any] = {}
    name = name or path.stem
    for key, value in (("name", name), ("uploaded_by", uploaded_by), ("entity", entity)):
        if key in params and value is not None:
            kwargs[key] = value
    result = func(lake, path, **kwargs)
    return result if isinstance(result, dict) else {"result": str(result)}


# ------------------------------------------------------------------------------------------- admin
@router.get("/admin/keys", tags=["admin"], summary="API keys (ids and roles, never secrets)")
async def admin_keys(request: Request, _: Principal = Depends(require_role("admin"))) -> list[dict[str, Any]]:
    return [k.public() for k in request.app.state.auth.keys.list()]


@router.post("/admin/audit/flush", tags=["admin"], summary="Write buffered audit events now")
async def admin_flush(request: Request, _: Principal = Depends(require_role("admin"))) -> dict[str, Any]:
    c = ctx(request)
    written = await c.audit.flush.remote() if c.audit is not None else 0
    return {"written": written}


__all__ = ["QueryRequest", "QueryResponse", "SqlRequest", "router", "run_upload"]
