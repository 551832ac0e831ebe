"""Config of the kpi job: it takes none (every KPI, period and breakdown is materialised)."""

from __future__ import annotations

from typing import ClassVar

from jobs.common.config import JobConfig


class KpiConfig(JobConfig):
    """``covary job run kpi``: no keys; gold.marketing_kpis is recomputed from silver.synth_marketing."""

    job: ClassVar[str] = "kpi"


__all__ = ["KpiConfig"]
