"""Config of the reconcile job: the entity types plus every :class:`EngineConfig` knob."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jobs.common.config import JobConfig, extend
from jobs.reconcile.engine import EngineConfig


class _Reconcile(JobConfig):
    job: ClassVar[str] = "reconcile"
    entities: list[str] | None = Field(
        None, description="entity types to reconcile: customers and/or products (default: both)"
    )


ReconcileConfig = extend(_Reconcile, "ReconcileConfig", EngineConfig, doc="jobs.reconcile.engine.EngineConfig")
"""``covary job run reconcile --config-json '{"entities": ["customers"], "threshold": 0.5}'``."""

__all__ = ["ReconcileConfig"]
