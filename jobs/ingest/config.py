"""Config of the ingest job (see :func:`jobs.ingest.main` for what each key does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import Field, field_validator

from connectors.replay.faults import FaultPlan
from jobs.common.config import JobConfig, extend


class _NoKeys(JobConfig):
    pass


FaultsConfig = extend(_NoKeys, "FaultsConfig", FaultPlan, doc="connectors.replay.faults.FaultPlan")
"""``faults``: the replay server's fault plan (the fields of :class:`connectors.replay.faults.FaultPlan`)."""


class IngestConfig(JobConfig):
    """``covary job run ingest --config-json '{"sources": ["fred"], "replay": true}'``."""

    job: ClassVar[str] = "ingest"
    sources: str | list[str] = Field("all", description="'all' (every connector in the default run) or source names")
    replay: bool = Field(False, description="serve the bundled recordings from a local replay server (offline)")
    options: dict[str, dict[str, Any]] | None = Field(
        None, description="{source: {option: value}} overriding the source plan's defaults (connector-specific)"
    )
    run_key: str | None = Field(None, description="continue this run (its finished partitions are skipped)")
    resume: bool = Field(False, description="continue the latest run that did not finish")
    max_in_flight: int | None = Field(None, ge=1, description="partitions in flight at once (default: the pool's)")
    base_urls: dict[str, str] | None = Field(None, description="{source: base URL} overriding the connectors' own")
    faults: FaultsConfig | None = Field(None, description="replay: fault plan (rate, seed, weights, ...)")  # type: ignore[valid-type]
    latency_s: float = Field(0.0, ge=0, description="replay: delay per answer, seconds")
    chaos: dict[str, Any] | None = Field(None, description="test hook: crash a worker on one partition")
    executor: str = Field("actors", description="'actors' (default), 'tasks' (a Ray task per partition) or 'local'")
    on_progress: Callable[..., Any] | None = Field(None, description="callback(result, done, total) (Python only)")

    @field_validator("options")
    @classmethod
    def _known_sources(cls, value: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
        from connectors.core.registry import CONNECTORS

        unknown = sorted(set(value or {}) - set(CONNECTORS))
        if unknown:
            raise ValueError(f"options for unknown source(s) {', '.join(unknown)}; sources: {', '.join(CONNECTORS)}")
        return value


__all__ = ["FaultsConfig", "IngestConfig"]
