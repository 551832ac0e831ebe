"""The offline replay server: recorded payloads per connector on 127.0.0.1, real pagination and rate-limit headers."""

from __future__ import annotations

import base64
import copy
import logging
import math
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from connectors.core.clock import SYSTEM_CLOCK, Clock
from connectors.replay.faults import FaultEvent, FaultPlan
from connectors.replay.manifest import Route, fixture_dirs, load_manifest

log = logging.getLogger(__name__)


class _Mount:
    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        self.manifest, self.data = load_manifest(directory)
        self.patterns = [_compile(r.path) for r in self.manifest.routes]


def _compile(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path.rstrip("/") or "/")) + "/?$")


class ReplayServer:
    """Serve ``fixtures`` (``{connector: directory}``; default: every connector with fixtures) under
    ``http://127.0.0.1:<port>/<connector>/...``. ``faults`` injects failures on a seeded schedule;
    ``clock`` drives rate-limit windows and token expiry (share a FakeClock with the client in tests).
    ``latency_s`` delays every answer (a remote API's round trip, for benchmarks); :attr:`arrivals`
    records when each request came in (``(connector, time.monotonic())``) to measure request rates.

        with ReplayServer({"shop": path}, faults=FaultPlan(rate=0.3, seed=1)) as server:
            base_url = server.base_url("shop")
    """

    def __init__(
        self,
        fixtures: dict[str, Path | str] | list[str] | None = None,
        *,
        faults: FaultPlan | None = None,
        clock: Clock = SYSTEM_CLOCK,
        host: str = "127.0.0.1",
        port: int = 0,
        advertise_host: str | None = None,
        latency_s: float = 0.0,
    ) -> None:
        """``host``: the interface to bind (``0.0.0.0`` so Ray workers on other hosts reach it);
        ``advertise_host``: the name clients use in :attr:`url` (default: the bound host, or this
        machine's host name when bound to every interface)."""
        known = fixture_dirs()
        if fixtures is None:
            fixtures = dict(known)
        elif isinstance(fixtures, list):
            missing = [n for n in fixtures if n not in known]
            if missing:
                from connectors.errors import SourceNotFoundError

                raise SourceNotFoundError(
                    f"no replay fixtures for {', '.join(missing)}",
                    hint=f"connectors with fixtures: {', '.join(sorted(known)) or '(none)'}",
                )
            fixtures = {n: known[n] for n in fixtures}
        self.mounts = {name: _Mount(name, Path(d)) for name, d in fixtures.items()}
        self.faults = faults or FaultPlan()
        if latency_s < 0:
            raise ValueError("latency_s must be >= 0")
        self.latency_s = float(latency_s)
        self.arrivals: list[tuple[str, float]] = []
        self.clock = clock
        self.log: list[FaultEvent] = []
        self.requests: list[tuple[str, str, str]] = []
        self.tokens: dict[str, float] = {}
        self._windows: dict[tuple[str, int], tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._n = 0
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        if advertise_host is None and host in ("0.0.0.0", "::", ""):
            import socket

            advertise_host = socket.getfqdn()
        self.advertise_host = advertise_host
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = self.advertise_host or (host.decode() if isinstance(host, bytes) else host)
        return f"http://{host}:{port}"

    def base_url(self, connector: str) -> str:
        return f"{self.url}/{connector}"

    def start(self) -> ReplayServer:
        from connectors.core.ssrf import allow_host

        host, port = self._httpd.server_address[:2]
        allow_host(host.decode() if isinstance(host, bytes) else str(host), int(port), local_server=True)  # SSRF
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="covary-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        from connectors.core.ssrf import disallow_host

        host, port = self._httpd.server_address[:2]
        disallow_host(host.decode() if isinstance(host, bytes) else str(host), int(port))
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def expire_tokens(self) -> None:
        """Invalidate every issued OAuth token (the next API call answers 401)."""
        with self._lock:
            self.tokens.clear()

    def max_request_rate(self, connector: str, window_s: float = 1.0) -> int:
        """The most requests for ``connector`` that arrived within any ``window_s`` seconds."""
        with self._lock:
            times = sorted(t for name, t in self.arrivals if name == connector)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window_s:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def events(self, kind: str | None = None) -> list[FaultEvent]:
        return [e for e in self.log if kind is None or e.kind == kind]

    # ---------------------------------------------------------------------------------- serving
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes, float]:
        """Answer one request: (status, headers, body, delay seconds)."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        segs = parts.path.lstrip("/").split("/", 1)
        mount = self.mounts.get(segs[0])
        rest = "/" + (segs[1] if len(segs) > 1 else "")
        with self._lock:
            self._n += 1
            n = self._n
            self.requests.append((method, parts.path, parts.query))
            self.arrivals.append((segs[0], time.monotonic()))
        if mount is None:
            return _json(404, {"message": f"no connector {segs[0]!r} on this replay server"})
        for i, (route, pattern) in enumerate(zip(mount.manifest.routes, mount.patterns, strict=True)):
            m = pattern.match(rest.rstrip("/") or "/")
            if m and route.method == method:
                return self._route(n, mount, i, route, m.groupdict(), query, headers, body, parts.path)
        return _json(404, {"message": f"no route for {method} {rest}"})

    def _route(
        self,
        n: int,
        mount: _Mount,
        index: int,
        route: Route,
        path_vars: dict[str, str],
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        full_path: str,
    ) -> tuple[int, dict[str, str], bytes, float]:
        if route.oauth_token is not None:
            return self._token(route, headers, body)
        denied = self._check_auth(route, headers, query)
        if denied:
            return denied
        extra: dict[str, str] = dict(route.headers)
        if route.rate_limit:
            limited, rl_headers = self._rate(mount.name, index, route)
            extra |= rl_headers
            if limited:
                return _json(429, {"message": "API rate limit exceeded"}, extra)
        payload, bad_body = _parse_body(headers, body)
        if bad_body:
            return _json(400, {"message": bad_body}, extra)
        qs = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        if route.faults:
            kind, retry_after = self.faults.transient(n)
            if kind:
                event = FaultEvent(n, kind, full_path, qs, retry_after if kind == "429" else None)
                with self._lock:
                    self.log.append(event)
                if kind == "429":
                    return _json(429, {"message": "slow down"}, extra | {"Retry-After": str(retry_after)})
                if kind in ("500", "503"):
                    return _json(int(kind), {"message": "upstream error"}, extra)
        else:
            kind = None
        status, out_headers, data = self._payload(mount, index, route, path_vars, query, payload, headers, full_path)
        delay = 0.0
        if route.faults and isinstance(data, dict | list) and status == 200 and mount.data.get(index) is not None:
            page_key = f"{full_path}?{qs}#{orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()}"
            if self.faults.drifts(page_key):
                changed = _drift(data, route)
                with self._lock:
                    self.log.append(FaultEvent(n, "drift", full_path, qs, None, changed))
        raw = orjson.dumps(data) if not isinstance(data, bytes) else data
        if kind == "truncated":
            raw = raw[: max(1, len(raw) // 2)]
        if kind == "slow":
            delay = self.faults.slow_s
        return status, extra | out_headers | {"Content-Type": "application/json"}, raw, delay

    def _check_auth(
        self, route: Route, headers: dict[str, str], query: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes, float] | None:
        auth = route.auth
        if auth is None:
            return None
        given = headers.get("authorization", "")
        if auth.oauth:
            token = given.removeprefix("Bearer ")
            with self._lock:
                expiry = self.tokens.get(token)
            if expiry is None or self.clock.now() >= expiry:
                return _json(401, {"error": "invalid_token", "message": "The access token expired"})
            return None
        if auth.bearer is not None:
            if not given:
                return _json(401, {"message": "Requires authentication"})
            if given != f"Bearer {auth.bearer}":
                return _json(401, {"message": "Bad credentials"})
        if auth.header is not None and headers.get(auth.header.lower()) != auth.value:
            return _json(401, {"message": f"Invalid API key in header {auth.header}"})
        if auth.query is not None and query.get(auth.query) != auth.value:
            return _json(401, {"message": "Invalid API key"})
        return None

    def _token(self, route: Route, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes, float]:
        cfg = route.oauth_token
        assert cfg is not None
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        cid, secret = form.get("client_id"), form.get("client_secret")
        basic = headers.get("authorization", "")
        if basic.startswith("Basic "):
            cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        if (cid, secret) != (cfg.client_id, cfg.client_secret):
            return _json(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(16)
        with self._lock:
            self.tokens[token] = self.clock.now() + cfg.expires_in
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": cfg.expires_in})

    def _rate(self, mount: str, index: int, route: Route) -> tuple[bool, dict[str, str]]:
        rl = route.rate_limit
        assert rl is not None
        now = self.clock.now()
        with self._lock:
            start, used = self._windows.get((mount, index), (now, 0))
            if now >= start + rl.window_s:
                start, used = now, 0
            limited = used >= rl.limit
            if not limited:
                used += 1
            self._windows[(mount, index)] = (start, used)
        reset = start + rl.window_s
        reset_epoch = self.clock.wall() + (reset - now)  # like GitHub: epoch seconds, whatever the clock
        headers = {
            "X-RateLimit-Limit": str(rl.limit),
            "X-RateLimit-Remaining": str(max(0, rl.limit - used)),
            "X-RateLimit-Reset": str(math.ceil(reset_epoch)),
        }
        if limited:
            headers["Retry-After"] = str(max(1, round(reset - now)))
        return limited, headers

    def _payload(
        self,
        mount: _Mount,
        index: int,
        route: Route,
        path_vars: dict[str, str],
        query: dict[str, str],
        payload: dict[str, Any],
        headers: dict[str, str],
        full_path: str,
    ) -> tuple[int, dict[str, str], Any]:
        base = f"http://{headers.get('host', '127.0.0.1')}"
        if route.responses:
            for rec in route.responses:
                if (
                    _matches(rec.match.query, query)
                    and _matches(rec.match.path, path_vars)
                    and _sub(rec.match.body, payload)
                ):
                    data = rec.body if rec.file is None else orjson.loads((mount.directory / rec.file).read_bytes())
                    hdrs = {k: v.replace("{base}", f"{base}/{mount.name}") for k, v in rec.headers.items()}
                    return rec.status, hdrs, copy.deepcopy(data)
            return 404, {}, {"message": "Not Found", "query": query}
        records = mount.data.get(index, [])
        for var, fld in route.path_filter.items():
            records = [r for r in records if str(r.get(fld)) == path_vars.get(var)]
        if route.filter:
            value = query.get(route.filter["param"]) or (payload.get("variables") or {}).get(route.filter["param"])
            if value is not None:
                records = [r for r in records if _ge(r.get(route.filter["field"]), value)]
        return _paginate(route, records, query, payload, f"{base}{full_path}")


def _ge(a: Any, b: str) -> bool:
    if a is None:
        return False
    if isinstance(a, int | float):
        try:
            return a >= float(b)
        except ValueError:
            return False
    return str(a) >= b


def _matches(want: dict[str, str], have: dict[str, str]) -> bool:
    return all(str(have.get(k)) == str(v) for k, v in want.items())


def _sub(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_sub(v, have.get(k)) for k, v in want.items())
    return want == have


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for p in parts[:-1]:
        data = data.setdefault(p, {})
    data[parts[-1]] = value


def _envelope(p: Any, records: list[Any], extras: dict[str, Any]) -> Any:
    if not p.envelope:
        return records
    body: dict[str, Any] = {}
    _set(body, p.envelope, records)
    for path, value in extras.items():
        if path:
            _set(body, path, value)
    return body


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _uncursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return -1


def _paginate(
    route: Route, records: list[Any], query: dict[str, str], payload: dict[str, Any], url: str
) -> tuple[int, dict[str, str], Any]:
    p = route.paginate
    total = len(records)
    extras: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if p.total_path:
        extras[p.total_path] = total
    try:
        if p.style == "none":
            return 200, {}, _envelope(p, records, extras)
        if p.style in ("page_number", "link_header"):
            size = int(query.get(p.size_param, p.page_size)) if p.size_param else p.page_size
            page = int(query.get(p.page_param, p.start))
            lo = (page - p.start) * size
            chunk = records[lo : lo + size] if lo >= 0 else []
            more = lo + size < total
            if p.style == "link_header":
                links = []
                if more:
                    links.append(f'<{url}?{urlencode(query | {p.page_param: page + 1})}>; rel="next"')
                last = p.start + max(0, (total - 1) // size)
                links.append(f'<{url}?{urlencode(query | {p.page_param: last})}>; rel="last"')
                headers["Link"] = ", ".join(links)
        elif p.style == "offset":
            lo, size = int(query.get(p.offset_param, 0)), int(query.get(p.limit_param, p.page_size))
            chunk, more = records[lo : lo + size], lo + size < total
        elif p.style in ("cursor", "next_url"):
            size = int(query.get(p.size_param, p.page_size)) if p.size_param else p.page_size
            lo = _uncursor(query.get(p.cursor_param) or (payload.get(p.cursor_param) if payload else None))
            if lo < 0:
                return 400, {}, {"message": f"invalid cursor {query.get(p.cursor_param)!r}"}
            chunk, more = records[lo : lo + size], lo + size < total
            page_no = lo // size + 1
            nxt = _cursor(lo + size) if more else None
            if p.repeat_cursor_at is not None and page_no >= p.repeat_cursor_at and lo > 0:
                nxt = _cursor(lo)  # buggy server: hands out the cursor of this page again
            if p.style == "next_url":
                nxt = f"{url}?{urlencode(query | {p.cursor_param: nxt})}" if nxt else None
            extras[p.next_path] = nxt
        else:  # graphql
            variables = payload.get("variables") or {}
            size = int(variables.get(p.size_variable) or p.page_size)
            lo = _uncursor(variables.get(p.cursor_variable))
            if lo < 0:
                return 200, {}, {"data": None, "errors": [{"message": "invalid cursor"}]}
            chunk, more = records[lo : lo + size], lo + size < total
            conn: dict[str, Any] = {
                "nodes": copy.deepcopy(chunk),
                "pageInfo": {"hasNextPage": more, "endCursor": _cursor(lo + size) if chunk else None},
                "totalCount": total,
            }
            body: dict[str, Any] = {}
            _set(body, p.envelope or "data.items", conn)
            return 200, headers, body
    except ValueError as exc:
        return 400, {}, {"message": f"bad pagination parameter: {exc}"}
    if p.has_more_path:
        extras[p.has_more_path] = more
    return 200, headers, _envelope(p, copy.deepcopy(chunk), extras)


def _drift(data: Any, route: Route) -> list[Any]:
    """Mutate a page: every record gains ``new_field``; every N-th gets ``field`` as a string. Returns ids changed."""
    from connectors.core.selectors import select_records

    env = route.paginate.envelope
    if route.paginate.style == "graphql":
        env = f"{env or 'data.items'}.nodes"
    records = select_records(data, env or None) or []
    changed = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            continue
        rec[route.drift.new_field] = f"drift-{i}"
        field = route.drift.field
        if field and field in rec and i % route.drift.every == 0:
            rec[field] = f"n/a ({rec[field]})"
            changed.append(rec.get(route.id_field))
    return changed


def _parse_body(headers: dict[str, str], body: bytes) -> tuple[Any, str | None]:
    """The request body as recorded payloads match it: JSON, a form as a dict, anything else (multipart
    uploads, binary) as ``{}``. Returns ``(payload, error)``; a JSON body that does not parse is an error."""
    if not body:
        return {}, None
    ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"))), None
    if ctype.endswith("json") or (not ctype and body.lstrip()[:1] in (b"{", b"[")):
        try:
            return orjson.loads(body), None
        except orjson.JSONDecodeError as exc:
            return None, f"request body is not valid JSON: {exc}"
    return {}, None


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes, float]:
    return status, (headers or {}) | {"Content-Type": "application/json"}, orjson.dumps(body), 0.0


def _handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK
        # (~40 ms per answer on Linux), which a real API does not add
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, out, raw, delay = server.handle(self.command, self.path, headers, body)
            except Exception as exc:  # a fixture bug answers 500 (and is logged) instead of killing the thread
                log.exception("replay server error on %s %s", self.command, self.path)
                status, out, raw, delay = _json(500, {"message": f"replay server error: {exc}"})
            delay += server.latency_s
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                for k, v in out.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                log.debug("client went away (timeout) on %s", self.path)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("replay: " + format, *args)

    return Handler


__all__ = ["ReplayServer"]
