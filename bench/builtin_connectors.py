"""Benchmark: the ingest job replaying the bundled recordings, Ray fan-out vs a sequential run (same run).

Prints one JSON object. Three measurements, each a fresh lake per side:

* ``replay``: every built-in connector's full recording (``--small``: the test slice), rate limits lifted on
  both sides so the figure is the pipeline's. Ray fan-out (long-lived worker actor per source) against the
  same job with ``executor: local`` (every partition in the driver, one after another). Both include the
  ledger, silver, finalize and gold. ``commits`` counts the Delta commits of the fan-out's lake per table
  against its partitions (the target: one per partition per table).
* ``latency``: the same with ``--latency-ms`` (default 100) injected by the replay server on every answer,
  as a remote API would add: the fan-out overlaps the waits, the sequential run cannot. It replays
  ``--latency-slice`` (default: the full recordings, ~1,700 requests, so ~3 minutes of waits for the
  sequential side; ``small``: the test slice, whose critical path is one 30-id detail partition).
* ``rate_limits``: the fan-out with the connectors' real limits on the test slice; the replay server records
  every request's arrival, and the most requests of a source in any 1 s window is compared with what its
  cluster-wide token bucket allows (``burst + rate x 1 s``).

    python bench/builtin_connectors.py            # the full figure (run on an idle machine; ~6 min on 2 cores)
    python bench/builtin_connectors.py --small    # a quick variant
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# `python bench/x.py` puts bench/ first on sys.path, where bench/lakehouse.py would shadow the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

# the slice tests/ingest/test_ingest_job.py uses: every connector, a few partitions each
SMALL: dict[str, Any] = {
    "github": {"repos": ["covary-demo/rustdb"]},
    "tmdb": {"years": [2010], "max_children": 30},
    "weather": {"cities": ["Seattle"], "years": [2015]},
    "pokeapi": {"max_children": 12},
    "musicbrainz": {"months": ["2015-01"], "countries": ["US"]},
    "spotify": {"markets": ["US"]},
    "fred": {"series": ["UNRATE", "SP500"]},
}


class _Unlimited:
    """Lift every source's rate limit (both sides), restoring the real specs afterwards."""

    def __enter__(self) -> None:
        from jobs.ingest import plan

        self.original = plan.source_spec

        def spec(source: str, *, replay_url: str | None = None) -> dict[str, Any]:
            return self.original(source, replay_url=replay_url) | {"rate_limit": {}}

        plan.source_spec = spec  # the job looks it up there at every run

    def __exit__(self, *exc: object) -> None:
        from jobs.ingest import plan

        plan.source_spec = self.original


def run_job(config: dict[str, Any]) -> dict[str, Any]:
    """The ingest job on a fresh lake; its seconds, records, requests, per-source request rates and commits."""
    from covary.settings import reset_settings
    from jobs.ingest import main

    with tempfile.TemporaryDirectory(prefix="covary-bench-") as root:
        os.environ["COVARY_LAKE__ROOT"] = root
        reset_settings()
        started = time.perf_counter()
        result = main({"sources": "all", "replay": True} | config)
        seconds = time.perf_counter() - started
        commits = commit_counts(root, result)
    per = result["sources"]
    records = sum(int(v["records"]) for v in per.values())
    return {
        "executor": result["executor"],
        "seconds": round(seconds, 2),
        "records": records,
        "requests": sum(int(v["requests"]) for v in per.values()),
        "partitions": sum(int(v["partitions"]) for v in per.values()),
        "records_per_s": round(records / seconds, 1),
        "gold_series": result["finalize"]["gold"]["series"],
        "commits": commits,
        "per_source": per,
    }


PER_PARTITION = ("bronze.api_records", "bronze.api_pages", "ops.cursors", "ops.loads")


