"""A scripted OpenAI-compatible chat server on loopback (a real HTTP server in a thread) for LLM-mode tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLLM:
    """Replies in order from ``script``; each item is a plan dict (sent as JSON content), a raw string
    (content as is), or ``(status, raw_body)`` for broken responses. The last item repeats."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reply(self, *items: Any) -> None:
        self.script = list(items)
        self.requests.clear()

    def _next(self) -> Any:
        if not self.script:
            return (500, "no scripted reply")
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("authorization")})
            item = fake._next()
            if isinstance(item, tuple):
                status, raw = item
                data = raw.encode() if isinstance(raw, str) else raw
            else:
                content = item if isinstance(item, str) else json.dumps(item)
                status = 200
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def fake_llm_server() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        thread.join(timeout=5)


__all__ = ["FakeLLM", "fake_llm_server"]
