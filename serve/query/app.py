"""The ``serve/query`` Serve app: ``build_app(args)`` composes the ingress over its deployments, passed by handle:
SqlEngine, CatalogEngine, Translator, AuditWriter, RagEngine -> (Embedder, VectorStore, Answerer [-> VLLMEngine]),
Explorer."""

from __future__ import annotations

import logging
import math
import pkgutil
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from ray import serve
from ray.serve.handle import DeploymentHandle

from covary import metrics
from covary.errors import CovaryError
from serve.auth import Authenticator, KeyStore, RateLimiter, route_label
from serve.rag.vllm import VLLMAppArgs

log = logging.getLogger(__name__)


def builtin_routers() -> list[APIRouter]:
    """The FastAPI routers of THIS app, included in this order after the /v1 routes. Add yours here (one import,
    one entry). Routers reach the deployments through ``request.app.state.ctx`` and guard routes with
    ``Depends(serve.auth.require_role("viewer"))``; extra routers for one deployment come from the
    ``router_modules`` arg (explicit ``"module:attr"`` names)."""
    from serve.explorer.routes import router as explorer_router
    from serve.query.forecast_routes import router as forecast_router
    from serve.query.routes import router as query_router
    from serve.query.uploads import router as uploads_router
    from serve.rag.routes import router as rag_router

    return [query_router, rag_router, explorer_router, forecast_router, uploads_router]


class DeploymentOptions(BaseModel):
    """Replica count and backpressure limits of one deployment."""

    num_replicas: int = Field(1, ge=1)
    max_ongoing_requests: int = Field(8, ge=1, description="Requests one replica works on at once.")
    max_queued_requests: int = Field(16, ge=-1, description="Requests waiting for a replica; beyond: 503.")
    num_cpus: float = Field(0.0, ge=0, description="CPUs reserved per replica (0 = do not reserve).")


class QueryAppArgs(BaseModel):
    """Typed args of ``build_app`` (the ``args:`` block of a Serve config YAML)."""

    model_config = {"extra": "forbid"}

    lake_root: str | None = Field(None, description="Lake root; default settings.lake_root.")
    api_keys_path: str | None = Field(None, description="Hashed key file; default settings.api_keys_path.")
    engine: dict[str, Any] = Field(default_factory=dict, description="serve.query.service.EngineOptions fields.")
    ingress: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=32, max_queued_requests=64)
    )
    sql_engine: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=4, max_queued_requests=8)
    )
    translator: DeploymentOptions = Field(default_factory=DeploymentOptions)
    catalog_engine: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=16, max_queued_requests=64),
        description="The pool for catalogue/data routes (tables, series, findings, KPIs), apart from user SQL.",
    )
    per_key_concurrency: int = Field(
        4, ge=0, description="Requests one key may have in flight on SQL/ask/upload routes (0 = unlimited)."
    )
    heavy_cost: float = Field(5.0, gt=0, description="Estimated cost from which a statement counts as expensive.")
    heavy_slots: int = Field(2, ge=1, description="Expensive statements in flight per ingress replica.")
    retry_after_s: float = Field(1.0, ge=0, description="Retry-After sent with 503/429 on overload.")
    rate_limits: dict[str, float] = Field(
        default_factory=lambda: {"viewer": 600.0, "analyst": 600.0, "admin": 1200.0},
        description="Requests per minute per key, by role (0 = unlimited).",
    )
    audit: bool = True
    audit_flush_s: float = Field(2.0, gt=0)
    audit_spool_dir: str | None = Field(
        None, description="Where audit events are spooled before they are committed; default COVARY_HOME/audit-spool."
    )
    max_upload_mb: int = Field(100, ge=1)
    rag: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=4, max_queued_requests=16),
        description="RagEngine, the /v1/ask orchestrator (retrieval, confidence, sources) over the three below.",
    )
    embedder: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=8, max_queued_requests=32),
        description="Embedder: all-MiniLM-L6-v2 (bundled weights, offline), loaded once per replica.",
    )
    vector_store: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=8, max_queued_requests=32),
        description="VectorStore: Milvus + hybrid (dense + BM25) ranking; keep one replica with Milvus Lite.",
    )
    answerer: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=8, max_queued_requests=32),
        description="Answerer: the grounded extractive answer (CPU) and the LLM answer backends.",
    )
    vllm: VLLMAppArgs | None = Field(
        None,
        description="Bind a VLLMEngine deployment (1 GPU per tensor-parallel rank) that the vllm answer backend "
        "uses; unset: the vllm backend calls COVARY_LLM__BASE_URL (default the /llm app).",
    )
    explorer: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(max_ongoing_requests=8, max_queued_requests=32),
        description="Explorer: the explorer page's read-only lake reads (uploads, quarantine, documents, history).",
    )
    router_modules: list[str] = Field(
        default_factory=list, description="Extra routers ('module:attr') beyond builtin_routers()."
    )