def commit_counts(root: str, result: dict[str, Any]) -> dict[str, Any]:
    """Delta commits per table of the run's lake (the create not counted) against its partitions.

    ``ops.loads`` also holds the job's own loads (finalize, gold: announced, two events each): they are
    subtracted, so ``per_partition`` of every table is at most 1 when each partition commits once per table.
    """
    from lakehouse import Lakehouse

    tables: dict[str, int] = {}
    for log in sorted(Path(root).glob("*/*/_delta_log")):
        tables[f"{log.parent.parent.name}.{log.parent.name}"] = len(list(log.glob("*.json"))) - 1
    partitions = sum(int(v["partitions"]) for v in result["sources"].values())
    events = Lakehouse(root).read("ops.loads", columns=["source"]).column("source").to_pylist()
    job_events = sum(1 for s in events if s not in result["sources"])
    per_partition = {
        t: round((tables.get(t, 0) - (job_events if t == "ops.loads" else 0)) / max(1, partitions), 3)
        for t in PER_PARTITION
    }
    silver = {t: n for t, n in tables.items() if t.startswith("silver.")}
    return {
        "partitions": partitions,
        "tables": tables,
        "per_partition": per_partition,
        "silver_max_per_partition": round(max(silver.values(), default=0) / max(1, partitions), 3),
        "total_per_partition": round(sum(tables.values()) / max(1, partitions), 2),
        "one_per_partition_per_table": all(v <= 1.0 for v in per_partition.values()),
    }


def pair(config: dict[str, Any]) -> dict[str, Any]:
    ours = run_job(config | {"executor": "actors"})
    peer = run_job(config | {"executor": "local"})
    slim = {k: v for k, v in ours.items() if k != "per_source"}
    same = (ours["records"], ours["gold_series"]) == (peer["records"], peer["gold_series"])
    return {
        "ray_fan_out": slim,
        "sequential": {k: v for k, v in peer.items() if k not in ("per_source", "commits")},
        "speedup": round(peer["seconds"] / ours["seconds"], 2),
        "same_result": same,
    }


def rate_limits(options: dict[str, Any]) -> dict[str, Any]:
    from jobs.ingest.plan import rate_of, source_spec

    run = run_job({"options": options, "executor": "actors"})
    out: dict[str, Any] = {"seconds": run["seconds"], "sources": {}}
    for source, v in run["per_source"].items():
        rl = source_spec(source).get("rate_limit") or {}
        rate, burst = rate_of(source_spec(source))
        allowed = math.floor((burst or max(1.0, rate)) + rate * 1.0)
        out["sources"][source] = {
            "requests": v["requests"],
            "max_requests_in_1s": v.get("max_requests_per_s"),
            "limit_per_s": rl.get("requests_per_second"),
            "burst": rl.get("burst"),
            "allowed_in_1s": allowed,
            "holds": v.get("max_requests_per_s", 0) <= allowed,
        }
    out["all_hold"] = all(s["holds"] for s in out["sources"].values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the test slice instead of the full recordings")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument(
        "--latency-slice", choices=["small", "full"], default="full", help="what the latency pair replays"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["replay", "latency", "rate_limits"])
    args = parser.parse_args()
    import ray

    cpus = int(os.environ.get("BENCH_CPUS", "2"))
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, namespace="covary-bench")
    options = SMALL if args.small else {}
    latency_options = SMALL if args.small or args.latency_slice == "small" else {}
    report: dict[str, Any] = {"benchmark": "builtin_connectors_ingest", "cpus": cpus, "small": args.small}
    try:
        with _Unlimited():
            if "replay" not in args.skip:
                report["replay"] = pair({"options": options})
            if "latency" not in args.skip:
                report["latency"] = pair({"options": latency_options, "latency_s": args.latency_ms / 1000}) | {
                    "latency_ms": args.latency_ms,
                    "slice": "small" if latency_options else "full",
                }
        if "rate_limits" not in args.skip:
            report["rate_limits"] = rate_limits(SMALL)
    finally:
        ray.shutdown()
    report["targets"] = {
        "full_replay_le_60s": None
        if args.small or "replay" not in report
        else report["replay"]["ray_fan_out"]["seconds"] <= 60,
        "latency_speedup_ge_1_5": report["latency"]["speedup"] >= 1.5 if "latency" in report else None,
        "rate_limits_hold": report["rate_limits"]["all_hold"] if "rate_limits" in report else None,
        "one_commit_per_partition_per_table": report["replay"]["ray_fan_out"]["commits"]["one_per_partition_per_table"]
        if "replay" in report
        else None,
        "same_result": all(report[k]["same_result"] for k in ("replay", "latency") if k in report),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
