"""Correlation discovery engine: honest lagged correlations over many series, fast (GEMM kernel, Ray)."""

from __future__ import annotations

from typing import Any

from jobs.correlate.align import Panel, to_panel
from jobs.correlate.discover import DiscoveryResult, Finding, discover
from jobs.correlate.errors import CorrelateError, InputShapeError, NotEnoughDataError, OptionError
from jobs.correlate.options import CAUSATION_CAVEAT, Adjust, DiscoveryOptions


def run_on_lake(lake: Any, **kwargs: Any) -> Any:
    """Discover over gold series in ``lake`` and persist findings (see :mod:`jobs.correlate.lake_io`)."""
    from jobs.correlate.lake_io import run_on_lake as _run

    return _run(lake, **kwargs)


def main(config: dict[str, Any]) -> dict[str, Any]:
    """``covary job run correlate``: discovery over the lake's gold series (or ``config['input']``)."""
    from jobs.correlate.config import CorrelateConfig

    config = CorrelateConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    from jobs.correlate.lake_io import job_main

    return job_main(config)


__all__ = [
    "CAUSATION_CAVEAT",
    "Adjust",
    "CorrelateError",
    "DiscoveryOptions",
    "DiscoveryResult",
    "Finding",
    "InputShapeError",
    "NotEnoughDataError",
    "OptionError",
    "Panel",
    "discover",
    "main",
    "run_on_lake",
    "to_panel",
]
