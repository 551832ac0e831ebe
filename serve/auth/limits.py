"""Per-key token-bucket rate limits (per replica)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``per_minute`` requests per key with bursts up to ``burst``; ``check`` returns the wait in seconds (0 = go)."""

    def __init__(self, per_minute: dict[str, float], *, burst: dict[str, float] | None = None) -> None:
        self.per_minute = dict(per_minute)
        self.burst = dict(burst or {})
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str, role: str) -> float:
        rate = self.per_minute.get(role)
        if not rate or rate <= 0:
            return 0.0
        capacity = max(1.0, self.burst.get(role, rate / 6))
        per_s = rate / 60.0
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(capacity, now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * per_s)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / per_s


__all__ = ["RateLimiter"]
