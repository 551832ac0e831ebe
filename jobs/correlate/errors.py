"""Correlation engine exceptions: what was wrong with the input or the options, and how to fix it."""

from __future__ import annotations

from covary.errors import TerminalError
from jobs.errors import JobError


class CorrelateError(JobError):
    """Root of correlation engine errors."""


class InputShapeError(CorrelateError, TerminalError, ValueError):
    """The input table is not long (series, ts, value) or wide (ts + one column per series) as declared."""


class NotEnoughDataError(CorrelateError, TerminalError, ValueError):
    """Too few series or too few aligned time steps to test anything."""


class OptionError(CorrelateError, TerminalError, ValueError):
    """An option value is out of range or inconsistent with the data."""


class FindingNotFoundError(CorrelateError, TerminalError, KeyError):
    """No finding or run with that id in the findings tables."""

    def __str__(self) -> str:
        return self.message


__all__ = ["CorrelateError", "FindingNotFoundError", "InputShapeError", "NotEnoughDataError", "OptionError"]
