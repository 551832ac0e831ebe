"""Retry policy: which failures are transient, exponential backoff with jitter, Retry-After, a run budget."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from connectors.errors import RetryBudgetExhaustedError

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
TERMINAL_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 410, 422})


@dataclass
class RetryPolicy:
    """How one request is retried. ``max_retry_after_s``: a longer Retry-After stops the run."""

    max_attempts: int = 8
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    jitter: float = 0.5
    max_retry_after_s: float = 120.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def backoff(self, attempt: int) -> float:
        """Delay before retry ``attempt`` (1-based): base*2^(attempt-1), capped, times 1±jitter."""
        raw = min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempt - 1))
        return raw * (1.0 + self.jitter * (2.0 * self._rng.random() - 1.0))


class RetryBudget:
    """A total number of retries shared by every request of one run (thread-safe)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._lock = threading.Lock()

    def spend(self, reason: str) -> None:
        with self._lock:
            if self.used >= self.total:
                raise RetryBudgetExhaustedError(
                    f"the run used its whole retry budget ({self.total} retries); last failure: {reason}",
                    hint="the source is failing a lot; committed pages are kept and the next run resumes. "
                    "Raise connectors.retry_budget (COVARY_CONNECTORS__RETRY_BUDGET) if this is expected",
                )
            self.used += 1

    @property
    def left(self) -> int:
        return self.total - self.used


def parse_retry_after(value: str | None, *, now_wall: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now_wall)


__all__ = ["RETRY_STATUSES", "TERMINAL_STATUSES", "RetryBudget", "RetryPolicy", "parse_retry_after"]
