"""KPI errors: unknown metrics, bad breakdowns and missing source data."""

from __future__ import annotations

from covary.errors import TerminalError
from jobs.errors import JobError


class KpiError(JobError):
    """Root of KPI errors."""


class UnknownKpiError(KpiError, TerminalError, KeyError):
    """The metric is not defined in jobs.kpi.definitions."""

    def __str__(self) -> str:
        return self.message


class KpiArgumentError(KpiError, TerminalError, ValueError):
    """A breakdown, period or comparison is not supported."""


class KpiDataError(KpiError, TerminalError, LookupError):
    """The source table has no data yet."""


__all__ = ["KpiArgumentError", "KpiDataError", "KpiError", "UnknownKpiError"]
