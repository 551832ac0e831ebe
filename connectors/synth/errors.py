"""Errors of the synthetic enterprise generator."""

from __future__ import annotations

from covary.errors import CovaryError, TerminalError


class SynthError(CovaryError):
    """Root of synthetic-generator errors."""


class SynthConfigError(SynthError, TerminalError, ValueError):
    """An argument of the generator is out of range; the hint gives the valid range."""


__all__ = ["SynthConfigError", "SynthError"]
