"""Config of the anomaly job: which series, the cross-source link knobs and every :class:`DetectorConfig` field."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jobs.anomaly.detect import DetectorConfig
from jobs.common.config import JobConfig, extend


class _Anomaly(JobConfig):
    job: ClassVar[str] = "anomaly"
    series: list[str] | None = Field(None, description="series ids to score (default: every synth daily series)")
    group_size: int = Field(8, ge=1, description="series scored per Ray task")
    max_lag: int = Field(35, ge=0, description="largest lag (days) of the cross-source links between series")
    min_corr: float = Field(0.3, ge=0, le=1, description="smallest |correlation| of a cross-source link")
    tolerance: int = Field(2, ge=0, description="days apart two linked anomalies may be and still raise an alert")


AnomalyConfig = extend(_Anomaly, "AnomalyConfig", DetectorConfig, doc="jobs.anomaly.detect.DetectorConfig")
"""``covary job run anomaly --config-json '{"series": ["synth.marketing.spend"], "point_threshold": 6}'``."""

__all__ = ["AnomalyConfig"]
