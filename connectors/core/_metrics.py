"""Record connector metrics only where Ray is already loaded (importing Ray just to drop a metric costs seconds)."""

from __future__ import annotations

import sys


def inc_metric(name: str, value: float = 1.0, **tags: str) -> None:
    if "ray" not in sys.modules:
        return
    from covary import metrics

    metrics.inc(name, value, **tags)


__all__ = ["inc_metric"]
