"""Job exceptions."""

from __future__ import annotations

from covary.errors import CovaryError, TerminalError, TransientError


class JobError(CovaryError):
    """Root of job errors."""


class UnknownJobError(JobError, TerminalError, KeyError):
    def __str__(self) -> str:
        return self.message


class JobFailedError(JobError, TerminalError):
    """A submitted or local job ended in failure; the message carries the tail of its logs."""


class RayUnavailableError(JobError, TransientError):
    """The Ray cluster or Jobs API could not be reached."""


__all__ = ["JobError", "JobFailedError", "RayUnavailableError", "UnknownJobError"]
