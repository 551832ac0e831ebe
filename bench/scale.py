"""Discovery at scale: exact vs --screen over N series x 730 steps, ±7 lags; growth fit; 10^5-series projection.

Each configuration runs in its own subprocess (clean peak RSS). Planted pairs: 20 per panel, |r| evenly
0.2-0.5, lags in ±7, on AR(1) phi=0.5 noise. Prints one JSON object. Default: exact up to N=5,000 and
--screen up to 20,000 (bounded to ~20 min on 2 idle cores); `--quick` runs N = 1,000 and 2,000 only;
`--max-n` lowers the ceiling, `--exact-max-n`/`--max-n` raise it (hours). Ray overhead per tile is
measured on a local 2-CPU Ray.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STEPS, MAX_LAG, PLANTED = 730, 7, 20
SIZES = (1000, 2000, 5000, 10000, 20000)


def planted(n_series: int, seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int, int, float]]]:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((STEPS, n_series))
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, STEPS):
        x[t] = 0.5 * x[t - 1] + e[t]
    truth = []
    idx = rng.permutation(n_series)[: 2 * PLANTED]
    for k, r in enumerate(np.linspace(0.2, 0.5, PLANTED)):
        a, b = int(idx[2 * k]), int(idx[2 * k + 1])
        lag = int(rng.integers(-MAX_LAG, MAX_LAG + 1))
        src = np.roll(x[:, a], lag)  # b[t] follows a[t - lag]: a leads b by lag
        x[:, b] = r * src / src.std() + math.sqrt(1 - r * r) * x[:, b] / x[:, b].std()
        truth.append((a, b, lag, float(r)))
    return x, truth


def one(n_series: int, mode: str) -> dict:
    import pandas as pd

    from jobs.correlate import discover

    x, truth = planted(n_series)
    names = [f"s{i:05d}" for i in range(n_series)]
    frame = pd.DataFrame(x, index=pd.date_range("2022-01-01", periods=STEPS), columns=names)
    del x
    t = time.perf_counter()
    res = discover(
        frame, max_lag=MAX_LAG, execution="local", seed=0, screen=mode == "screen", diagnose_limit=0, refine_draws=400
    )
    wall = time.perf_counter() - t
    found = {}
    for f in res.significant:
        found[(f.a, f.b)] = f.lag
    want = {}
    for a, b, lag, _ in truth:
        key = (names[a], names[b]) if a < b else (names[b], names[a])
        want[key] = lag if a < b else -lag
    hits = [k for k in want if k in found]
    false = [k for k in found if k not in want]
    by_r = {f"{r:.2f}": (names[min(a, b)], names[max(a, b)]) in found for a, b, _, r in truth}
    return {
        "n_series": n_series,
        "mode": mode,
        "wall_s": round(wall, 2),
        "kernel_s": res.timings["kernel_s"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pairs": n_series * (n_series - 1) // 2,
        "pairs_returned": len(res.pairs),
        "null_pairs": int(res.timings["null_pairs"]),
        "pairs_scope": res.pairs_scope,
        "draws": res.draws,
        "flops": res.flops,
        "gflops_effective": round(res.flops / max(res.timings["kernel_s"], 1e-9) / 1e9, 1),
        "significant": len(found),
        "recall": round(len(hits) / len(want), 3),
        "recall_by_r": by_r,
        "lag_right": sum(found[k] == want[k] for k in hits),
        "realised_fdr": round(len(false) / max(1, len(found)), 4),
    }


def ray_overhead() -> dict:
    """Per-task Ray overhead: (wall x CPUs - compute inside tasks) / tasks, for several tile sizes."""
    import pandas as pd
    import ray

    from jobs.correlate import execute
    from jobs.correlate.align import to_panel
    from jobs.correlate.discover import prepare
    from jobs.correlate.nulls import make_plan
    from jobs.correlate.options import DiscoveryOptions

    x, _ = planted(512)
    frame = pd.DataFrame(x, index=pd.date_range("2022-01-01", periods=STEPS))
    prep, _ = prepare(to_panel(frame), DiscoveryOptions(max_lag=MAX_LAG))
    cpus = 2
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    rows = []
    try:
        for block in (32, 64, 128):
            plan = make_plan("shift", n=STEPS, max_lag=MAX_LAG, draws=39, seed=0)
            blocks = execute.block_pairs(512, block)
            execute.run_ray(prep, plan, blocks[:2], block, progress=False, per_task=1)  # warm the workers
            t = time.perf_counter()
            res = execute.run_ray(prep, plan, blocks, block, progress=False, per_task=1)
            wall = time.perf_counter() - t
            per_task = res.seconds / res.tasks
            overhead = max(0.0, (wall * cpus - res.seconds) / res.tasks)
            rows.append(
                {
                    "block": block,
                    "tasks": res.tasks,
                    "task_compute_s": round(per_task, 4),
                    "overhead_s_per_task": round(overhead, 4),
                    "overhead_fraction": round(overhead / (overhead + per_task), 3),
                    "task_gflop": round(res.flops / res.tasks / 1e9, 2),
                }
            )
    finally:
        ray.shutdown()
    over = float(np.median([r["overhead_s_per_task"] for r in rows]))
    rate = float(np.median([r["task_gflop"] / r["task_compute_s"] for r in rows]))  # GFLOP/s per task (1 CPU)
    return {
        "tiles": rows,
        "overhead_s_per_task": round(over, 4),
        "per_core_gflops": round(rate, 1),
        "task_s_for_overhead_below_5pct": round(19 * over, 3),
        "tile_gflop_for_overhead_below_5pct": round(19 * over * rate, 1),
    }


def fit_exponent(rows: list[dict], mode: str) -> float | None:
    pts = [(r["n_series"], r["wall_s"]) for r in rows if r["mode"] == mode and r["n_series"] >= 2000]
    if len(pts) < 2:  # a short run (--max-n 2000): fit what there is, from N = 1,000
        pts = [(r["n_series"], r["wall_s"]) for r in rows if r["mode"] == mode]
    if len(pts) < 2:
        return None
    n, w = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return round(float(np.polyfit(n, w, 1)[0]), 2)


def projection(rows: list[dict], ray_info: dict, kernel_ratio_gpu: float = 0.8) -> dict:
    """10^5 series x 730 steps x ±7 lags from measured per-flop rates (flops scale as N^2) and Ray overhead."""
    from jobs.correlate.screen import cost_model

    n_big = 100_000
    out: dict[str, object] = {"n_series": n_big}
    survivors = [r["null_pairs"] / r["pairs"] for r in rows if r["mode"] == "screen"]
    model = cost_model(
        n_series=n_big, n_steps=STEPS, lags=2 * MAX_LAG + 1, draws=39, survivors=max(survivors or [1e-3])
    )
    core = ray_info["per_core_gflops"] * 1e9
    tile_s = max(2.0, ray_info["task_s_for_overhead_below_5pct"])
    for label, flops in (
        ("exact", model["exact_flops"]),
        ("screen", model["screen_flops"] * 2 + model["survivor_flops"]),
    ):
        tasks = flops / (core * tile_s)
        cores_s = flops / core + tasks * ray_info["overhead_s_per_task"]
        out[f"{label}_flops"] = flops
        out[f"{label}_64_cores_h"] = round(cores_s / 64 / 3600, 2)
        gpu_rate = 19.5e12 * kernel_ratio_gpu  # ASSUMED: A100 FP32 spec x 0.8; no GPU was measured
        out[f"{label}_8_gpus_s_assumed"] = round(flops / (8 * gpu_rate), 1)
    out["basis"] = (
        f"64 cores: measured {ray_info['per_core_gflops']} GFLOP/s per 1-CPU Ray task and "
        f"{ray_info['overhead_s_per_task']} s overhead per task; screen = 2 observed passes + survivors "
        f"(measured survivor fraction {max(survivors or [1e-3]):.2g}). 8 GPUs: NOT MEASURED (no GPU lent): "
        "assumes 19.5 TFLOP/s FP32 (A100 spec) x 0.8 kernel/GEMM ratio per GPU"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-n", type=int, default=20000)
    parser.add_argument(
        "--quick", action="store_true", help="N = 1,000 and 2,000 only, exact and --screen (a few minutes idle)"
    )
    parser.add_argument("--exact-max-n", type=int, default=5000)
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--analyse", type=Path, help="recompute the fit and projection from a saved output")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1]), default=float))
        return
    if args.analyse:
        saved = json.loads(args.analyse.read_text())
        ok = [r for r in saved["runs"] if "error" not in r]
        saved["growth_exponent"] = {m: fit_exponent(ok, m) for m in ("exact", "screen")}
        saved["projection_1e5"] = projection(ok, saved["ray"])
        print(json.dumps(saved, indent=2, default=float))
        return
    if args.quick:
        args.max_n = min(args.max_n, 2000)
    sizes = [n for n in SIZES if n <= args.max_n] + ([args.max_n] if args.max_n > SIZES[-1] else [])
    out: dict[str, object] = {
        "mode": "quick" if args.quick else "default",
        "machine_cpus": os.cpu_count(),
        "load_avg_1m_start": round(os.getloadavg()[0], 1),
        "steps": STEPS,
        "max_lag": MAX_LAG,
        "planted": f"{PLANTED} pairs, r 0.2-0.5, AR(1) phi=0.5 noise",
    }
    rows = []
    for n in sizes:
        for mode in ("exact", "screen"):
            if mode == "exact" and n > args.exact_max_n:
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(n), mode], capture_output=True, text=True, check=False, cwd=ROOT
            )
            if done.returncode != 0:
                rows.append({"n_series": n, "mode": mode, "error": done.stderr[-2000:]})
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr)
    out["runs"] = rows
    ok = [r for r in rows if "error" not in r]
    out["growth_exponent"] = {m: fit_exponent(ok, m) for m in ("exact", "screen")}
    ray_info = ray_overhead()
    out["ray"] = ray_info
    out["projection_1e5"] = projection(ok, ray_info)
    out["load_avg_1m_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
