"""Marketing KPI definitions: formula, numerator/denominator, unit, meaning and synonyms, in one place.

Every KPI is a ratio of sums (or a plain sum) over ``silver.synth_marketing``; summing numerator and
denominator per period before dividing is what makes a KPI additive across days and breakdowns
(averaging daily ratios would be wrong). The NL->SQL layer builds on :data:`KPIS` and :func:`sql_expression`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from jobs.kpi.errors import UnknownKpiError

SOURCE_TABLE = "silver.synth_marketing"
DIMENSIONS: tuple[str, ...] = ("platform", "country", "device", "campaign")
Period = Literal["week", "month", "quarter"]
Compare = Literal["previous", "year_ago"]
PERIODS: tuple[str, ...] = ("week", "month", "quarter")
COMPARES: tuple[str, ...] = ("previous", "year_ago")


@dataclass(frozen=True)
class KpiDef:
    """One KPI: ``scale * sum(numerator) / sum(denominator)`` (or ``sum(numerator)`` if no denominator)."""

    id: str
    name: str
    numerator: str
    denominator: str | None
    unit: str
    description: str
    scale: float = 1.0
    higher_is_better: bool = True
    synonyms: tuple[str, ...] = field(default_factory=tuple)

    @property
    def formula(self) -> str:
        if self.denominator is None:
            return f"sum({self.numerator})"
        scale = "" if self.scale == 1 else f"{self.scale:g} * "
        return f"{scale}sum({self.numerator}) / sum({self.denominator})"


KPIS: dict[str, KpiDef] = {
    k.id: k
    for k in (
        KpiDef(
            "cac",
            "Customer acquisition cost",
            "spend",
            "conversions",
            "USD per customer",
            "Ad spend per new customer acquired through ads.",
            higher_is_better=False,
            synonyms=("customer acquisition cost", "cost per acquisition", "cpa", "cost per customer"),
        ),
        KpiDef(
            "roas",
            "Return on ad spend",
            "revenue",
            "spend",
            "USD revenue per USD spent",
            "Revenue attributed to ads per dollar of ad spend.",
            synonyms=("return on ad spend", "ad return", "revenue per ad dollar"),
        ),
        KpiDef(
            "revenue",
            "Revenue",
            "revenue",
            None,
            "USD",
            "Revenue attributed to ads.",
            synonyms=("sales", "turnover", "income", "conversion value"),
        ),
        KpiDef(
            "conversion_rate",
            "Conversion rate",
            "conversions",
            "clicks",
            "percent of clicks",
            "Share of ad clicks that became paying customers.",
            scale=100.0,
            synonyms=("cvr", "conversion", "click to customer rate"),
        ),
        KpiDef(
            "aov",
            "Average order value",
            "revenue",
            "conversions",
            "USD per order",
            "Revenue per converted customer (order).",
            synonyms=("average order value", "basket size", "average basket", "revenue per order"),
        ),
        KpiDef(
            "ctr",
            "Click-through rate",
            "clicks",
            "impressions",
            "percent of impressions",
            "Share of ad impressions that were clicked.",
            scale=100.0,
            synonyms=("click through rate", "click rate"),
        ),
        KpiDef(
            "cpc",
            "Cost per click",
            "spend",
            "clicks",
            "USD per click",
            "Ad spend per click.",
            higher_is_better=False,
            synonyms=("cost per click",),
        ),
        KpiDef(
            "cpm",
            "Cost per mille",
            "spend",
            "impressions",
            "USD per 1000 impressions",
            "Ad spend per thousand impressions.",
            scale=1000.0,
            higher_is_better=False,
            synonyms=("cost per thousand", "cost per mille"),
        ),
        KpiDef(
            "spend",
            "Ad spend",
            "spend",
            None,
            "USD",
            "Money spent on ads.",
            higher_is_better=False,
            synonyms=("ad spend", "marketing spend", "cost", "budget spent"),
        ),
        KpiDef(
            "conversions",
            "Conversions",
            "conversions",
            None,
            "customers",
            "New paying customers attributed to ads.",
            synonyms=("new customers", "acquisitions", "orders"),
        ),
    )
}


def get_kpi(metric: str) -> KpiDef:
    """The KPI ``metric`` by id or synonym (case-insensitive)."""
    key = metric.strip().lower()
    if key in KPIS:
        return KPIS[key]
    for k in KPIS.values():
        if key in k.synonyms or key == k.name.lower():
            return k
    raise UnknownKpiError(f"unknown KPI {metric!r}", hint=f"choose one of: {', '.join(KPIS)}")


def sql_expression(metric: str) -> str:
    """SQL aggregate for ``metric`` over the source table; NULL (not an error) on a zero denominator."""
    k = get_kpi(metric)
    if k.denominator is None:
        return f"SUM({k.numerator})"
    scale = "" if k.scale == 1 else f"{k.scale:g} * "
    return f"{scale}SUM({k.numerator}) / NULLIF(SUM({k.denominator}), 0)"


__all__ = [
    "COMPARES",
    "DIMENSIONS",
    "KPIS",
    "PERIODS",
    "SOURCE_TABLE",
    "Compare",
    "KpiDef",
    "Period",
    "get_kpi",
    "sql_expression",
]
