"""Errors of the report job."""

from __future__ import annotations

from covary.errors import TerminalError
from jobs.errors import JobError


class ReportError(JobError):
    """Root of the report job's errors."""


class NotionExportError(ReportError, TerminalError, RuntimeError):
    """Notion refused the report page or one of its images."""


__all__ = ["NotionExportError", "ReportError"]
