"""Seeded fault injection for the replay server: 429+Retry-After, 500/503, slow responses, truncated JSON, drift."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

TRANSIENT_KINDS = ("429", "500", "503", "slow", "truncated")


@dataclass
class FaultPlan:
    """Which requests fail and how; the same seed gives the same schedule.

    ``rate`` is the chance that a request meets a transient fault, picked by ``weights``.
    ``drift_rate`` is the chance that a *page* (decided by its path and query, so a retry of the
    page drifts the same way) carries schema drift: a new field, and a type change on some records.
    """

    rate: float = 0.0
    seed: int = 0
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TRANSIENT_KINDS, 1.0))
    retry_after_s: tuple[int, int] = (1, 30)
    slow_s: float = 0.5
    drift_rate: float = 0.0

    def transient(self, request_no: int) -> tuple[str | None, int]:
        """The fault for the ``request_no``-th request (or None) and its Retry-After seconds."""
        if self.rate <= 0:
            return None, 0
        rng = random.Random(f"{self.seed}:{request_no}")
        if rng.random() >= self.rate:
            return None, 0
        kinds = [k for k in TRANSIENT_KINDS if self.weights.get(k, 0) > 0]
        kind = rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]
        return kind, rng.randint(*self.retry_after_s)

    def drifts(self, page_key: str) -> bool:
        return self.drift_rate > 0 and random.Random(f"{self.seed}:drift:{page_key}").random() < self.drift_rate


@dataclass
class FaultEvent:
    request_no: int
    kind: str
    path: str
    query: str
    retry_after_s: int | None = None
    changed: list[Any] = field(default_factory=list)


__all__ = ["TRANSIENT_KINDS", "FaultEvent", "FaultPlan"]
