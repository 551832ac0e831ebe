"""Benchmark: Ray fan-out ingest (jobs.ingest) vs the same partitions run one after another in-process.

Prints one JSON object. Both sides ingest the same replayed partitions (FRED, weather, TMDB discover,
GitHub) into bronze + silver on a fresh lake; rate limits are lifted on both sides so the figure is
the pipeline's, not the APIs'. Also measures the cluster-wide limiter's per-request cost against the
in-process token bucket.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# `python bench/x.py` puts bench/ first on sys.path, where bench/lakehouse.py would shadow the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

OPTIONS: dict[str, Any] = {
    "github": {"repos": ["covary-demo/rustdb", "covary-demo/webdash"]},
    "tmdb": {"years": [2008, 2009, 2010], "max_children": 1},
    "weather": {"cities": ["Seattle", "New York"], "years": [2013, 2014, 2015]},
    "fred": {"series": ["GDPC1", "UNRATE", "CPIAUCSL", "SP500"]},
}
SOURCES = list(OPTIONS)


def _unlimited(monkey: dict[str, Any]) -> None:
    from jobs.ingest import plan

    original = plan.source_spec

    def spec(source: str, *, replay_url: str | None = None) -> dict[str, Any]:
        return original(source, replay_url=replay_url) | {"rate_limit": {}}

    monkey["restore"] = original
    plan.source_spec = spec
    from jobs import ingest

    ingest.source_spec = spec  # type: ignore[attr-defined]


def sequential(root: str) -> dict[str, Any]:
    """The peer: every partition in this process, one after another (framework runner + silver)."""
    from connectors.core import RunOptions, parse_spec, run_endpoint
    from connectors.replay import ReplayServer
    from jobs.ingest.plan import first_stage, source_spec
    from jobs.ingest.tasks import write_silver
    from lakehouse import Lakehouse

    lake = Lakehouse(root)
    records = 0
    started = time.perf_counter()
    with ReplayServer(SOURCES) as server:
        for source in SOURCES:
            spec = parse_spec(source_spec(source, replay_url=server.base_url(source)) | {"rate_limit": {}})
            for part in first_stage(source, {"options": OPTIONS}):
                s = run_endpoint(
                    lake,
                    spec,
                    part.endpoint,
                    partition=part.partition,
                    options=RunOptions(base_url=server.base_url(source)),
                )
                from jobs.ingest.tasks import _bronze_records

                rows = _bronze_records(lake, part, s.run_seq)
                write_silver(lake, "bench-seq", part, rows, dict(part.partition))
                records += s.rows
    return {"records": records, "seconds": round(time.perf_counter() - started, 2)}


def fan_out(root: str) -> dict[str, Any]:
    import ray

    from covary.settings import reset_settings
    from jobs.ingest import main

    os.environ["COVARY_LAKE__ROOT"] = root
    reset_settings()
    started = time.perf_counter()
    result = main({"sources": SOURCES, "replay": True, "options": OPTIONS})
    seconds = time.perf_counter() - started
    del ray
    records = sum(v["records"] for s, v in result["sources"].items() if s in SOURCES)
    return {"records": records, "seconds": round(seconds, 2), "gold_series": result["finalize"]["gold"]["series"]}


def limiter_cost(n: int = 300) -> dict[str, float]:
    from connectors.core import TokenBucket
    from jobs.ingest.limiter import ClusterLimiter, limiter_actor

    local = TokenBucket(1e9, burst=1e9)
    t = time.perf_counter()
    for _ in range(n):
        local.acquire()
    local_us = (time.perf_counter() - t) / n * 1e6
    import ray

    actor = limiter_actor("bench", 1e9, 1e9)  # keep the handle: the actor lives while it is referenced
    ray.get(actor.stats.remote())
    cluster = ClusterLimiter("bench")
    cluster.acquire()
    t = time.perf_counter()
    for _ in range(n):
        cluster.acquire()
    cluster_us = (time.perf_counter() - t) / n * 1e6
    return {"local_token_bucket_us": round(local_us, 1), "cluster_actor_us": round(cluster_us, 1)}


def main() -> None:
    import ray

    ray.init(
        num_cpus=int(os.environ.get("BENCH_CPUS", "2")),
        include_dashboard=False,
        log_to_driver=False,
        namespace="covary-bench",
    )
    _unlimited({})
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        peer = sequential(a)
        ours = fan_out(b)
    cost = limiter_cost()
    ray.shutdown()
    print(
        json.dumps(
            {
                "benchmark": "builtin_connectors_ingest",
                "cpus": os.cpu_count(),
                "sources": SOURCES,
                "ray_fan_out": ours | {"records_per_s": round(ours["records"] / ours["seconds"], 1)},
                "sequential_in_process": peer | {"records_per_s": round(peer["records"] / peer["seconds"], 1)},
                "speedup": round(peer["seconds"] / ours["seconds"], 2),
                "limiter": cost
                | {"ratio": round(cost["cluster_actor_us"] / max(cost["local_token_bucket_us"], 0.1), 1)},
                "note": "fan-out includes Ray task start-up, the ingest ledger, finalize and gold; the peer does not",
            }
        )
    )


if __name__ == "__main__":
    main()
