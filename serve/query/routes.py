"""The /v1 routes of the query service (FastAPI router; handles live on ``request.app.state.ctx``)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, Union

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, create_model

from serve.auth import Principal, require_role
from serve.guard.policy import query_hash
from serve.query.deployments import unwrap
from serve.query.no_data import needs_check

router = APIRouter(prefix="/v1")


class QueryRequest(BaseModel):
    question: str = Field(
        ...,
        max_length=20_000,
        description="A question in plain English (at most 500 characters; longer, empty, SQL or instruction text "
        "is refused with a 422 saying why).",
        examples=["spend on Meta ads by month in 2024"],
    )
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
    truncated_by: str | None = Field(None, description="max_rows or max_result_bytes when rows were cut.")
    pii_columns: list[str] = Field(default_factory=list, description="Personal-data columns the query read.")
    pii_unmasked: bool | None = Field(None, description="False: pii_columns were masked (no pii grant).")
    chart: dict[str, Any] | None = None
    explanation: str | None = None
    translator: str | None = None
    query_hash: str
    elapsed_ms: float


class UnderstoodSpan(BaseModel):
    span: str = Field(..., description="Words of the question.")
    role: str = Field(
        ...,
        description="measure, table, dimension, filter, period, grain, ranking, comparison, "
        "intent, aggregation, shape or filler.",
    )
    value: Any = Field(None, description="What the span was linked to (measure name, column = value, period...).")


class SqlAnswer(QueryResponse):
    """A question answered by SQL: rows, the SQL that ran, and how each word was understood."""

    intent: Literal["sql"] = "sql"
    understood: list[UnderstoodSpan] = []
    plan: dict[str, Any] | None = Field(None, description="The structured plan the SQL was compiled from.")
    note: str | None = Field(
        None,
        description="Why an empty, NULL or zero answer is what it is: no rows match the filters in the period "
        "(a period with no rows at all is refused, 422).",
    )


class _IntentBase(BaseModel):
    question: str
    explanation: str | None = None
    translator: str | None = None
    understood: list[UnderstoodSpan] = []
    plan: dict[str, Any] | None = None
    query_hash: str
    elapsed_ms: float


def _intent_models() -> list[type[BaseModel]]:
    from serve.query.intents import ANSWER_MODELS

    out: list[type[BaseModel]] = []
    for name, model in ANSWER_MODELS.items():
        out.append(
            create_model(
                f"{name.capitalize()}QueryAnswer",
                __base__=_IntentBase,
                intent=(Literal[name], name),  # type: ignore[valid-type,arg-type]
                answer=(model, ...),
            )
        )
    return out


_ANSWERS = [SqlAnswer, *_intent_models()]
QueryAnswer = Annotated[Union[tuple(_ANSWERS)], Field(discriminator="intent")]  # type: ignore[valid-type]  # noqa: UP007


# ---------------------------------------------------------------------------------------- response models
# These document what the routes return today. Every field has a default and the routes use
# ``response_model_exclude_unset=True``, so a reply holds exactly the keys the route produced; ``extra="allow"``
# keeps any key a newer engine adds (a model never drops a field).


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(_Open):
    """Liveness (``/v1/healthz``) or health details (``/v1/health``)."""

    status: str = Field("ok", description="ok when the service answers.")
    engine: dict[str, Any] | None = Field(None, description="Engine snapshot fingerprint, tables present, limits.")
    audit: dict[str, Any] | None = Field(None, description="Audit buffer statistics (null without an audit sink).")
    uptime_s: float | None = Field(None, description="Seconds since the service started.")


class ColumnInfo(_Open):
    name: str = ""
    type: str = Field("", description="Arrow type of the column.")
    nullable: bool | None = None
    description: str | None = None
    synonyms: list[str] = []


class TableInfo(_Open):
    """One table of the data dictionary."""

    table: str = Field("", description="layer.name, e.g. gold.series_values.")
    layer: str | None = None
    description: str | None = None
    synonyms: list[str] = []
    keys: list[str] = []
    queryable: bool | None = Field(None, description="True when the table has data the engine can read.")
    columns: list[ColumnInfo] = []


class RowsResult(_Open):
    """Rows from the read-only engine (columns, DuckDB types, rows as lists)."""

    sql: str | None = Field(None, description="The SQL that produced the rows (where the route ran SQL).")
    columns: list[str] = []
    types: list[str] = []
    rows: list[list[Any]] = []
    row_count: int = 0
    truncated: bool = False
    truncated_by: str | None = Field(None, description="max_rows or max_result_bytes when rows were cut.")
    elapsed_ms: float | None = None


class SeriesValues(RowsResult):
    """Values (``ts``, ``value``) of one series with its catalogue entry."""

    series_id: str = ""
    meta: dict[str, Any] | None = Field(None, description="The series' row of the series catalogue.")


class Findings(RowsResult):
    """Findings of the latest correlation run, strongest first."""

    table: str = Field("", description="The findings table read.")


class Finding(_Open):
    """One finding: its record, caveats and what each column means."""

    table: str = ""
    finding: dict[str, Any] = {}
    caveats: dict[str, Any] = {}
    columns: dict[str, str | None] = Field({}, description="Column name -> description.")


class KpiInfo(_Open):
    """A KPI or series definition of the semantic layer."""

    name: str = ""
    table: str | None = None
    expr: str | None = None
    where: str | None = None
    unit: str | None = None
    description: str | None = None
    kind: str | None = Field(None, description="kpi or series.")


class KpiResult(RowsResult):
    """A KPI computed over a period (``period`` and the ``by`` column when asked), with the SQL that ran."""

    kpi: str = ""
    description: str | None = None
    unit: str | None = None


class ApiKeyInfo(_Open):
    """An API key's public fields (never the secret or its hash)."""

    key_id: str = ""
    role: str = ""
    name: str = ""
    created_at: str = ""
    revoked: bool = False
    grants: list[str] = []


