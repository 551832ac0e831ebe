"""Rate limiting: a local token bucket behind a tiny ``RateLimiter`` interface (a Ray actor can replace it)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from connectors.core.clock import SYSTEM_CLOCK, Clock


@runtime_checkable
class RateLimiter(Protocol):
    """What the client needs from a limiter.

    ``acquire(cost)`` blocks until ``cost`` requests may be sent; ``pause(seconds)`` tells the
    limiter the server asked everyone to hold off (429/Retry-After, X-RateLimit-Remaining: 0).
    A cluster-wide limiter (a Ray actor) implements both by forwarding to the actor.
    """

    def acquire(self, cost: float = 1.0) -> None: ...
    def pause(self, seconds: float) -> None: ...


class NoLimit:
    """No client-side limit (server headers are still obeyed by the client)."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._resume_at = 0.0

    def acquire(self, cost: float = 1.0) -> None:
        wait = self._resume_at - self.clock.now()
        if wait > 0:
            self.clock.sleep(wait)

    def pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, self.clock.now() + seconds)


class TokenBucket:
    """``rate`` requests per second with bursts up to ``burst``; thread-safe; clock injectable."""

    def __init__(self, rate: float, *, burst: float | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 requests/s (use NoLimit for none)")
        self.rate = float(rate)
        self.capacity = float(burst if burst is not None else max(1.0, rate))
        self.clock = clock
        self._tokens = self.capacity
        self._stamp = clock.now()
        self._resume_at = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self, cost: float = 1.0) -> None:
        while True:
            with self._lock:
                now = self.clock.now()
                self._refill(now)
                if now < self._resume_at:
                    wait = self._resume_at - now
                elif self._tokens >= cost:
                    self._tokens -= cost
                    return
                else:
                    wait = (cost - self._tokens) / self.rate
            self.clock.sleep(wait)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, self.clock.now() + seconds)
            self._tokens = 0.0


def rate_limit_wait(headers: Mapping[str, str], *, now_wall: float) -> float | None:
    """Seconds to wait before the next request according to ``X-RateLimit-*``/``RateLimit-*`` headers.

    Returns a wait only when the remaining quota is 0. ``Reset`` may be epoch seconds (GitHub) or
    seconds from now (IETF draft ``RateLimit-Reset``); values above 1e9 are read as epoch.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    remaining = None
    for key in ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining"):
        if key in lower:
            remaining = _num(lower[key])
            break
    if remaining is None or remaining > 0:
        return None
    for key in ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"):
        if key in lower:
            reset = _num(lower[key])
            if reset is None:
                return None
            return max(0.0, reset - now_wall) if reset > 1e9 else max(0.0, reset)
    return None


def _num(value: str) -> float | None:
    try:
        return float(value.strip())
    except (ValueError, AttributeError):
        return None


__all__ = ["NoLimit", "RateLimiter", "TokenBucket", "rate_limit_wait"]
