"""The query app on a real local Serve instance: routes, auth (401/403), guard (400), audit, overload (503)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("ray_local")

PROTECTED = [
    ("GET", "/v1/health", "viewer", None),
    ("POST", "/v1/query", "viewer", {"json": {"question": "average unemployment rate by year"}}),
    ("POST", "/v1/sql", "analyst", {"json": {"sql": "SELECT 1"}}),
    ("GET", "/v1/tables", "viewer", None),
    ("GET", "/v1/tables/gold.series_values", "viewer", None),
    ("GET", "/v1/series", "viewer", None),
    ("GET", "/v1/series/test.output", "viewer", None),
    ("GET", "/v1/findings", "viewer", None),
    ("GET", "/v1/findings/abc", "viewer", None),
    ("GET", "/v1/kpi", "viewer", None),
    ("GET", "/v1/kpi/test.output", "viewer", None),
    ("POST", "/v1/upload", "analyst", {"files": {"file": ("x.csv", b"a,b\n1,2\n")}}),
    ("GET", "/v1/admin/keys", "admin", None),
    ("POST", "/v1/admin/audit/flush", "admin", None),
]
LOWER = {"viewer": None, "analyst": "viewer", "admin": "analyst"}


def auth(app, role):
    return {"Authorization": f"Bearer {app['tokens'][role]}"}


def test_liveness_needs_no_token_but_details_do(serve_app):
    r = httpx.get(f"{serve_app['url']}/v1/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert httpx.get(f"{serve_app['url']}/v1/health").status_code == 401
    details = httpx.get(f"{serve_app['url']}/v1/health", headers=auth(serve_app, "viewer")).json()
    assert set(details["engine"]["tables"]) == {"gold.series_catalog", "gold.series_values"}


@pytest.mark.parametrize(("method", "path", "role", "kwargs"), PROTECTED)
def test_every_route_401_and_403(serve_app, method, path, role, kwargs):
    url = serve_app["url"] + path
    assert httpx.request(method, url, **(kwargs or {})).status_code == 401
    bad = {"Authorization": "Bearer cvk_nope_secret"}
    assert httpx.request(method, url, headers=bad, **(kwargs or {})).status_code == 401
    assert httpx.request(method, url, headers={"X-API-Key": "garbage"}, **(kwargs or {})).status_code == 401
    lower = LOWER[role]
    if lower:
        r = httpx.request(method, url, headers=auth(serve_app, lower), **(kwargs or {}))
        assert r.status_code == 403, r.text
    r = httpx.request(method, url, headers=auth(serve_app, role), **(kwargs or {}), timeout=60)
    assert r.status_code not in (401, 403), r.text


def test_query_answers_with_sql_rows_chart_and_explanation(serve_app):
    from tests.serve.conftest import planted_values

    r = httpx.post(
        f"{serve_app['url']}/v1/query",
        json={"question": "average unemployment rate by year since 2005"},
        headers=auth(serve_app, "viewer"),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "test.jobless" in body["sql"] and body["chart"]["type"] == "line" and body["explanation"]
    assert body["columns"] == ["period", "jobless"]
    cycle = planted_values()["test.jobless"]
    expected = [sum(cycle[i : i + 4]) / 4 for i in range(20, 40, 4)]
    assert [row[1] for row in body["rows"]] == pytest.approx(expected)
    assert [row[0][:4] for row in body["rows"]] == ["2005", "2006", "2007", "2008", "2009"]


def test_unanswerable_question_says_so(serve_app):
    r = httpx.post(
        f"{serve_app['url']}/v1/query",
        json={"question": "what is the meaning of life"},
        headers=auth(serve_app, "viewer"),
        timeout=60,
    )
    assert r.status_code == 422 and "measure" in r.json()["error"]


def test_sql_runs_and_blocked_sql_is_400_with_reason(serve_app):
    url, headers = f"{serve_app['url']}/v1/sql", auth(serve_app, "analyst")
    ok = httpx.post(url, json={"sql": "SELECT count(*) AS n FROM gold.series_values"}, headers=headers, timeout=60)
    assert ok.status_code == 200 and ok.json()["rows"] == [[120]]
    for sql, reason in [
        ("DROP TABLE gold.series_values", "ddl"),
        ("SELECT * FROM read_csv('/etc/passwd')", "function"),
        ("SELECT 1; SELECT 2", "multiple_statements"),
    ]:
        r = httpx.post(url, json={"sql": sql}, headers=headers, timeout=60)
        assert r.status_code == 400 and r.json()["blocked"] is True and r.json()["reason"] == reason
    still = httpx.post(url, json={"sql": "SELECT count(*) FROM gold.series_values"}, headers=headers, timeout=60)
    assert still.json()["rows"] == [[120]]


def test_timeout_and_row_cap_over_http(serve_app):
    url, headers = f"{serve_app['url']}/v1/sql", auth(serve_app, "analyst")
    slow = httpx.post(url, json={"sql": "SELECT count(*) FROM range(100000000000)"}, headers=headers, timeout=60)
    assert slow.status_code == 504 and "interrupted" in slow.json()["error"]
    big = httpx.post(url, json={"sql": "SELECT * FROM range(10000000)"}, headers=headers, timeout=60)
    assert big.status_code == 200 and big.json()["row_count"] == 500


def test_data_routes(serve_app):
    h = auth(serve_app, "viewer")
    tables = httpx.get(f"{serve_app['url']}/v1/tables", headers=h).json()
    values = next(t for t in tables if t["table"] == "gold.series_values")
    assert values["queryable"] and all(c["description"] for c in values["columns"])
    series = httpx.get(f"{serve_app['url']}/v1/series", params={"domain": "labour"}, headers=h).json()
    assert [r[0] for r in series["rows"]] == ["test.jobless"]
    one = httpx.get(f"{serve_app['url']}/v1/series/test.output", params={"start": "2009-01-01"}, headers=h).json()
    assert one["row_count"] == 4 and one["meta"]["unit"] == "bn"
    assert httpx.get(f"{serve_app['url']}/v1/series/nope", headers=h).status_code == 404
    kpi = httpx.get(f"{serve_app['url']}/v1/kpi/test.output", params={"grain": "year"}, headers=h).json()
    assert len(kpi["rows"]) == 10
    assert httpx.get(f"{serve_app['url']}/v1/findings", headers=h).status_code == 404  # no findings table data
    assert httpx.get(f"{serve_app['url']}/openapi.json").json()["info"]["title"] == "covary query service"
    up = httpx.post(
        f"{serve_app['url']}/v1/upload",
        files={"file": ("sales.csv", b"day,amount\n2024-01-01,3\n2024-01-02,5\n")},
        data={"name": "sales"},
        headers=auth(serve_app, "analyst"),
        timeout=120,
    )
    assert up.status_code == 200, up.text
    assert up.json()["rows_loaded"] == 2 and up.json()["upload"] == "sales"


def test_requests_are_audited(serve_app):
    from lakehouse import Lakehouse

    h = auth(serve_app, "analyst")
    httpx.post(f"{serve_app['url']}/v1/sql", json={"sql": "DELETE FROM gold.series_values"}, headers=h, timeout=60)
    httpx.get(f"{serve_app['url']}/v1/tables")  # 401
    time.sleep(0.3)
    httpx.post(f"{serve_app['url']}/v1/admin/audit/flush", headers=auth(serve_app, "admin"), timeout=60)
    lake = Lakehouse(serve_app["lake"].root)
    rows = lake.read("ops.audit").to_pylist()
    blocked = [r for r in rows if r["blocked_reason"] == "write"]
    assert blocked and blocked[-1]["status"] == 400 and blocked[-1]["route"] == "/v1/sql"
    key_id = serve_app["tokens"]["analyst"].split("_")[1]
    assert blocked[-1]["key_id"] == key_id and blocked[-1]["query_hash"]
    assert any(r["status"] == 401 and r["key_id"] is None and r["route"] == "/v1/tables" for r in rows)
    secrets = set(serve_app["tokens"].values())
    assert not any(s in str(r) for r in rows for s in secrets)


def test_rate_limit_429_with_retry_after():
    from serve.auth import RateLimiter

    limiter = RateLimiter({"viewer": 60.0}, burst={"viewer": 2})
    assert limiter.check("k", "viewer") == 0 and limiter.check("k", "viewer") == 0
    wait = limiter.check("k", "viewer")
    assert 0 < wait <= 1.0
    assert limiter.check("other", "viewer") == 0


def test_overload_gets_503_with_retry_after(serve_app, session_lake, tmp_path):
    """A second app with capacity 2 ongoing + 2 queued at the ingress; 8 concurrent slow requests."""
    from ray import serve

    from serve.query.app import build_app

    args = {
        "lake_root": session_lake.root,
        "api_keys_path": str(serve_app["keys_path"]),
        "audit": False,
        "engine": {"timeout_s": 30.0, "threads": 1},
        "ingress": {"max_ongoing_requests": 2, "max_queued_requests": 2},
        "sql_engine": {"max_ongoing_requests": 2, "max_queued_requests": 2},
        "retry_after_s": 2,
        "rate_limits": {"analyst": 0},
    }
    serve.run(build_app(args), name="overload", route_prefix="/ovl")
    sql = "SELECT count(*) FROM range(150000000) t(i) WHERE i % 7 = 3"

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            calls = [
                client.post(f"{serve_app['url']}/ovl/v1/sql", json={"sql": sql}, headers=auth(serve_app, "analyst"))
                for _ in range(8)
            ]
            return await asyncio.gather(*calls)

    try:
        responses = asyncio.run(fire())
    finally:
        serve.delete("overload")
    codes = [r.status_code for r in responses]
    rejected = [r for r in responses if r.status_code in (429, 503)]
    admitted = [r for r in responses if r.status_code == 200]
    assert rejected, codes
    assert all(r.headers.get("retry-after") == "2" for r in rejected), [dict(r.headers) for r in rejected]
    assert admitted and all(r.json()["rows"] == [[150000000 // 7 + (1 if 150000000 % 7 > 3 else 0)]] for r in admitted)
    assert set(codes) <= {200, 429, 503}
