"""``/docs`` (Swagger UI) and ``/redoc`` served offline: the UI assets come from the ``fastapi-offline``
package (Swagger UI and ReDoc bundles, MIT/Apache-2.0 licensed), never from a CDN."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

PREFIX = "/static/apidocs"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


# ReDoc's sidebar footer loads a logo from a CDN; served without that URL, nothing leaves the app.
_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=4)
def _asset(name: str) -> bytes:
    data = (assets_dir() / name).read_bytes()
    return data.replace(_CDN_LOGO, b"") if name == "redoc.standalone.js" else data


def assets_dir() -> Path:
    return Path(str(resources.files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-backed /docs and /redoc with pages that load local assets."""
    docs, redoc, oauth = app.docs_url or "/docs", app.redoc_url or "/redoc", app.swagger_ui_oauth2_redirect_url
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in (docs, redoc, oauth)]
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get(f"{PREFIX}/{{name}}", include_in_schema=False)
    async def apidocs_asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, f"no API docs asset {name!r}")
        return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})

    @app.get(docs, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
            oauth2_redirect_url=oauth,
            swagger_ui_parameters={"persistAuthorization": True},
        )

    if oauth:

        @app.get(oauth, include_in_schema=False)
        async def swagger_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc, include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} — API reference",
            redoc_js_url=f"{PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{PREFIX}/favicon.png",
            with_google_fonts=False,
        )


__all__ = ["install_docs"]
