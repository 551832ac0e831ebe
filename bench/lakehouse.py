"""Writer/read throughput of covary's exactly-once writer vs plain pyarrow parquet and plain write_deltalake.

Prints one JSON object. The writer's bookkeeping (idempotency check, transaction marker, load id
column, finished-load filter on read) should cost <= 25% vs plain ``write_deltalake`` for 1M-row batches.
Usage: python bench/lakehouse.py [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the package it measures: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from lakehouse import BatchKey, Lakehouse, register
from lakehouse.registry import TableSpec, col

register(
    TableSpec(
        name="bronze.bench_events",
        description="Benchmark table.",
        columns=(
            col("id", pa.int64(), "Row id.", nullable=False),
            col("ts", pa.timestamp("us", tz="UTC"), "Event time."),
            col("key", pa.string(), "Low-cardinality key."),
            col("value", pa.float64(), "Measurement."),
        ),
    )
)


def make_batch(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "ts": pa.array((1_700_000_000_000_000 + rng.integers(0, 10**12, rows)).astype("datetime64[us]")).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "key": pa.array(np.array([f"k{i}" for i in range(1000)])[rng.integers(0, 1000, rows)]),
            "value": pa.array(rng.normal(size=rows)),
        }
    )


def timed(fn: Callable[[int], object], repeats: int) -> list[float]:
    out = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    batch = make_batch(args.rows, 0)
    root = Path(tempfile.mkdtemp(prefix="covary-bench-"))
    lake = Lakehouse(root / "lake")
    plain_uri = str(root / "plain_delta")
    write_deltalake(plain_uri, batch.slice(0, 0))
    lake.ensure("bronze.bench_events")
    load = lake.load("bench")
    load.__enter__()

    results: dict[str, list[float]] = {"parquet": [], "delta": [], "covary": []}
    for i in range(args.repeats):  # interleave so machine drift hits all three alike
        results["parquet"] += timed(lambda j, i=i: pq.write_table(batch, root / f"p{i}-{j}.parquet"), 1)
        results["delta"] += timed(lambda _j: write_deltalake(plain_uri, batch, mode="append"), 1)
        results["covary"] += timed(
            lambda _j, i=i: load.write("bronze.bench_events", batch, batch=BatchKey("bench", i + 1)), 1
        )
    t0 = time.perf_counter()
    load.__exit__(None, None, None)
    ledger_s = time.perf_counter() - t0
    replay = timed(lambda j: load.write("bronze.bench_events", batch, batch=BatchKey("bench", 1)), 3)

    reads: dict[str, list[float]] = {"parquet": [], "delta": [], "covary": []}
    for _ in range(args.repeats):
        reads["parquet"] += timed(lambda _j: pq.read_table(root / "p0-0.parquet"), 1)
        reads["delta"] += timed(lambda _j: DeltaTable(plain_uri).to_pyarrow_table(), 1)
        reads["covary"] += timed(lambda _j: lake.read("bronze.bench_events"), 1)
    total_rows_read = lake.read("bronze.bench_events").num_rows

    med = {k: statistics.median(v) for k, v in results.items()}
    rmed = {k: statistics.median(v) for k, v in reads.items()}
    report = {
        "rows_per_batch": args.rows,
        "repeats": args.repeats,
        "write_median_s": {k: round(v, 4) for k, v in med.items()},
        "write_rows_per_s": {k: round(args.rows / v) for k, v in med.items()},
        "write_overhead_vs_write_deltalake": round(med["covary"] / med["delta"] - 1, 4),
        "write_ratio_covary_vs_parquet": round(med["covary"] / med["parquet"], 3),
        "load_ledger_start_finish_s": round(ledger_s, 4),
        "replayed_batch_skip_median_s": round(statistics.median(replay), 4),
        "read_median_s": {k: round(v, 4) for k, v in rmed.items()},
        "read_rows_per_s": {
            "parquet": round(args.rows / rmed["parquet"]),
            "delta": round(args.rows * args.repeats / rmed["delta"]),
            "covary": round(total_rows_read / rmed["covary"]),
        },
        "read_overhead_vs_deltatable": round(
            (rmed["covary"] / total_rows_read) / (rmed["delta"] / (args.rows * args.repeats)) - 1, 4
        ),
        "goal": "write_overhead_vs_write_deltalake <= 0.25",
        "goal_met": med["covary"] / med["delta"] - 1 <= 0.25,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
