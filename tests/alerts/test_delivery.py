"""Alert delivery against a real HTTP receiver and a real SMTP server (aiosmtpd), both on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from covary.settings import AlertSettings
from jobs.report.deliver import compose, deliver

ALERTS = [
    {"kind": "correlation", "ts": None, "message": "New correlation: synth.support.tickets ~ failures (lag 21)."},
    {"kind": "anomaly", "ts": "2024-06-03", "message": "failures anomaly followed a tickets anomaly 21 d earlier"},
]


class _Receiver(BaseHTTPRequestHandler):
    status = 200
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/SECRET-TOKEN", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append(envelope)
            return "250 OK"

    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink.messages
    finally:
        controller.stop()


def _free_port() -> int:
    """A free loopback port in this area's range (aiosmtpd's Controller cannot use port 0)."""
    import socket

    for port in range(9400, 9450):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 9400-9449")


def test_webhook_gets_slack_compatible_json_and_email_arrives(receiver, smtp) -> None:
    url, handler = receiver
    port, messages = smtp
    settings = AlertSettings(
        webhook_url=SecretStr(url),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        email_from="covary@example.test",
        email_to=["ops@example.test", "lead@example.test"],
    )
    out = deliver(ALERTS, title="covary weekly insights", settings=settings, link="/reports/r.html")
    assert out == {"alerts": 2, "webhook": "sent", "email": "sent"}
    (req,) = handler.received
    assert req["path"] == "/hooks/T000/SECRET-TOKEN" and req["type"] == "application/json"
    doc = req["json"]
    assert set(doc) == {"text", "blocks"} and doc["text"].startswith("covary weekly insights: 2 alerts")
    assert doc["blocks"][0]["type"] == "header" and doc["blocks"][1]["text"]["type"] == "mrkdwn"
    assert "tickets ~ failures" in doc["blocks"][1]["text"]["text"] and "[anomaly 2024-06-03]" in doc["text"]
    (env,) = messages
    assert env.mail_from == "covary@example.test"
    assert sorted(env.rcpt_tos) == ["lead@example.test", "ops@example.test"]
    mail = message_from_bytes(env.content)
    assert mail["Subject"] == "covary weekly insights: 2 alerts"
    assert "tickets ~ failures" in mail.get_payload(decode=True).decode()


def test_failures_are_reported_without_secrets_and_do_not_stop_other_channel(receiver, smtp) -> None:
    url, handler = receiver
    handler.status = 500
    port, messages = smtp
    settings = AlertSettings(
        webhook_url=SecretStr(url), smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, email_to=["a@b.test"]
    )
    out = deliver(ALERTS, title="t", settings=settings)
    assert out["webhook"] == "failed: webhook answered HTTP 500" and "SECRET-TOKEN" not in json.dumps(out)
    assert out["email"] == "sent" and len(messages) == 1
    # unreachable SMTP server: a clear failure, the webhook still tried
    handler.status = 200
    bad = AlertSettings(webhook_url=SecretStr(url), smtp_host="127.0.0.1", smtp_port=9, smtp_starttls=False,
                        email_to=["a@b.test"], smtp_timeout_s=2)  # fmt: skip
    out = deliver(ALERTS, title="t", settings=bad)
    assert out["webhook"] == "sent" and out["email"].startswith("failed: e-mail delivery via 127.0.0.1:9 failed")
    assert "**********" not in out["email"]


def test_nothing_configured_or_nothing_to_send() -> None:
    assert deliver(ALERTS, title="t", settings=AlertSettings()) == {
        "alerts": 2,
        "webhook": "not configured",
        "email": "not configured",
    }
    assert deliver([], title="t", settings=AlertSettings())["webhook"] == "nothing to send"
    many = [{"kind": "x", "message": f"m{i}"} for i in range(30)]
    msg = compose(many, title="t", max_items=5)
    assert msg["text"].count("\n- ") == 6 and "... and 25 more" in msg["text"]


def test_settings_read_alerts_section_from_env_with_secret(monkeypatch) -> None:
    from covary.settings import Settings

    monkeypatch.setenv("COVARY_ALERTS__WEBHOOK_URL", "http://127.0.0.1:9/hooks/SECRET")
    monkeypatch.setenv("COVARY_ALERTS__EMAIL_TO", '["ops@example.test"]')
    s = Settings()
    assert s.alerts.webhook_url is not None and s.alerts.webhook_url.get_secret_value().endswith("SECRET")
    assert "SECRET" not in repr(s.alerts) and s.alerts.email_to == ["ops@example.test"]