class AuditFlush(_Open):
    written: int = Field(0, description="Audit events written by this call.")


def ctx(request: Request) -> Any:
    return request.app.state.ctx


def _mark(request: Request, *, qhash: str | None = None, rows: int | None = None) -> None:
    if qhash is not None:
        request.state.query_hash = qhash
    if rows is not None:
        request.state.rows = rows


@router.get(
    "/healthz",
    tags=["health"],
    response_model=Health,
    response_model_exclude_unset=True,
    summary="Liveness probe (no token, no details)",
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health",
    tags=["health"],
    response_model=Health,
    response_model_exclude_unset=True,
    summary="Health details (token required)",
)
async def health(request: Request, _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    c = ctx(request)
    engine = unwrap(await c.engine.call.remote("health", {}))
    audit = await c.audit.stats.remote() if c.audit is not None else None
    return {"status": "ok", "engine": engine, "audit": audit, "uptime_s": round(time.time() - c.started, 1)}


@router.post(
    "/query",
    tags=["query"],
    response_model=QueryAnswer,
    summary="Ask a question in plain language",
    description="Answers with rows (intent ``sql``) or with the payload of the question's intent (``why``, "
    "``relation``, ``forecast``, ``anomaly``, ``monitor``). Every reply lists how each span of the question was "
    "understood; a question with a word that cannot be placed is refused (422) naming it and the nearest "
    "known values.",
    responses={422: {"description": "Refused: what was understood, the span not placed, nearest values."}},
)
async def query(
    body: QueryRequest, request: Request, principal: Principal = Depends(require_role("viewer"))
) -> dict[str, Any]:
    c = ctx(request)
    qhash = query_hash(body.question)
    _mark(request, qhash=qhash)
    started = time.perf_counter()
    translation = unwrap(await c.translator.translate.remote(body.question))
    if translation.intent != "sql":
        answer = unwrap(await c.engine.call.remote("intent", {"plan": translation.plan}))
        _mark(request, rows=0)
        return {
            "question": body.question,
            **translation.as_dict(),
            "answer": answer,
            "query_hash": qhash,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
        }
    result = unwrap(await c.engine.run_sql.remote(translation.sql, body.max_rows, principal.pii))
    if result.get("pii_unmasked"):  # audited: this request read personal data unmasked
        request.state.pii_unmasked = True
    _mark(request, rows=result["row_count"])
    if needs_check(translation.plan, result):  # nothing in the answer: does the period hold any rows at all?
        check = {"plan": translation.plan, "result": {"columns": result["columns"], "rows": result["rows"]}}
        result |= unwrap(await c.engine.call.remote("check_answer", check))
    return {
        "question": body.question,
        **translation.as_dict(),
        **result,
        "query_hash": qhash,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
    }


@router.post("/sql", tags=["query"], response_model=QueryResponse, summary="Run one read-only SELECT (analyst)")
async def sql(
    body: SqlRequest, request: Request, principal: Principal = Depends(require_role("analyst"))
) -> dict[str, Any]:
    c = ctx(request)
    _mark(request, qhash=query_hash(body.sql))
    result = unwrap(await c.engine.run_sql.remote(body.sql, body.max_rows, principal.pii))
    _mark(request, rows=result["row_count"])
    if result.get("pii_unmasked"):  # audited: this request read personal data unmasked
        request.state.pii_unmasked = True
    return result


@router.get(
    "/tables",
    tags=["catalog"],
    response_model=list[TableInfo],
    response_model_exclude_unset=True,
    summary="Data dictionary: every table and column with descriptions",
)
async def tables(request: Request, _: Principal = Depends(require_role("viewer"))) -> list[dict[str, Any]]:
    out = unwrap(await ctx(request).engine.call.remote("tables", {}))
    _mark(request, rows=len(out))
    return out


@router.get(
    "/tables/{name}",
    tags=["catalog"],
    response_model=TableInfo,
    response_model_exclude_unset=True,
    summary="One table of the data dictionary",
)
async def table(name: str, request: Request, _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    for t in unwrap(await ctx(request).engine.call.remote("tables", {})):
        if t["table"] == name:
            return t
    raise HTTPException(404, f"no table {name!r}; GET /v1/tables lists them")


@router.get(
    "/series",
    tags=["series"],
    response_model=RowsResult,
    response_model_exclude_unset=True,
    summary="Series catalogue (filter by domain or text)",
)
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


@router.get(
    "/series/{series_id}",
    tags=["series"],
    response_model=SeriesValues,
    response_model_exclude_unset=True,
    summary="Values of one series",
)
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


@router.get(
    "/findings",
    tags=["findings"],
    response_model=Findings,
    response_model_exclude_unset=True,
    summary="Correlation findings with stats (filter by any column)",
)
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


@router.get(
    "/findings/{finding_id}",
    tags=["findings"],
    response_model=Finding,
    response_model_exclude_unset=True,
    summary="One finding with its stats and caveats",
)
async def finding(finding_id: str, request: Request, _: Principal = Depends(require_role("viewer"))) -> dict:
    return unwrap(await ctx(request).engine.call.remote("finding", {"finding_id": finding_id}))


@router.get(
    "/kpi",
    tags=["kpi"],
    response_model=list[KpiInfo],
    response_model_exclude_unset=True,
    summary="KPI and series definitions",
)
async def kpis(request: Request, _: Principal = Depends(require_role("viewer"))) -> list[dict[str, Any]]:
    return unwrap(await ctx(request).engine.call.remote("kpis", {}))


@router.get(
    "/kpi/{name}",
    tags=["kpi"],
    response_model=KpiResult,
    response_model_exclude_unset=True,
    summary="Compute a KPI over a period, by grain and dimension",
)
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


# POST /v1/upload lives in serve/query/uploads.py (parsed in a worker process, under caps).


# ------------------------------------------------------------------------------------------- admin
@router.get(
    "/admin/keys",
    tags=["admin"],
    response_model=list[ApiKeyInfo],
    response_model_exclude_unset=True,
    summary="API keys (ids and roles, never secrets)",
)
async def admin_keys(request: Request, _: Principal = Depends(require_role("admin"))) -> list[dict[str, Any]]:
    return [k.public() for k in request.app.state.auth.keys.list()]


@router.post(
    "/admin/audit/flush",
    tags=["admin"],
    response_model=AuditFlush,
    response_model_exclude_unset=True,
    summary="Write buffered audit events now",
)
async def admin_flush(request: Request, _: Principal = Depends(require_role("admin"))) -> dict[str, Any]:
    c = ctx(request)
    written = await c.audit.flush.remote() if c.audit is not None else 0
    return {"written": written}


__all__ = [
    "ApiKeyInfo",
    "AuditFlush",
    "Finding",
    "Findings",
    "Health",
    "KpiInfo",
    "KpiResult",
    "QueryAnswer",
    "QueryRequest",
    "QueryResponse",
    "RowsResult",
    "SeriesValues",
    "SqlAnswer",
    "SqlRequest",
    "TableInfo",
    "UnderstoodSpan",
    "router",
]
