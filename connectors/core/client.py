"""The resilient HTTP client every connector shares: rate limits, retries, auth, redaction, error translation."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from connectors.core._metrics import inc_metric
from connectors.core.auth import Auth, NoAuth
from connectors.core.clock import SYSTEM_CLOCK, Clock
from connectors.core.ratelimit import NoLimit, RateLimiter, rate_limit_wait
from connectors.core.retry import RETRY_STATUSES, RetryBudget, RetryPolicy, parse_retry_after
from connectors.core.secrets import Redactor
from connectors.core.ssrf import GuardedTransport, check_scheme, same_origin
from connectors.errors import (
    RequestFailedError,
    RetryAfterTooLongError,
    TerminalHTTPError,
    TransientHTTPError,
)

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5


@dataclass
class HttpResponse:
    """A successful answer: status, headers, the raw body, the parsed JSON and the secret-free URL."""

    status: int
    headers: httpx.Headers
    content: bytes
    data: Any
    url: str
    attempts: int = 1


@dataclass
class Wait:
    """One pause the client took, and why (``retry-after``, ``backoff``, ``rate-limit-reset``)."""

    reason: str
    seconds: float


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    waits: list[Wait] = field(default_factory=list)
    retry_reasons: dict[str, int] = field(default_factory=dict)


class HttpClient:
    """``request()`` returns parsed JSON or raises a covary error; transient failures are retried.

    Each attempt first takes a token from the rate limiter. 429/5xx/408, timeouts, connection
    errors and unreadable JSON bodies are retried with exponential backoff and jitter (or exactly
    the server's ``Retry-After``), each retry spending one unit of the run's ``budget``. A
    ``Retry-After`` above ``policy.max_retry_after_s`` stops the run with
    :class:`RetryAfterTooLongError`. 400/401/403/404/422 raise :class:`TerminalHTTPError` at once
    (after one token refresh on 401), naming the credential or parameter to fix.
    """

    def __init__(
        self,
        base_url: str,
        *,
        source: str = "source",
        auth: Auth | None = None,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
        clock: Clock = SYSTEM_CLOCK,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        allow_hosts: tuple[str, ...] = (),
    ) -> None:
        check_scheme(base_url, what=f"{source}: base URL")
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.auth = auth or NoAuth()
        self.clock = clock
        self.limiter: RateLimiter = limiter or NoLimit(clock)
        self.policy = policy or RetryPolicy()
        self.budget = budget or RetryBudget(200)
        self.stats = ClientStats()
        # Real network traffic goes through the SSRF guard (resolve, check, then connect to the checked
        # address); redirects are followed here, not by httpx, so credentials never leave the base origin.
        self.http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            headers=dict(headers or {}),
            transport=transport or GuardedTransport(extra_allowed=allow_hosts),
            follow_redirects=False,
        )
        self.auth.bind(self.http, clock)
        self.redactor = Redactor(param_names=self.auth.secret_params())
        # A refused/unresolvable connection is retried like any transport error; ``fail_fast_connect``
        # (set by ``covary source check``) raises it at once with the URL and the reason instead.
        self.fail_fast_connect = False

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def waits(self) -> list[Wait]:
        return self.stats.waits

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def safe_url(self, url: str, params: Mapping[str, Any] | None = None) -> str:
        """The URL with ``params`` and without any secret, for logs, errors and bronze."""
        full = httpx.URL(url, params={k: _param(v) for k, v in (params or {}).items()} or None)
        return self.redactor.url(str(full))

    # ------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_json: bool = True,
        context: str = "",
    ) -> HttpResponse:
        url = self.url_for(path)
        check_scheme(url, what=f"{self.source}: URL")
        attempt = 0
        refreshed = False
        redirects = 0
        what = f"{self.source}{'/' + context if context else ''}"
        while True:
            attempt += 1
            self.limiter.acquire(1.0)
            hdrs = dict(headers or {})
            prms: dict[str, Any] = {k: _param(v) for k, v in (params or {}).items() if v is not None}
            if same_origin(url, self.base_url):  # credentials go to the base URL's origin only
                self.auth.apply(hdrs, prms)
            self.redactor.add(*self.auth.secrets())
            safe = self.safe_url(url, {k: v for k, v in prms.items()})
            self.stats.requests += 1
            try:
                resp = self.http.request(method, url, params=prms or None, json=json, headers=hdrs)
            except httpx.TimeoutException as exc:
                self._retry(attempt, "timeout", f"{type(exc).__name__} after {self.http.timeout.read}s on {safe}", what)
                continue
            except httpx.TransportError as exc:
                if self.fail_fast_connect and isinstance(exc, httpx.ConnectError):
                    reason = self.redactor.text(" ".join(str(exc).split()) or type(exc).__name__)
                    raise RequestFailedError(
                        f"{what}: cannot connect to {safe}: {reason}",
                        hint="is the server up and the base URL right? (--base-url or connectors.base_urls)",
                    ) from None  # from None: the cause holds the unredacted URL (keys in queries)
                self._retry(attempt, "connection", f"{type(exc).__name__} on {safe}", what)
                continue
            status = resp.status_code
            if resp.is_redirect and "location" in resp.headers:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise RequestFailedError(f"{what}: more than {MAX_REDIRECTS} redirects from {safe}")
                url = str(resp.url.join(resp.headers["location"]))
                check_scheme(url, what=f"{self.source}: redirect target")
                params = None  # the Location carries its own query
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, json = "GET", None
                attempt -= 1  # a redirect is not a failed attempt
                continue
            rl_wait = rate_limit_wait(resp.headers, now_wall=self.clock.wall())
            if 200 <= status < 300:
                if rl_wait:
                    self._check_cap(rl_wait, "X-RateLimit-Reset", safe)
                    self.limiter.pause(rl_wait)
                    self.stats.waits.append(Wait("rate-limit-reset", rl_wait))
                data: Any = None
                if expect_json:
                    try:
                        data = orjson.loads(resp.content) if resp.content else None
                    except orjson.JSONDecodeError as exc:
                        detail = f"invalid JSON body ({len(resp.content)} bytes, {exc}) from {safe}"
                        self._retry(attempt, "invalid-json", detail, what)
                        continue
                return HttpResponse(status, resp.headers, resp.content, data, safe, attempt)
            if status == 401 and not refreshed and self.auth.refresh():
                refreshed = True
                self.redactor.add(*self.auth.secrets())
                continue
            if status in RETRY_STATUSES or status >= 500:
                retry_after = parse_retry_after(resp.headers.get("Retry-After"), now_wall=self.clock.wall())
                if retry_after is None and rl_wait:
                    retry_after = rl_wait
                if retry_after is not None:
                    self._check_cap(retry_after, "Retry-After", safe)
                self._retry(
                    attempt,
                    str(status),
                    f"HTTP {status} from {safe}",
                    what,
                    retry_after=retry_after,
                    status=status,
                    url=safe,
                )
                continue
            raise self._terminal(method, status, safe, resp, params or {})

    # ------------------------------------------------------------------------------------------
    def _check_cap(self, seconds: float, header: str, safe: str) -> None:
        cap = self.policy.max_retry_after_s
        if seconds > cap:
            raise RetryAfterTooLongError(
                f"{self.source}: the server asked to wait {seconds:.0f}s ({header}) on {safe}, "
                f"more than the cap of {cap:.0f}s; the run stopped cleanly and committed pages are kept",
                retry_after_s=seconds,
                hint="run again later (it resumes), or raise connectors.max_retry_after_s",
            )

    def _retry(
        self,
        attempt: int,
        reason: str,
        detail: str,
        what: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        url: str = "",
    ) -> None:
        detail = self.redactor.text(detail)
        if attempt >= self.policy.max_attempts:
            inc_metric("covary_ingest_errors", source=self.source, kind=reason)
            message = f"{what}: giving up after {attempt} attempts; last failure: {detail}"
            hint = "the source keeps failing; committed pages are kept and the next run resumes"
            if status is not None:
                raise TransientHTTPError(message, status=status, url=url, hint=hint)
            raise RequestFailedError(message, hint=hint)
        self.budget.spend(detail)
        self.stats.retries += 1
        self.stats.retry_reasons[reason] = self.stats.retry_reasons.get(reason, 0) + 1
        inc_metric("covary_ingest_retries", source=self.source, reason=reason)
        if retry_after is not None:
            wait = Wait("retry-after", retry_after)
            self.limiter.pause(retry_after)
        else:
            wait = Wait("backoff", self.policy.backoff(attempt))
        log.info("%s: retry %d in %.2fs (%s)", what, attempt, wait.seconds, detail)
        self.stats.waits.append(wait)
        self.clock.sleep(wait.seconds)

    def _terminal(
        self, method: str, status: int, safe: str, resp: httpx.Response, params: Mapping[str, Any]
    ) -> TerminalHTTPError:
        said = self.redactor.text(_server_message(resp))
        said_part = f"; the server said: {said}" if said else ""
        names = ", ".join(sorted(str(k) for k in params)) or "(none)"
        inc_metric("covary_ingest_errors", source=self.source, kind=str(status))
        if status == 401:
            msg = f"{self.source}: HTTP 401 Unauthorized for {method} {safe}: the {self.auth.describe()} was rejected"
            hint = f"check or renew the {self.auth.describe()}"
        elif status == 403:
            msg = f"{self.source}: HTTP 403 Forbidden for {method} {safe}: the {self.auth.describe()} lacks access"
            hint = "check the credential's scopes/permissions for this resource"
        elif status in (404, 410):
            msg = f"{self.source}: HTTP {status} Not Found for {method} {safe}"
            hint = f"check base_url, the endpoint path and its path/query parameters (sent: {names})"
        else:
            msg = f"{self.source}: HTTP {status} for {method} {safe}"
            hint = f"check the request parameters (sent: {names}) and the request body"
        return TerminalHTTPError(msg + said_part, status=status, url=safe, hint=hint)


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _server_message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip()
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "status_message", "detail", "errors"):
            if key in body:
                return str(body[key])[:200]
    return str(body)[:200]


__all__ = ["ClientStats", "HttpClient", "HttpResponse", "Wait"]
