"""Config of the correlate job: where the series come from plus every :class:`DiscoveryOptions` knob.

The knobs go at the top level or all under ``options``, not both.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from jobs.common.config import JobConfig, extend
from jobs.correlate.options import DiscoveryOptions


class _NoKeys(JobConfig):
    pass


CorrelateOptions = extend(_NoKeys, "CorrelateOptions", DiscoveryOptions, doc="jobs.correlate.options.DiscoveryOptions")


class _Correlate(JobConfig):
    job: ClassVar[str] = "correlate"
    input: str | None = Field(None, description="CSV/Parquet file to discover over instead of the lake's gold series")
    time_col: str = Field("ts", description="input: the time column")
    series_col: str | None = Field(None, description="input (long format): the series-id column")
    value_col: str | None = Field(None, description="input (long format): the value column")
    freq: str | None = Field(None, description="align to this frequency (default: the series' own)")
    series: list[str] | None = Field(None, description="lake: series ids to include (default: every gold series)")
    write: bool = Field(True, description="persist the run and its findings to the lake")
    options: CorrelateOptions | None = Field(None, description="the DiscoveryOptions knobs as one mapping")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_place(self) -> _Correlate:
        flat = sorted(self.model_fields_set & {f for f in CorrelateOptions.model_fields})
        if self.options is not None and flat:
            raise ValueError(f"give the options at the top level or under 'options', not both (top level: {flat})")
        return self


CorrelateConfig = extend(_Correlate, "CorrelateConfig", DiscoveryOptions, doc="jobs.correlate.options.DiscoveryOptions")
"""``covary job run correlate --config-json '{"max_lag": 14, "method": "spearman"}'``."""


__all__ = ["CorrelateConfig", "CorrelateOptions"]
