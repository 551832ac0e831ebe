"""Issue 16 item 5: connectors fetch http(s) only; private/loopback/link-local targets are refused BEFORE
connecting unless allow-listed; next/Link URLs stay on the base host; credentials never go elsewhere.
No traffic leaves loopback: refused targets are checked by resolution (IP literals need none)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from connectors.core.auth import ApiKeyAuth
from connectors.core.client import HttpClient, HttpResponse
from connectors.core.pagination import LinkHeaderPaginator, NextUrlPaginator, PageRequest
from connectors.core.spec import parse_spec
from connectors.core.ssrf import UnsafeTargetError, check_target, is_public
from connectors.errors import PaginationError, SpecError


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Any socket connect would be recorded and refused: a refused target must never be contacted."""
    attempts: list[tuple] = []
    real = socket.socket.connect

    def connect(self: socket.socket, address: tuple) -> None:
        host = address[0]
        if host not in ("127.0.0.1", "::1"):
            attempts.append(address)
            raise OSError("test: non-loopback connect attempted")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/api",
        "http://192.168.1.1/",
        "http://172.16.3.4:8080/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://127.0.0.1:9/",
        "http://[::1]:9/",
        "http://localhost:9/",
    ],
)
def test_private_targets_refused_before_connecting(url: str, no_connect: list[tuple]) -> None:
    with pytest.raises(UnsafeTargetError, match="refusing to connect"):
        check_target(url)
    client = HttpClient(url, source="probe")
    with pytest.raises(UnsafeTargetError):
        client.request("GET", "")
    client.close()
    assert no_connect == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://example.org/x", "//x/y", "x"])
def test_only_http_schemes(url: str) -> None:
    with pytest.raises(UnsafeTargetError, match="only http"):
        HttpClient(url, source="probe")
    spec = {"name": "s", "base_url": url, "endpoints": [{"name": "e", "path": "/e"}]}
    with pytest.raises(SpecError, match="base_url"):
        parse_spec(spec)


def test_public_addresses_are_public() -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address("93.184.216.34")) and is_public(ipaddress.ip_address("2606:4700::1"))
    assert not is_public(ipaddress.ip_address("169.254.169.254"))


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict]] = []

    def do_GET(self) -> None:
        _Recorder.seen.append({"path": self.path, "headers": dict(self.headers)})
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.headers["X-Target"])
            self.end_headers()
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[list[str]]:
    """Two loopback servers (127.0.0.1 and 127.0.0.2 are different hosts; both loopback)."""
    started = []
    for host in ("127.0.0.1", "127.0.0.1"):
        httpd = ThreadingHTTPServer((host, 0), _Recorder)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
    _Recorder.seen.clear()
    yield [f"http://127.0.0.1:{h.server_address[1]}" for h in started]
    for h in started:
        h.shutdown()
        h.server_close()


def test_allow_listed_loopback_works_and_credentials_stay_home(
    servers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from covary.settings import reset_settings

    home, other = servers
    with pytest.raises(UnsafeTargetError):  # not allow-listed yet
        HttpClient(home, source="t").request("GET", "/x")
    monkeypatch.setenv(
        "COVARY_CONNECTORS__ALLOWED_PRIVATE_HOSTS", f'["{home.split("//")[1]}", "{other.split("//")[1]}"]'
    )
    reset_settings()
    try:
        client = HttpClient(home, source="t", auth=ApiKeyAuth(key="s3cret-key", name="X-Api-Key"))
        assert client.request("GET", "/x").data == {"ok": True}
        assert _Recorder.seen[-1]["headers"].get("X-Api-Key") == "s3cret-key"
        # a redirect to another origin is followed without the credential
        client.request("GET", "/redirect", headers={"X-Target": f"{other}/landing"})
        landing = _Recorder.seen[-1]
        assert landing["path"] == "/landing" and "X-Api-Key" not in landing["headers"]
        # an absolute URL on another origin never gets the credential either
        client.request("GET", f"{other}/direct")
        assert "X-Api-Key" not in _Recorder.seen[-1]["headers"]
        client.close()
    finally:
        reset_settings()


def _response(url: str, data: object = None, link: str | None = None) -> HttpResponse:
    headers = httpx.Headers({"Link": link} if link else {})
    return HttpResponse(200, headers, b"", data, url)


def test_next_and_link_urls_must_stay_on_the_base_host() -> None:
    page = PageRequest("/items", {})
    nxt = NextUrlPaginator()
    ok = nxt.next(page, _response("https://api.example.com/items", {"next": "https://api.example.com/items?p=2"}), [1])
    assert ok is not None and ok.path == "https://api.example.com/items?p=2"
    rel = nxt.next(page, _response("https://api.example.com/v1/items", {"next": "items?p=3"}), [1])
    assert rel is not None and rel.path == "https://api.example.com/v1/items?p=3"
    for evil in (
        "https://evil.example.net/items?p=2",
        "http://api.example.com/items?p=2",  # scheme downgrade is another origin
        "https://api.example.com:8443/items",
        "//evil.example.net/x",
        "http://169.254.169.254/latest/meta-data/",
    ):
        with pytest.raises(PaginationError, match="leaves the source's host"):
            nxt.next(page, _response("https://api.example.com/items", {"next": evil}), [1])
        with pytest.raises(PaginationError, match="leaves the source's host"):
            LinkHeaderPaginator().next(
                page, _response("https://api.example.com/items", link=f'<{evil}>; rel="next"'), [1]
            )
