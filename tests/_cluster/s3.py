"""A real S3-compatible server on loopback for tests: moto's server (PyPI ``moto[server]``) in its own process.

Credentials are explicit (never ambient), cloud metadata lookups are disabled, and every bucket lives in
the server's memory, so a test run leaves nothing behind. ``HeaderDroppingProxy`` sits between a client
and the server and strips conditional-write headers, like a misconfigured gateway would.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests._cluster.ray_cluster import free_port

ACCESS_KEY = "covary-test-access"
REGION = "us-east-1"
# Env that keeps every AWS SDK (botocore, object_store, pyarrow) off the cloud metadata address.
NO_METADATA_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    access_key: str
    secret_key: str
    region: str = REGION

    def storage_options(self, endpoint: str | None = None, **extra: str) -> dict[str, str]:
        """delta-rs storage options (secret included) for this server, or for ``endpoint`` (a proxy)."""
        return {
            "aws_endpoint_url": endpoint or self.endpoint,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "aws_region": self.region,
            "aws_allow_http": "true",
            "aws_virtual_hosted_style_request": "false",
            **extra,
        }

    def public_options(self, endpoint: str | None = None) -> dict[str, str]:
        """The non-secret part (what goes into COVARY_LAKE__STORAGE_OPTIONS)."""
        return {k: v for k, v in self.storage_options(endpoint).items() if k != "aws_secret_access_key"}

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def bucket(self, prefix: str = "lake") -> str:
        """A fresh bucket; returns its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [o["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]


@contextlib.contextmanager
def moto_server(*, startup_timeout_s: float = 120) -> Iterator[S3Server]:
    """``python -m moto.server`` on a free loopback port; killed on exit."""
    port = free_port()
    env = os.environ | NO_METADATA_ENV
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError("moto server exited during start-up")
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=2)
                break
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto server did not answer") from exc
                time.sleep(0.3)
        yield S3Server(endpoint, ACCESS_KEY, f"test-secret-{uuid.uuid4().hex}")
    finally:
        proc.kill()
        proc.wait(timeout=30)


class _Proxy:
    """The proxy itself (runs in its own process: delta-rs holds the GIL while it waits on the network)."""

    DROPPED = ("if-none-match", "if-match")

    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.URL(upstream)
        self.stripped = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: no keep-alive bookkeeping

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                if self.path == "/__covary_stripped__":
                    data = str(proxy.stripped).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {}
                for key, value in self.headers.items():
                    if key.lower() in proxy.DROPPED:
                        proxy.stripped += 1
                        continue
                    headers[key] = value
                conn = http.client.HTTPConnection(proxy.upstream.host, proxy.upstream.port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True


class HeaderDroppingProxy:
    """A loopback reverse proxy to ``upstream`` that drops conditional-write headers (If-None-Match, If-Match),
    like a misconfigured gateway. Runs in a child process; ``stripped`` asks it how many headers it dropped.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.endpoint = ""
        self._proc: subprocess.Popen[str] | None = None

    @property
    def stripped(self) -> int:
        return int(httpx.get(f"{self.endpoint}/__covary_stripped__", timeout=10).text)

    def __enter__(self) -> HeaderDroppingProxy:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests._cluster.s3", self.upstream],
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(Path(__file__).resolve().parents[2]),
            env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert self._proc.stdout is not None
        self.endpoint = self._proc.stdout.readline().strip()
        if not self.endpoint.startswith("http://"):
            raise RuntimeError("header-dropping proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=30)


def _serve_proxy(upstream: str) -> None:
    proxy = _Proxy(upstream)
    print(f"http://127.0.0.1:{proxy.httpd.server_address[1]}", flush=True)
    proxy.httpd.serve_forever()


__all__ = ["NO_METADATA_ENV", "HeaderDroppingProxy", "S3Server", "moto_server"]


if __name__ == "__main__":
    _serve_proxy(sys.argv[1])
