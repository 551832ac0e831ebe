"""Deliver alerts beyond the lake: a Slack-compatible webhook (JSON ``text`` + ``blocks``) and e-mail over SMTP.

Configured in the ``alerts`` settings section (``COVARY_ALERTS__WEBHOOK_URL``, ``COVARY_ALERTS__SMTP_HOST``,
``COVARY_ALERTS__EMAIL_TO='["ops@example.com"]'`` ...); the webhook URL and SMTP password are secrets and
never appear in logs, errors or results. Unconfigured channels are reported as ``not configured``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from jobs.report.errors import AlertDeliveryError, AlertDeliveryRetryable

log = logging.getLogger(__name__)


def _error(message: str, *, hint: str, transient: bool = False) -> AlertDeliveryError:
    cls = AlertDeliveryRetryable if transient else AlertDeliveryError
    return cls(message, hint=hint)


def _line(alert: dict[str, Any]) -> str:
    kind = alert.get("kind") or "alert"
    when = alert.get("ts")
    prefix = f"[{kind}{' ' + str(when) if when else ''}] "
    return prefix + str(alert.get("message") or "")


def compose(
    alerts: list[dict[str, Any]], *, title: str, max_items: int = 20, link: str | None = None
) -> dict[str, Any]:
    """The message: ``{"subject", "text", "blocks"}``; at most ``max_items`` alerts listed, the rest counted."""
    shown = alerts[:max_items]
    more = len(alerts) - len(shown)
    lines = [_line(a) for a in shown]
    if more > 0:
        lines.append(f"... and {more} more")
    if link:
        lines.append(f"Report: {link}")
    subject = f"{title}: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    text = subject + "\n" + "\n".join(f"- {ln}" for ln in lines)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(f"• {ln}" for ln in lines)[:2900]}},
    ]
    return {"subject": subject, "text": text, "blocks": blocks}


def send_webhook(url: str, message: dict[str, Any], *, timeout_s: float = 10.0) -> int:
    """POST ``{"text", "blocks"}`` as JSON; returns the HTTP status. Errors never include the URL (a secret)."""
    import httpx

    try:
        response = httpx.post(url, json={"text": message["text"], "blocks": message["blocks"]}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise _error(
            f"webhook delivery failed: {type(exc).__name__}",
            hint="check COVARY_ALERTS__WEBHOOK_URL and that the receiver is reachable",
            transient=True,
        ) from None  # from None: the webhook URL is a secret and is in the cause
    if response.status_code >= 400:
        raise _error(
            f"webhook answered HTTP {response.status_code}",
            hint="check the webhook URL/token; 5xx answers are retried on the next run",
            transient=response.status_code >= 500 or response.status_code == 429,
        )
    return response.status_code


def send_email(settings: Any, message: dict[str, Any]) -> list[str]:
    """Send ``message`` as plain-text e-mail to ``settings.email_to``; returns the recipients."""
    if not settings.email_to:
        raise _error("no e-mail recipients", hint="set COVARY_ALERTS__EMAIL_TO='[\"ops@example.com\"]'")
    mail = EmailMessage()
    mail["Subject"] = message["subject"]
    mail["From"] = settings.email_from
    mail["To"] = ", ".join(settings.email_to)
    mail.set_content(message["text"])
    try:
        if settings.smtp_ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
        with client:
            if settings.smtp_starttls and not settings.smtp_ssl:
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                client.login(settings.smtp_user, password)
            client.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise _error(
            f"e-mail delivery via {settings.smtp_host}:{settings.smtp_port} failed: {type(exc).__name__}: "
            f"{str(exc)[:200]}",
            hint="check COVARY_ALERTS__SMTP_HOST/PORT/STARTTLS and credentials",
            transient=isinstance(exc, OSError | smtplib.SMTPServerDisconnected),
        ) from exc
    return list(settings.email_to)


def deliver(
    alerts: list[dict[str, Any]], *, title: str, settings: Any = None, link: str | None = None
) -> dict[str, Any]:
    """Send ``alerts`` to every configured channel; one channel failing does not stop the other.

    Returns ``{"webhook": status, "email": status, "alerts": n}`` where a status is ``sent``,
    ``not configured``, ``nothing to send`` or ``failed: <reason>`` (reason without secrets).
    """
    if settings is None:
        from covary.settings import get_settings

        settings = get_settings().alerts
    out: dict[str, Any] = {"alerts": len(alerts)}
    if not alerts:
        return out | {"webhook": "nothing to send", "email": "nothing to send"}
    message = compose(alerts, title=title, max_items=settings.max_items, link=link)
    if settings.webhook_url is None:
        out["webhook"] = "not configured"
    else:
        try:
            send_webhook(settings.webhook_url.get_secret_value(), message, timeout_s=settings.webhook_timeout_s)
            out["webhook"] = "sent"
        except AlertDeliveryError as exc:
            log.warning("alert webhook: %s", exc)
            out["webhook"] = f"failed: {exc}"
    if not settings.smtp_host:
        out["email"] = "not configured"
    else:
        try:
            send_email(settings, message)
            out["email"] = "sent"
        except AlertDeliveryError as exc:
            log.warning("alert e-mail: %s", exc)
            out["email"] = f"failed: {exc}"
    return out


__all__ = ["compose", "deliver", "send_email", "send_webhook"]
