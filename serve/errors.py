"""One error shape for every 4xx/5xx of the HTTP apps, ``{error, reason, hint, request_id}``, and the OpenAPI
schema that declares it (plus bearer auth) for every operation, and ``ServeError``, the root of every Serve
package's errors.

``install(app)`` registers the exception handlers (HTTPException, request validation), rewrites the OpenAPI
document and mounts the offline API docs (``/docs``, ``/redoc``). The ingress middleware turns every other
exception into the same shape through :func:`error_body`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # FastAPI loads where an app is built: the CLI imports ServeError without it (~0.2 s)
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

from covary.errors import CovaryError


class ServeError(CovaryError):
    """Root of the errors raised by the Serve apps (query, RAG, guard, auth, explorer); each package's
    ``errors.py`` subclasses it."""


BEARER = "bearerAuth"

# reason codes by status, used when the error itself names none
REASONS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    501: "not_implemented",
    502: "upstream_failed",
    503: "overloaded",
    504: "timeout",
}
HINTS: dict[int, str] = {
    401: "send 'Authorization: Bearer <token>' (create a key with `covary serve keys create --role viewer`)",
    403: "use a key with the role this route needs (`covary serve keys create --role analyst|admin`)",
    404: "GET /docs lists the routes; GET /v1/tables, /v1/series and /v1/findings list what exists",
    405: "GET /docs shows the method of each route",
    422: "fix the fields named in the error; GET /docs shows the request schema",
    429: "wait for Retry-After seconds, then retry",
    503: "the service is saturated: retry after Retry-After seconds",
}


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body. Some errors add fields (``blocked``, ``understood``, ``fields``)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(..., description="What went wrong, in one sentence.")
    reason: str = Field(
        ..., description="Machine-readable cause: unauthorized, forbidden, not_found, invalid_request, blocked ..."
    )
    hint: str | None = Field(None, description="What to do about it.")
    request_id: str = Field(..., description="Also in the x-request-id header and the audit table.")


def request_id(request: Request) -> str:
    """The id the ingress middleware gave this request (stored on ``request.state``), else the header, else new."""
    rid = getattr(request.state, "request_id", None) or request.headers.get("x-request-id")
    if not rid:
        rid = uuid.uuid4().hex
    request.state.request_id = rid
    return str(rid)


def error_body(request: Request, status: int, body: dict[str, Any]) -> dict[str, Any]:
    """Normalise any error body to ``{error, reason, hint, request_id, ...extra}``."""
    out = dict(body)
    detail = out.pop("detail", None)
    error = out.get("error") or (detail if isinstance(detail, str) else None) or REASONS.get(status, f"HTTP {status}")
    reason = out.get("reason") or REASONS.get(status, "error" if status < 500 else "internal_error")
    out.update(
        error=str(error),
        reason=str(reason),
        hint=out.get("hint") or HINTS.get(status),
        request_id=request_id(request),
    )
    return {"error": out.pop("error"), "reason": out.pop("reason"), "hint": out.pop("hint"), **out}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts[1:] if len(parts) > 1 and parts[0] in ("body", "query", "path", "header") else parts)


async def _http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    from fastapi.responses import JSONResponse

    detail = exc.detail
    body: dict[str, Any] = dict(detail) if isinstance(detail, dict) else {"error": str(detail)}
    if exc.status_code in (404, 405) and body["error"] in ("Not Found", "Method Not Allowed"):  # no such route
        what = "no route" if exc.status_code == 404 else "method not allowed:"
        body["error"] = f"{what} {request.method} {request.url.path}"
    request.state.error = body.get("error")
    return JSONResponse(
        error_body(request, exc.status_code, body), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    from fastapi.responses import JSONResponse

    fields = [{"field": _location(e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors()]
    message = "; ".join(f"{f['field'] or 'request'}: {f['problem']}" for f in fields[:5]) or "invalid request"
    request.state.error = message
    body = {"error": f"invalid request: {message}", "reason": "invalid_request", "fields": fields}
    return JSONResponse(error_body(request, 422, body), status_code=422)


# ------------------------------------------------------------------------------------------- OpenAPI
def _routes(app: FastAPI) -> list[Any]:
    """Every API route with its path and dependant (FastAPI >= 0.16x includes routers lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are plain APIRoutes
        from fastapi.routing import APIRoute

        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [rc for rc in iter_route_contexts(app.routes) if getattr(rc, "dependant", None) is not None]


def _protected(route: Any) -> bool:
    """Does the route depend on ``serve.auth.require_role`` (a token is needed)?"""
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        call = getattr(dep, "call", None)
        if call is not None and getattr(call, "__qualname__", "").startswith("require_role."):
            return True
        stack.extend(dep.dependencies)
    return False


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus bearer auth on protected operations and ErrorResponse for every 4xx/5xx."""
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `covary serve keys create --role viewer|analyst|admin` (also X-API-Key).",
        }
    }
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    protected = {(m.lower(), r.path_format) for r in _routes(app) if _protected(r) for m in (r.methods or ())}
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            codes = {"422": "Invalid request"} if "422" in responses else {}
            if (method, path) in protected:
                op["security"] = [{BEARER: []}]
                codes |= {"401": "Missing or invalid token", "403": "The key's role is too low", "429": "Rate limited"}
            codes |= {"4XX": "Client error", "5XX": "Server error"}
            for code, text in codes.items():
                responses[code] = {"description": text, **ref}
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in str(schema.get("paths")).replace("'", '"'):
            schemas.pop(unused, None)
    return schema


def install_errors(app: FastAPI) -> None:
    """Error handlers, the OpenAPI rewrite and the offline /docs and /redoc on ``app``."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from serve.explorer.apidocs import install_docs

    app.add_exception_handler(StarletteHTTPException, _http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_docs(app)


__all__ = ["ErrorResponse", "ServeError", "error_body", "install_errors", "openapi_schema", "request_id"]
