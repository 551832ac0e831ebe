"""Data-quality errors.

CovaryError
 └── jobs.JobError
      └── DQError
           ├── RuleError          (Terminal, ValueError) a declared rule is malformed
           └── NoDQResultsError   (Terminal, LookupError) nothing to report yet
"""

from __future__ import annotations

from covary.errors import TerminalError
from jobs.errors import JobError


class DQError(JobError):
    """Root of data-quality errors."""


class RuleError(DQError, TerminalError, ValueError):
    """A declared DQ rule names an unknown check, column or bad parameter."""


class NoDQResultsError(DQError, TerminalError, LookupError):
    """There is nothing to check or report (no table has data yet)."""


class DQFailedError(DQError):
    """Some data-quality checks failed (the report was printed and stored first)."""


__all__ = ["DQError", "DQFailedError", "NoDQResultsError", "RuleError"]
