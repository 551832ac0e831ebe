"""Cluster-wide rate limits: one named Ray actor per source hands out request slots to every worker."""

from __future__ import annotations

import time
from typing import Any

import ray

from jobs.ingest.errors import LimiterUnavailableError

ACTOR_PREFIX = "covary-ratelimit-"


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class TokenBucketActor:
    """GCRA token bucket: ``reserve(cost)`` books the next free slot and returns how long to wait for it.

    The actor never sleeps (it only does arithmetic), so one actor serves every worker of the cluster;
    callers sleep locally. ``pause(s)`` pushes every future slot past ``now + s`` (server said 429/reset).
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.configure(rate, burst)
        self.tat = time.monotonic()  # theoretical arrival time of the next request
        self.granted = 0
        self.paused_s = 0.0

    def configure(self, rate: float, burst: float) -> None:
        """Set the limit (a job that finds the actor of an earlier job with another spec applies its own)."""
        self.interval = 1.0 / rate
        self.tolerance = max(0.0, burst - 1.0) * self.interval

    def reserve(self, cost: float = 1.0) -> float:
        now = time.monotonic()
        tat = max(self.tat, now)
        allowed_at = tat - self.tolerance
        wait = max(0.0, allowed_at - now)
        self.tat = tat + cost * self.interval
        self.granted += 1
        return wait

    def pause(self, seconds: float) -> None:
        now = time.monotonic()
        self.tat = max(self.tat, now + seconds + self.tolerance)
        self.paused_s += seconds

    def stats(self) -> dict[str, float]:
        return {"granted": self.granted, "paused_s": round(self.paused_s, 3), "interval_s": self.interval}


def limiter_actor(source: str, rate: float, burst: float | None, *, namespace: str | None = None) -> Any:
    """The source's bucket actor (created on first use, shared by name across the cluster)."""
    name = ACTOR_PREFIX + source
    burst = burst or max(1.0, rate)
    actor = TokenBucketActor.options(  # type: ignore[attr-defined]
        name=name, namespace=namespace, get_if_exists=True, lifetime=None
    ).remote(rate, burst)
    actor.configure.remote(rate, burst)  # an existing actor (get_if_exists) keeps nothing of an older spec
    return actor


class ClusterLimiter:
    """The framework's ``RateLimiter`` interface backed by a source's bucket actor (picklable by name)."""

    def __init__(self, source: str, *, namespace: str | None = None) -> None:
        self.source = source
        self.namespace = namespace
        self._actor: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"source": self.source, "namespace": self.namespace, "_actor": None}

    def _handle(self) -> Any:
        if self._actor is None:
            try:
                self._actor = ray.get_actor(ACTOR_PREFIX + self.source, namespace=self.namespace)
            except ValueError:
                raise LimiterUnavailableError(
                    f"no rate-limiter actor for source {self.source!r} in this Ray namespace",
                    hint="start ingestion through jobs.ingest (it creates one actor per source)",
                ) from None
        return self._actor

    def acquire(self, cost: float = 1.0) -> None:
        wait = ray.get(self._handle().reserve.remote(cost))
        if wait > 0:
            time.sleep(wait)

    def pause(self, seconds: float) -> None:
        self._handle().pause.remote(seconds)


__all__ = ["ClusterLimiter", "TokenBucketActor", "limiter_actor"]