def _resolve(target: str) -> Any:
    """A configured ``"module:attr"`` (``router_modules``): exactly that name, an error naming it otherwise."""
    from serve.query.errors import ServeError

    if ":" not in target:
        raise ServeError(f"router_modules entry {target!r} is not 'module:attr'", hint="e.g. mypkg.routes:router")
    try:
        return pkgutil.resolve_name(target)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ServeError(f"cannot load router {target!r}: {exc}", hint="check router_modules in the app args") from exc


class AppContext:
    """What routes see as ``request.app.state.ctx``: the deployment handles and the app args."""

    def __init__(
        self,
        engine: DeploymentHandle,
        translator: DeploymentHandle,
        audit: DeploymentHandle | None,
        args: QueryAppArgs,
        extra: dict[str, DeploymentHandle],
    ) -> None:
        from serve.query.admission import CostGate, EngineRouter

        self.sql_engine = engine
        gate = CostGate(args.heavy_cost, args.heavy_slots, args.retry_after_s)
        self.engine: Any = EngineRouter(engine, extra.get("catalog", engine), gate)
        self.translator = translator
        self.audit = audit
        self.args = args
        self.lake_root = args.lake_root
        self.extra = extra
        self.started = time.time()


def _error_status(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    from ray.serve.exceptions import BackPressureError

    from serve.guard.errors import BlockedQueryError, QueryFailedError, QueryTimeoutError
    from serve.query.errors import CannotAnswerError, LLMUnavailableError, NotFoundError, UploadUnavailableError

    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    body: dict[str, Any] = {"error": str(exc), "hint": getattr(exc, "hint", None)}
    if isinstance(exc, BackPressureError):
        return 503, {"error": "the SQL engine is saturated; retry shortly", "hint": None}, {}
    from connectors.files.parse import UploadLimitError

    if isinstance(exc, UploadLimitError):
        return 413, body | {"cap": exc.cap, "limit": exc.limit}, {}
    from serve.query.admission import AdmissionError

    if isinstance(exc, AdmissionError):
        return 503, body, {}
    if isinstance(exc, BlockedQueryError):
        return 400, body | {"blocked": True, "reason": exc.reason}, {}
    if isinstance(exc, CannotAnswerError):
        return 422, body | {"understood": exc.understood}, {}
    if isinstance(exc, QueryTimeoutError):
        return 504, body, {}
    if isinstance(exc, NotFoundError):
        return 404, body, {}
    from serve.rag.errors import RagUnavailableError

    if isinstance(exc, UploadUnavailableError | RagUnavailableError):
        return 501, body, {}
    if isinstance(exc, LLMUnavailableError):
        return 502, body, {}
    if isinstance(exc, QueryFailedError | ValueError | CovaryError):
        return 400, body, {}
    log.exception("unexpected error", exc_info=exc)
    return 500, {"error": f"internal error: {type(exc).__name__}", "hint": "see the service logs"}, {}


REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def safe_request_id(value: str | None) -> str:
    """The caller's ``x-request-id`` when it is 1-128 characters of ``[A-Za-z0-9._:-]``; otherwise a fresh id
    (an unauthenticated caller must not write arbitrary text into the audit table or response headers)."""
    if value and REQUEST_ID_RE.match(value):
        return value
    return uuid.uuid4().hex


def create_fastapi(ctx: AppContext, keys: KeyStore) -> FastAPI:
    """The FastAPI app of one ingress replica: routers, auth, error mapping, metrics and audit middleware."""
    app = FastAPI(
        title="covary query service",
        version="1",
        description="Natural-language questions, guarded SQL, KPIs, findings, series and uploads over the lakehouse. "
        "Send `Authorization: Bearer <token>` (create one with `covary serve keys create`).",
    )
    app.state.ctx = ctx
    app.state.auth = Authenticator(keys, RateLimiter(ctx.args.rate_limits))
    for router in [*builtin_routers(), *(_resolve(t) for t in ctx.args.router_modules)]:
        app.include_router(router)
    from serve.errors import error_body, install_errors

    install_errors(app)  # one error shape for every 4xx/5xx, bearer auth in OpenAPI, offline /docs and /redoc

    def error_response(request: Request, exc: Exception) -> JSONResponse:
        status, body, headers = _error_status(exc)
        if status == 503:
            headers["Retry-After"] = str(max(1, math.ceil(ctx.args.retry_after_s)))
        if body.get("reason"):
            request.state.blocked_reason = body["reason"]
        request.state.error = body.get("error")
        return JSONResponse(error_body(request, status, body), status_code=status, headers=headers)

    from serve.auth import bearer_token
    from serve.query.admission import KeySlots, is_expensive

    slots = KeySlots(ctx.args.per_key_concurrency)

    async def limited(request: Request, call_next: Any) -> Any:
        """Per-key concurrency on the expensive routes (the key is verified here only to count it)."""
        path = request.url.path
        root = request.scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        if not is_expensive(path):
            return await call_next(request)
        token = bearer_token(request)
        principal = keys.verify(token) if token else None
        if principal is None:
            return await call_next(request)  # the route's dependency answers 401
        if not await slots.acquire(principal.key_id):
            request.state.principal = principal
            request.state.error = f"concurrency limit of key {principal.key_id} reached"
            return JSONResponse(
                {
                    "error": f"key {principal.key_id} already has {slots.limit} requests in flight on "
                    "SQL/ask/upload routes; retry when one finishes",
                    "hint": "send fewer concurrent requests per key (per_key_concurrency)",
                },
                status_code=429,
                headers={"Retry-After": "1"},
            )
        try:
            return await call_next(request)
        finally:
            await slots.release(principal.key_id)

    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        at = datetime.now(UTC)
        request_id = safe_request_id(request.headers.get("x-request-id"))
        request.state.request_id = request_id  # error bodies carry it (serve/errors.py)
        try:
            response = await limited(request, call_next)
        except Exception as exc:  # route errors (Serve re-raises replica errors here): one JSON body each
            response = error_response(request, exc)
        latency_ms = (time.perf_counter() - started) * 1000
        route = route_label(request)
        status = response.status_code
        response.headers["x-request-id"] = request_id
        metrics.inc("covary_requests", route=route, status=str(status))
        metrics.observe("covary_request_latency_ms", latency_ms, route=route)
        rows = getattr(request.state, "rows", None)
        if rows:
            metrics.inc("covary_rows_returned", float(rows), route=route)
        if ctx.audit is not None and route != "/v1/healthz":
            principal = getattr(request.state, "principal", None)
            detail = getattr(request.state, "error", None) or getattr(request.state, "auth_error", None)
            ctx.audit.record.remote(
                {
                    "request_id": request_id,
                    "at": at,
                    "day": at.date(),
                    "key_id": principal.key_id if principal else None,
                    "role": principal.role if principal else None,
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "query_hash": getattr(request.state, "query_hash", None),
                    "rows": rows,
                    "latency_ms": latency_ms,
                    "blocked_reason": getattr(request.state, "blocked_reason", None),
                    "error": (str(detail)[:300] if detail and status >= 400 else None),
                    "client": request.client.host if request.client else None,
                    "pii_unmasked": getattr(request.state, "pii_unmasked", None),
                }
            )
        return response

    return app


@serve.ingress()
class QueryIngress:
    """HTTP ingress: FastAPI routes under /v1, built on the replica (nothing binds at import time)."""

    def __init__(
        self,
        engine: DeploymentHandle,
        translator: DeploymentHandle,
        audit: DeploymentHandle | None,
        args: dict[str, Any],
        extra: dict[str, DeploymentHandle] | None = None,
    ) -> None:
        from covary.settings import get_settings

        self.args = QueryAppArgs(**args)
        self.ctx = AppContext(engine, translator, audit, self.args, dict(extra or {}))
        self.keys = KeyStore(self.args.api_keys_path or get_settings().api_keys_path)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_fastapi(self.ctx, self.keys)


def _options(opts: DeploymentOptions, retry_after_s: float) -> dict[str, Any]:
    from ray.serve.config import BackpressureConfig

    out: dict[str, Any] = {
        "num_replicas": opts.num_replicas,
        "max_ongoing_requests": opts.max_ongoing_requests,
        "max_queued_requests": opts.max_queued_requests,
        "backpressure_config": BackpressureConfig(status_code=503, retry_after_s=retry_after_s),
    }
    if opts.num_cpus:
        out["ray_actor_options"] = {"num_cpus": opts.num_cpus}
    else:
        out["ray_actor_options"] = {"num_cpus": 0}
    return out


def _bind_rag(parsed: QueryAppArgs) -> tuple[Any, Any]:
    """RagEngine over Embedder, VectorStore and Answerer (and VLLMEngine when ``vllm`` is set): the RagEngine and
    Answerer nodes, which the ingress gets by handle."""
    from serve.rag import deployments as rag

    def node(cls: type, name: str, opts: DeploymentOptions) -> Any:
        deployment: Any = serve.deployment(cls, name=name)
        return deployment.options(**_options(opts, parsed.retry_after_s))

    embedder = node(rag.EmbedderDeployment, "Embedder", parsed.embedder).bind()
    store = node(rag.VectorStoreDeployment, "VectorStore", parsed.vector_store).bind(parsed.lake_root)
    vllm = None
    if parsed.vllm is not None:  # the class is bound, not run: vllm is imported on the GPU replica only
        gpu: dict[str, Any] = {"num_gpus": parsed.vllm.tensor_parallel_size}
        if parsed.vllm.accelerator_type:
            gpu["accelerator_type"] = parsed.vllm.accelerator_type
        engine: Any = serve.deployment(rag.VLLMEngine, name="VLLMEngine")
        vllm = engine.options(
            autoscaling_config={"min_replicas": parsed.vllm.min_replicas, "max_replicas": parsed.vllm.max_replicas},
            ray_actor_options=gpu,
        ).bind(parsed.vllm.model_dump())
    answerer = node(rag.AnswererDeployment, "Answerer", parsed.answerer).bind(parsed.lake_root, vllm)
    orchestrator = node(rag.RagDeployment, "RagEngine", parsed.rag).bind(parsed.lake_root, embedder, store, answerer)
    return orchestrator, answerer


def build_app(args: dict[str, Any] | QueryAppArgs | None = None) -> Any:
    """Build the Serve application from typed args (a dict from a Serve config YAML works)."""
    from serve.explorer.deployment import ExplorerDeployment
    from serve.query import deployments
    from serve.query.service import EngineOptions

    # @serve.deployment classes are Deployment objects at run time; the stubs see the plain classes
    SqlEngine: Any = deployments.SqlEngine
    Translator: Any = deployments.Translator
    AuditWriter: Any = deployments.AuditWriter

    parsed = args if isinstance(args, QueryAppArgs) else QueryAppArgs(**(args or {}))
    engine_opts = EngineOptions(**parsed.engine).model_dump()
    engine = SqlEngine.options(**_options(parsed.sql_engine, parsed.retry_after_s)).bind(engine_opts, parsed.lake_root)
    # catalogue/data routes and the translator's profile calls have their own pool: a flood of slow user SQL
    # cannot take their slots (serve/query/admission.py)
    catalog = SqlEngine.options(name="CatalogEngine", **_options(parsed.catalog_engine, parsed.retry_after_s)).bind(
        engine_opts, parsed.lake_root
    )
    translator = Translator.options(**_options(parsed.translator, parsed.retry_after_s)).bind(catalog, engine_opts)
    audit = (
        AuditWriter.options(ray_actor_options={"num_cpus": 0}).bind(
            parsed.lake_root, parsed.audit_flush_s, 500, parsed.audit_spool_dir
        )
        if parsed.audit
        else None
    )
    rag, answerer = _bind_rag(parsed)
    explorer_deployment: Any = serve.deployment(ExplorerDeployment, name="Explorer")
    explorer = explorer_deployment.options(**_options(parsed.explorer, parsed.retry_after_s)).bind(parsed.lake_root)
    extra: dict[str, Any] = {"catalog": catalog, "rag": rag, "answerer": answerer, "explorer": explorer}
    ingress_deployment: Any = serve.deployment(QueryIngress, name="QueryIngress")
    ingress = ingress_deployment.options(**_options(parsed.ingress, parsed.retry_after_s))
    return ingress.bind(engine, translator, audit, parsed.model_dump(), extra)


__all__ = [
    "AppContext",
    "DeploymentOptions",
    "QueryAppArgs",
    "build_app",
    "builtin_routers",
    "create_fastapi",
]
