"""Ingest job exceptions."""

from __future__ import annotations

from covary.errors import TerminalError, TransientError
from jobs.errors import JobError


class IngestError(JobError):
    """Root of ingest errors."""


class IngestConfigError(IngestError, TerminalError, ValueError):
    """The ingest config names an unknown source, city or window; the message lists the valid ones."""


class PartitionFailedError(IngestError, TerminalError):
    """Partitions failed after every retry; the message lists them and the run can be resumed."""


class LimiterUnavailableError(IngestError, TransientError):
    """The cluster-wide rate-limiter actor of a source could not be reached."""


__all__ = ["IngestConfigError", "IngestError", "LimiterUnavailableError", "PartitionFailedError"]
