"""Questions that are not a sum: why did X change, how does X relate to Y, forecast X, anomalies in X, what to
monitor. ``run_intent(plan, service)`` answers a validated :class:`~serve.query.plan.QueryPlan` with one typed
payload per intent (pydantic models in ``serve.query.intent_answers``, for the OpenAPI schema and
``covary query --json``).

Every statement here is SQL written by this module over the locked, read-only engine (values quoted,
names checked against the semantic layer); statistics come from ``jobs.correlate`` (never re-implemented).
A table that is missing or empty is a :class:`CannotAnswerError` (422) naming the job that produces it.

One module per kind: ``intent_why`` (driver analysis), ``intent_relation`` (findings and lagged
cross-correlation), ``intent_outlook`` (forecast, anomaly, monitor); shared helpers in ``intent_common``.
This module dispatches and re-exports the public names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serve.query.errors import CannotAnswerError
from serve.query.intent_answers import (
    ANSWER_MODELS,
    AlertOut,
    AnomalyAnswer,
    AnomalyOut,
    Breakdown,
    Contribution,
    CrossCorrelation,
    DriverAnswer,
    FindingOut,
    ForecastAnswer,
    ForecastPoint,
    IntentAnswer,
    KpiStatus,
    LagCorrelation,
    MonitorAnswer,
    PeriodOut,
    RelationAnswer,
)
from serve.query.intent_common import series_for
from serve.query.intent_outlook import _anomaly, _forecast, _monitor
from serve.query.intent_relation import _relation, cross_correlation
from serve.query.intent_why import _why, explain_change
from serve.query.plan import QueryPlan, validate

if TYPE_CHECKING:
    from serve.query.service import QueryService

# ----------------------------------------------------------------------------------------- entry
HANDLERS = {"why": _why, "relation": _relation, "forecast": _forecast, "anomaly": _anomaly, "monitor": _monitor}


def run_intent(plan: QueryPlan, service: QueryService) -> dict[str, Any]:
    """Answer a non-SQL ``plan`` (validated here) with its intent's payload as a JSON-able dict."""
    validate(plan, service.layer())
    handler = HANDLERS.get(plan.intent)
    if handler is None:
        raise CannotAnswerError(f"intent {plan.intent!r} is answered by SQL, not by run_intent")
    answer = handler(plan, service)
    return answer.model_dump(mode="json") | {"understood": plan.understood_list(), "translator": plan.translator}


__all__ = [
    "ANSWER_MODELS",
    "AlertOut",
    "AnomalyAnswer",
    "AnomalyOut",
    "Breakdown",
    "Contribution",
    "CrossCorrelation",
    "DriverAnswer",
    "FindingOut",
    "ForecastAnswer",
    "ForecastPoint",
    "IntentAnswer",
    "KpiStatus",
    "LagCorrelation",
    "MonitorAnswer",
    "PeriodOut",
    "RelationAnswer",
    "cross_correlation",
    "explain_change",
    "run_intent",
    "series_for",
]
