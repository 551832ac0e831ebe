"""The HTTP API a new user meets: /docs and /redoc work offline, the OpenAPI schema declares bearer auth and one
error shape, every 4xx/5xx has that shape, and `covary ask --url` talks to a running service."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from serve.explorer.routes import _direction, _display, _good

ERROR_KEYS = {"error", "reason", "hint", "request_id"}


def _get(app: dict[str, Any], path: str, role: str | None = "viewer", **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {app['tokens'][role]}"} if role else {}
    return httpx.get(app["url"] + path, headers=headers, timeout=60, **kw)


def _post(app: dict[str, Any], path: str, role: str | None = "viewer", **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {app['tokens'][role]}"} if role else {}
    return httpx.post(app["url"] + path, headers=headers, timeout=60, **kw)


def test_api_docs_load_their_assets_from_the_app(explorer_app: dict[str, Any]) -> None:
    for path, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        page = httpx.get(explorer_app["url"] + path)
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text) + re.findall(r"url: '([^']+)'", page.text)
        assert urls and all(u.startswith("/") for u in urls), urls  # nothing from a CDN
        assert f"/static/apidocs/{asset}" in page.text
        js = httpx.get(explorer_app["url"] + f"/static/apidocs/{asset}")
        assert js.status_code == 200 and len(js.content) > 500_000
    assert httpx.get(explorer_app["url"] + "/static/apidocs/../../keys.yaml").status_code == 404


def test_openapi_declares_bearer_auth_and_one_error_shape(explorer_app: dict[str, Any]) -> None:
    schema = httpx.get(explorer_app["url"] + "/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == schema["components"]["securitySchemes"][
        "bearerAuth"
    ] | {"type": "http", "scheme": "bearer"}
    error = schema["components"]["schemas"]["ErrorResponse"]
    assert set(error["properties"]) >= ERROR_KEYS and {"error", "reason", "request_id"} <= set(error["required"])
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # the second shape is gone
    ops = [(p, m, op) for p, item in schema["paths"].items() for m, op in item.items()]
    assert len(ops) > 25
    for path, method, op in ops:
        for code, resp in op["responses"].items():
            if code[0] in "45":
                ref = resp["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), (path, method, code)
        if path != "/v1/healthz":
            assert op.get("security") == [{"bearerAuth": []}], (path, method)
            assert {"401", "403"} <= set(op["responses"])
    assert "security" not in schema["paths"]["/v1/healthz"]["get"]


def test_explorer_routes_have_typed_response_models(explorer_app: dict[str, Any]) -> None:
    schema = httpx.get(explorer_app["url"] + "/openapi.json").json()
    for path, item in schema["paths"].items():
        if path.startswith("/v1/explorer/"):
            ok = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            assert "$ref" in ok, path


@pytest.mark.parametrize(
    ("method", "path", "role", "body", "status", "reason"),
    [
        ("get", "/v1/explorer/overview", None, None, 401, "unauthorized"),
        ("post", "/v1/sql", "viewer", {"sql": "SELECT 1"}, 403, "forbidden"),
        ("get", "/v1/no/such/route", "viewer", None, 404, "not_found"),
        ("get", "/v1/explorer/forecasts/no.such.series", "viewer", None, 404, "not_found"),
        ("post", "/v1/query", "viewer", {"question": "x"}, 422, "invalid_request"),
        ("get", "/v1/explorer/kpis?period=decade", "viewer", None, 422, "invalid_request"),
        ("post", "/v1/sql", "analyst", {"sql": "DROP TABLE gold.series_values"}, 400, None),
        ("get", "/v1/findings/nope", "viewer", None, 404, "not_found"),
    ],
)
def test_every_error_has_the_same_shape(
    explorer_app: dict[str, Any], method: str, path: str, role: str | None, body: Any, status: int, reason: str | None
) -> None:
    call = _get if method == "get" else _post
    r = call(explorer_app, path, role, **({"json": body} if body is not None else {}))
    assert r.status_code == status, r.text
    data = r.json()
    assert set(data) >= ERROR_KEYS, data
    assert data["error"] and data["reason"] and data["request_id"] == r.headers.get_list("x-request-id")[0]
    assert "detail" not in data
    if reason:
        assert data["reason"] == reason
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer") and "covary serve keys create" in data["hint"]


def test_a_caller_request_id_is_echoed_in_the_error(explorer_app: dict[str, Any]) -> None:
    r = httpx.get(explorer_app["url"] + "/v1/tables", headers={"x-request-id": "trace-42"})
    assert r.status_code == 401 and r.json()["request_id"] == "trace-42" == r.headers.get_list("x-request-id")[0]


def test_covary_ask_url_like_query_and_sql(
    explorer_app: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from covary.cli import main

    url, token = explorer_app["url"], explorer_app["tokens"]["viewer"]
    assert main(["ask", "--url", url, "--token", token, "--json", "what does mkt.signups measure?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["citations"] and out["answer"]
    monkeypatch.setenv("COVARY_URL", url)
    monkeypatch.setenv("COVARY_TOKEN", token)
    assert main(["ask", "why did mkt.signups change?"]) == 0
    text = capsys.readouterr().out
    assert "Sources:" in text and "[1]" in text
    assert main(["ask", "--url", url, "--token", "cvk_wrong", "anything?"]) == 2
    err = capsys.readouterr().err
    assert "401" in err and "invalid or revoked token" in err and err.count("\n") <= 2


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.77, "percent of clicks", "0.77 % of clicks"),
        (45.718, "USD per customer", "$45.72 per customer"),
        (374769.16, "USD", "$374,769"),
        (2.561, "USD revenue per USD spent", "2.56 USD revenue per USD spent"),
        (3200.0, "customers", "3,200 customers"),
        (5.25, "percent", "5.25 %"),
        (None, "USD", "n/a"),
    ],
)
def test_kpi_values_are_shown_with_their_unit(value: float | None, unit: str, shown: str) -> None:
    assert _display(value, unit) == shown


def test_change_colour_follows_the_direction() -> None:
    assert _good(7.0, False) is False and _good(-7.0, False) is True  # CAC up is bad, down is good
    assert _good(5.0, True) is True and _good(0.0, True) is None and _good(5.0, None) is None
    assert _direction("macro.unemp", "Seasonally adjusted unemployment rate")[0] is False
    assert _direction("synth.finance.revenue", "Booked revenue")[0] is True
    assert _direction("weather.rain", "Weekly rainfall")[0] is None  # unknown: not coloured
