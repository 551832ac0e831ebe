"""Config of the demo (``covary/cli/demo_steps.py`` runs it): which steps, plus the knobs its steps read (each
step gets the whole config, so a step's new key goes here)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jobs.common.config import JobConfig
from jobs.ingest.config import IngestConfig


class DemoConfig(JobConfig):
    """``covary demo [--steps macro,correlate] [--serve]``, or ``covary job run demo --set steps='["macro"]'``."""

    job: ClassVar[str] = "demo"
    steps: list[str] | None = Field(None, description="step names to run, in order (default: every step)")
    serve: bool = Field(False, description="explorer step: keep the Serve app up")
    synth_days: int = Field(731, ge=1, description="enterprise step: days of synthetic data")
    synth_seed: int = Field(7, description="enterprise step: seed of the synthetic systems")
    ingest: IngestConfig | None = Field(
        None, description="connectors step: ingest job config merged over {sources: all, replay: true}"
    )
    max_lag: int | None = Field(None, ge=0, description="correlate step: largest lag (default: from the frequency)")
    seed: int = Field(0, description="correlate step: seed of the null draws")
    freq: str | None = Field(None, description="correlate step: align to this frequency")
    reconcile_entities: int = Field(600, ge=1, description="reconcile step: synthetic entities per type")
    embed_max_texts: int = Field(300, ge=0, description="reconcile step: product titles embedded per run")
    forecast_series: list[str] | None = Field(
        None, description="forecast step: series ids (default: jobs.forecast.demo_forecast.DEMO_SERIES)"
    )


__all__ = ["DemoConfig"]
