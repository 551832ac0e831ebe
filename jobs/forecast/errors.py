"""Forecast job errors."""

from __future__ import annotations

from covary.errors import TerminalError
from jobs.errors import JobError


class ForecastError(JobError):
    """Root of forecast errors."""


class ForecastInputError(ForecastError, TerminalError, ValueError):
    """The forecast request does not fit the model (horizon, regressors, dates)."""


__all__ = ["ForecastError", "ForecastInputError"]
