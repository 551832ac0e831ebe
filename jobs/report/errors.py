"""Errors of the report job."""

from __future__ import annotations

from covary.errors import TerminalError, TransientError
from jobs.errors import JobError


class ReportError(JobError):
    """Root of the report job's errors."""


class NotionExportError(ReportError, TerminalError, RuntimeError):
    """Notion refused the report page or one of its images."""


class AlertDeliveryError(ReportError, RuntimeError):
    """A webhook or SMTP server refused or could not be reached (the message never holds secrets)."""


class AlertDeliveryRetryable(AlertDeliveryError, TransientError):
    """Delivery failed in a way a later try may fix (timeout, 5xx, 429, connection dropped)."""


__all__ = ["AlertDeliveryError", "AlertDeliveryRetryable", "NotionExportError", "ReportError"]
