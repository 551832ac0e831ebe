"""The HTTP client against the replay server: terminal errors, Retry-After cap, budget, auth, redaction, limits."""

from __future__ import annotations

import httpx
import pytest

from connectors.core import (
    ApiKeyAuth,
    BearerAuth,
    FakeClock,
    HttpClient,
    OAuth2ClientCredentials,
    RetryBudget,
    RetryPolicy,
    TokenBucket,
)
from connectors.errors import (
    CredentialError,
    RetryAfterTooLongError,
    RetryBudgetExhaustedError,
    TerminalHTTPError,
)
from connectors.replay import FaultPlan

ROUTES = [
    {"path": "/things", "records": "things.json", "auth": {"bearer": "s3cret-token"}},
    {"path": "/keyed", "records": "things.json", "auth": {"query": "api_key", "value": "k3y-value"}},
    {
        "path": "/oauth/token",
        "method": "POST",
        "oauth_token": {"client_id": "cid", "client_secret": "csecret", "expires_in": 100},
    },
    {"path": "/protected", "records": "things.json", "auth": {"oauth": True}},
    {"path": "/limited", "records": "things.json", "rate_limit": {"limit": 3, "window_s": 60}, "faults": False},
]
FILES = {
    "things.json": [
        {"id": i, "name": f"item {i}", "score": i * 1.5, "updated_at": "2024-01-01T00:00:00Z"} for i in (1, 2, 3)
    ]
}


def test_401_is_terminal_names_the_credential_and_hides_it(serve) -> None:
    server = serve(ROUTES, FILES)
    client = HttpClient(server.base_url("api"), source="demo", auth=BearerAuth(token="wrong-token-123"))
    with pytest.raises(TerminalHTTPError) as info:
        client.request("GET", "/things")
    err = info.value
    assert err.status == 401 and "bearer token" in err.message and "Bad credentials" in err.message
    assert "wrong-token-123" not in err.message + (err.hint or "")
    assert client.stats.requests == 1 and client.stats.retries == 0  # fail fast, no retry


def test_missing_env_credential_names_the_variable(serve, monkeypatch) -> None:
    monkeypatch.delenv("DEMO_TOKEN", raising=False)
    server = serve(ROUTES, FILES)
    client = HttpClient(server.base_url("api"), auth=BearerAuth(token="env:DEMO_TOKEN"))
    with pytest.raises(CredentialError, match="DEMO_TOKEN"):
        client.request("GET", "/things")


def test_404_names_path_and_params(serve) -> None:
    server = serve(ROUTES, FILES)
    client = HttpClient(server.base_url("api"), source="demo")
    with pytest.raises(TerminalHTTPError) as info:
        client.request("GET", "/nope", params={"page": 2})
    assert info.value.status == 404 and "/nope?page=2" in info.value.message
    assert "path" in (info.value.hint or "") and "page" in (info.value.hint or "")


def test_query_api_key_is_redacted_from_urls(serve) -> None:
    server = serve(ROUTES, FILES)
    client = HttpClient(server.base_url("api"), auth=ApiKeyAuth(key="k3y-value", name="api_key", location="query"))
    resp = client.request("GET", "/keyed")
    assert len(resp.data) == 3
    assert ("k3y-value" not in resp.url and "api_key=%2A%2A%2A" in resp.url) or "api_key=***" in resp.url
    bad = HttpClient(server.base_url("api"), auth=ApiKeyAuth(key="wrong-k3y", name="api_key", location="query"))
    with pytest.raises(TerminalHTTPError) as info:
        bad.request("GET", "/keyed")
    assert "wrong-k3y" not in info.value.message and "wrong-k3y" not in info.value.url


def test_retry_after_above_cap_stops_cleanly(serve) -> None:
    clock = FakeClock()
    server = serve(ROUTES, FILES, faults=FaultPlan(rate=1.0, seed=1, weights={"429": 1}, retry_after_s=(500, 500)))
    client = HttpClient(
        server.base_url("api"),
        auth=BearerAuth(token="s3cret-token"),
        clock=clock,
        policy=RetryPolicy(max_retry_after_s=120),
    )
    with pytest.raises(RetryAfterTooLongError) as info:
        client.request("GET", "/things")
    assert info.value.retry_after_s == 500 and "cap" in info.value.message
    assert clock.sleeps == []  # it did not wait 500 s


