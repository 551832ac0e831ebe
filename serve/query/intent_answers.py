"""Typed payloads of the non-SQL intents (one pydantic model per intent; OpenAPI and ``--json``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field

from serve.query.intent_common import CAUSATION, DRIVER_CAVEAT

if TYPE_CHECKING:
    pass


# ------------------------------------------------------------------------------------------ models
class PeriodOut(BaseModel):
    start: str = Field(..., description="First day (ISO).")
    end: str = Field(..., description="Day after the last (ISO, exclusive).")
    label: str


class Contribution(BaseModel):
    """One segment's part of the change; for ratios ``contribution = mix + rate``."""

    segment: dict[str, Any] = Field(..., description="Dimension -> value of the segment.")
    before: float | None = Field(None, description="Segment value in the baseline (its own rate for ratios).")
    after: float | None = Field(None, description="Segment value in the period of interest.")
    weight_before: float | None = Field(None, description="Ratios: the segment's share of the denominator before.")
    weight_after: float | None = Field(None, description="Ratios: its share of the denominator after.")
    contribution: float = Field(..., description="Its part of the total change (segments of a breakdown sum to it).")
    mix: float | None = Field(None, description="Ratios: part due to the segment's weight moving.")
    rate: float | None = Field(None, description="Ratios: part due to the segment's own rate moving.")
    share_of_change: float | None = Field(None, description="contribution / total change.")


class Breakdown(BaseModel):
    dimensions: list[str]
    segments: list[Contribution] = Field(..., description="Largest |contribution| first (at most 10).")
    segment_count: int
    other: float = Field(..., description="Sum of the contributions of the segments not listed.")
    explained: float = Field(..., description="Sum of all segments' contributions (= the change).")
    residual: float = Field(..., description="change - explained (float rounding only).")
    concentration: float = Field(..., description="|largest contribution| / sum of |contributions|.")


class DriverAnswer(BaseModel):
    """``why did X change``: the change decomposed over every dimension (and pairs of them)."""

    intent: Literal["why"] = "why"
    measure: str
    table: str
    description: str
    unit: str | None = None
    form: Literal["additive", "ratio", "level"]
    period: PeriodOut
    baseline: PeriodOut
    before: float
    after: float
    change: float
    change_pct: float | None
    filters: list[str] = Field(default_factory=list, description="Row filters applied (SQL).")
    top: list[Contribution] = Field(..., description="The main contributors in the direction of the change.")
    breakdowns: list[Breakdown]
    answer: str
    caveat: str = DRIVER_CAVEAT
    sql: str
    notes: list[str] = Field(default_factory=list)


class FindingOut(BaseModel):
    finding_id: str
    run_id: str
    a: str
    b: str
    lag: int = Field(..., description="Best lag in steps; positive means a leads b.")
    r: float | None = None
    r_raw: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    n_eff: float | None = None
    p: float | None = None
    q: float | None = None
    significant: bool = False
    change: str | None = None
    precedence: str | None = None
    warnings: list[str] = Field(default_factory=list)
    third_series: str | None = None
    partial_r_third: float | None = None
    granger_p_ab: float | None = None
    granger_p_ba: float | None = None
    caveat: str | None = None


class LagCorrelation(BaseModel):
    lag: int = Field(..., description="Steps; positive means x leads y.")
    r: float | None
    n: int


class CrossCorrelation(BaseModel):
    """The lagged cross-correlation of two series, computed now by jobs.correlate on the adjusted series."""

    x: str
    y: str
    freq: str | None
    adjustments: list[str]
    lags: list[LagCorrelation]
    best_lag: int
    r: float | None
    r_raw: float | None
    n: int
    n_eff: float | None
    p: float | None = Field(None, description="Single-pair p under the autocorrelation-respecting null.")
    null: str | None = None
    warnings: list[str] = Field(default_factory=list)
    precedence: str | None = None


class RelationAnswer(BaseModel):
    """``how does X affect Y / does X lead Y / what moves with X``."""

    intent: Literal["relation"] = "relation"
    x: str
    y: str | None = None
    run_id: str | None = None
    findings: list[FindingOut]
    cross_correlation: CrossCorrelation | None = None
    answer: str
    caveat: str = CAUSATION
    notes: list[str] = Field(default_factory=list)


class ForecastPoint(BaseModel):
    ts: str
    step: int
    mean: float | None
    lo80: float | None
    hi80: float | None
    lo95: float | None
    hi95: float | None


class ForecastAnswer(BaseModel):
    intent: Literal["forecast"] = "forecast"
    series_id: str
    description: str | None = None
    unit: str | None = None
    model: str
    origin: str
    points: list[ForecastPoint]
    period: PeriodOut | None = None
    period_total: float | None = Field(
        None, description="Sum of the point forecasts over the period (sum-aggregated series only; no interval)."
    )
    answer: str
    notes: list[str] = Field(default_factory=list)


class AnomalyOut(BaseModel):
    series_id: str
    ts: str
    kind: str
    direction: str
    value: float | None
    expected: float | None
    score: float | None


class AlertOut(BaseModel):
    alert_id: str
    source_series: str
    source_ts: str
    target_series: str
    target_ts: str
    lag_days: int
    expected_lag_days: int | None = None
    correlation: float | None = None
    message: str


class AnomalyAnswer(BaseModel):
    intent: Literal["anomaly"] = "anomaly"
    series: list[str]
    period: PeriodOut | None = None
    count: int
    anomalies: list[AnomalyOut] = Field(..., description="Strongest first (|score|), at most 50.")
    alerts: list[AlertOut]
    answer: str
    notes: list[str] = Field(default_factory=list)


class KpiStatus(BaseModel):
    name: str
    table: str
    description: str
    unit: str | None = None
    kind: str
    period: PeriodOut | None = None
    current: float | None = None
    previous: float | None = None
    change_pct: float | None = None
    higher_is_better: bool | None = None


class MonitorAnswer(BaseModel):
    intent: Literal["monitor"] = "monitor"
    subject: str | None = None
    kpis: list[KpiStatus]
    answer: str
    notes: list[str] = Field(default_factory=list)


IntentAnswer = Annotated[
    DriverAnswer | RelationAnswer | ForecastAnswer | AnomalyAnswer | MonitorAnswer, Field(discriminator="intent")
]
ANSWER_MODELS: dict[str, type[BaseModel]] = {
    "why": DriverAnswer,
    "relation": RelationAnswer,
    "forecast": ForecastAnswer,
    "anomaly": AnomalyAnswer,
    "monitor": MonitorAnswer,
}
