"""Errors of the shared model-job helpers (MLflow registry, series loading)."""

from __future__ import annotations

from covary.errors import TerminalError, TransientError
from jobs.errors import JobError


class ModelRegistryError(JobError):
    """Root of MLflow tracking/registry errors."""


class ModelNotFoundError(ModelRegistryError, TerminalError, KeyError):
    """No registered model (or version/alias) by that name."""

    def __str__(self) -> str:
        return self.message


class TrackingUnavailableError(ModelRegistryError, TransientError, ConnectionError):
    """The MLflow tracking server could not be reached."""


class SeriesNotFoundError(JobError, TerminalError, LookupError):
    """Requested gold series are missing or too short to model."""


__all__ = ["ModelNotFoundError", "ModelRegistryError", "SeriesNotFoundError", "TrackingUnavailableError"]