def test_retry_budget_is_shared_and_enforced(serve) -> None:
    clock = FakeClock()
    server = serve(ROUTES, FILES, faults=FaultPlan(rate=1.0, seed=2, weights={"503": 1}))
    budget = RetryBudget(5)
    client = HttpClient(
        server.base_url("api"),
        auth=BearerAuth(token="s3cret-token"),
        clock=clock,
        budget=budget,
        policy=RetryPolicy(max_attempts=100, seed=0),
    )
    with pytest.raises(RetryBudgetExhaustedError):
        client.request("GET", "/things")
    assert budget.used == 5 and client.stats.requests == 6
    waits = [w.seconds for w in client.waits]
    assert all(w.reason == "backoff" for w in client.waits)
    # exponential: each wait is base*2^(n-1) within ±50% jitter
    for n, w in enumerate(waits, start=1):
        assert 0.25 * 2 ** (n - 1) <= w <= 0.75 * 2 ** (n - 1)


def test_truncated_json_and_5xx_are_retried_then_succeed(serve) -> None:
    clock = FakeClock()
    server = serve(ROUTES, FILES, faults=FaultPlan(rate=0.6, seed=11, weights={"truncated": 1, "500": 1}))
    client = HttpClient(server.base_url("api"), auth=BearerAuth(token="s3cret-token"), clock=clock)
    for _ in range(5):
        assert [r["id"] for r in client.request("GET", "/things").data] == [1, 2, 3]
    kinds = {e.kind for e in server.events()}
    assert kinds == {"truncated", "500"}
    assert client.stats.retries == len(server.events())


def test_oauth_client_credentials_fetches_and_refreshes(serve) -> None:
    clock = FakeClock()
    server = serve(ROUTES, FILES, clock=clock)
    auth = OAuth2ClientCredentials(
        token_url=f"{server.base_url('api')}/oauth/token", client_id="cid", client_secret="csecret", leeway_s=10
    )
    client = HttpClient(server.base_url("api"), auth=auth, clock=clock)
    assert len(client.request("GET", "/protected").data) == 3
    assert auth.fetches == 1
    clock.advance(95)  # past expiry minus leeway: refreshed before the request
    client.request("GET", "/protected")
    assert auth.fetches == 2
    server.expire_tokens()  # revoked server-side: 401, one refresh, retry succeeds
    client.request("GET", "/protected")
    assert auth.fetches == 3
    bad = OAuth2ClientCredentials(
        token_url=f"{server.base_url('api')}/oauth/token", client_id="cid", client_secret="nope-secret"
    )
    with pytest.raises(CredentialError) as info:
        HttpClient(server.base_url("api"), auth=bad).request("GET", "/protected")
    assert "client_secret" in (info.value.hint or "") and "nope-secret" not in info.value.message


def test_server_rate_limit_headers_are_obeyed(serve) -> None:
    clock = FakeClock()
    server = serve(ROUTES, FILES, clock=clock)
    client = HttpClient(server.base_url("api"), clock=clock)
    for _ in range(7):
        client.request("GET", "/limited")
    # limit 3 per 60 s window: the client paused for the reset instead of hammering into 429s
    assert [r for r in server.requests if r[1].endswith("/limited")].__len__() == 7
    assert any(w.reason == "rate-limit-reset" for w in client.waits)
    assert clock.now() - 1_700_000_000.0 >= 120


def test_token_bucket_paces_requests() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, burst=1, clock=clock)
    for _ in range(11):
        bucket.acquire()
    assert clock.now() - 1_700_000_000.0 == pytest.approx(2.0)


def test_mock_transport_connection_errors_are_retried() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=[{"id": 1}])

    clock = FakeClock()
    client = HttpClient("https://api.example.com", transport=httpx.MockTransport(handler), clock=clock)
    assert client.request("GET", "/x").data == [{"id": 1}]
    assert client.stats.retry_reasons == {"connection": 2}
