"""Reconciliation errors.

CovaryError
 └── jobs.JobError
      └── ReconcileError
           ├── UnknownEntityError   (Terminal, KeyError)   entity type is not customers/products
           ├── NoRecordsError       (Terminal, ValueError) nothing to reconcile yet
           └── ModelFitError        (Terminal, ValueError) EM could not separate matches from non-matches
"""

from __future__ import annotations

from covary.errors import TerminalError
from jobs.errors import JobError


class ReconcileError(JobError):
    """Root of reconciliation errors."""


class UnknownEntityError(ReconcileError, TerminalError, KeyError):
    """The entity type is not one covary reconciles."""

    def __str__(self) -> str:
        return self.message


class NoRecordsError(ReconcileError, TerminalError, ValueError):
    """There are no source records of this entity type yet."""


class ModelFitError(ReconcileError, TerminalError, ValueError):
    """The Fellegi–Sunter EM fit failed (too few candidate pairs, or degenerate comparisons)."""


__all__ = ["ModelFitError", "NoRecordsError", "ReconcileError", "UnknownEntityError"]
