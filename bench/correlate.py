"""Correlation engine benchmark: kernel vs GEMM, vs scipy permutation_test, 2,000-series run, calibration."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "correlate"))

from correlate_synth import ar1, planted_panel

from jobs.correlate import discover
from jobs.correlate.kernel import null_maxima_numpy
from jobs.correlate.nulls import make_plan

QUICK = os.environ.get("BENCH_QUICK") == "1"


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def kernel_vs_gemm() -> dict:
    n, t = 1000, 256
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n, 2 * t)).astype(np.float32)
    z = (z - z.mean(0)) / z.std(0)
    plan = make_plan("shift", n=n, max_lag=7, draws=40, seed=0)
    views = plan.views.shape[0]
    norm = np.full((1, 1), float(n))
    kernel_s = _best(lambda: null_maxima_numpy(z[:, :t], z[:, t:], plan, norm))
    kernel_flops = 2.0 * n * t * t * views
    a = np.ascontiguousarray(z[:, :t].T)
    b = rng.standard_normal((n, t * 8)).astype(np.float32)
    gemm_s = _best(lambda: a @ b)
    gemm_flops = 2.0 * t * n * t * 8
    k, g = kernel_flops / kernel_s / 1e9, gemm_flops / gemm_s / 1e9
    return {
        "kernel_gflops": round(k, 1),
        "numpy_f32_gemm_gflops": round(g, 1),
        "ratio": round(k / g, 3),
        "block": f"{t}x{t} pairs x {views} shift views x n={n}",
    }


def vs_scipy_permutation_test() -> dict:
    rng = np.random.default_rng(1)
    n, pairs, resamples = 365, 3, 199
    x = rng.standard_normal((n, 2 * pairs))
    t = time.perf_counter()
    for i in range(pairs):
        stats.permutation_test(
            (x[:, 2 * i], x[:, 2 * i + 1]),
            lambda u, v: stats.pearsonr(u, v).statistic,
            permutation_type="pairings",
            n_resamples=resamples,
        )
    loop_per = (time.perf_counter() - t) / (pairs * resamples)

    def vstat(u: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        uc, vc = u - u.mean(axis, keepdims=True), v - v.mean(axis, keepdims=True)
        return (uc * vc).sum(axis) / np.sqrt((uc**2).sum(axis) * (vc**2).sum(axis))

    t = time.perf_counter()
    for i in range(pairs):
        stats.permutation_test(
            (x[:, 2 * i], x[:, 2 * i + 1]), vstat, permutation_type="pairings", n_resamples=9999, vectorized=True
        )
    vec_per = (time.perf_counter() - t) / (pairs * 9999)
    frame = pd.DataFrame(ar1(rng, n, 300, 0.5), index=pd.date_range("2020-01-01", periods=n))
    res = discover(frame, max_lag=7, null="iid", null_draws=99, refine_draws=0, execution="local", diagnose_limit=0)
    evaluations = len(res.pairs) * res.draws * 15  # pair x permutation x lag correlations
    ours_per = res.timings["kernel_s"] / evaluations
    return {
        "scipy_loop_s_per_pair_permutation": loop_per,
        "scipy_vectorized_s_per_pair_permutation": vec_per,
        "covary_s_per_pair_permutation_lag": ours_per,
        "speedup_vs_scipy_loop": round(loop_per / ours_per),
        "speedup_vs_scipy_vectorized": round(vec_per / ours_per, 1),
    }


def full_discovery() -> dict:
    n_series, n = (400, 1000) if QUICK else (2000, 1000)
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        ar1(rng, n, n_series, 0.5),
        index=pd.date_range("2020-01-01", periods=n),
        columns=[f"s{i:04d}" for i in range(n_series)],
    )
    t = time.perf_counter()
    res = discover(frame, max_lag=7, correction="bh", execution="local", seed=0)
    wall = time.perf_counter() - t
    return {
        "series": n_series,
        "steps": n,
        "pairs": len(res.pairs),
        "tested": res.tested,
        "draws": res.draws,
        "wall_s": round(wall, 1),
        "goal_s": 120,
        "timings": res.timings,
        "significant": len(res.significant),
        "kernel_gflops_effective": round(res.flops / res.timings["kernel_s"] / 1e9, 1),
    }


def calibration_tables() -> dict:
    x = ar1(np.random.default_rng(3), 365, 400, 0.9)
    frame = pd.DataFrame(x, index=pd.date_range("2023-01-02", periods=365), columns=[f"x{i}" for i in range(400)])
    fpr = {}
    for null in ("shift", "block", "iid"):
        res = discover(frame, null=null, null_draws=99, refine_draws=0, seed=1, execution="local", diagnose_limit=0)
        fpr[null] = round(float((res.pairs["p"] <= 0.05).mean()), 4)
    power, fdr, lag_ok = [], [], []
    for seed in range(3 if QUICK else 8):
        panel, truth = planted_panel(seed)
        res = discover(panel, seed=seed, execution="local")
        found = {(f.a, f.b): f.lag for f in res.significant}
        power.append(np.mean([k in found for k in truth]))
        fdr.append(len(set(found) - set(truth)) / max(1, len(found)))
        lag_ok.append(np.mean([found.get(k) == v for k, v in truth.items() if k in found]))
    return {
        "fpr_at_0.05_ar1_phi0.9_n365_79800_pairs": fpr,
        "planted_r0.3_n730_phi0.5_60_series": {
            "reps": len(power),
            "power": round(float(np.mean(power)), 3),
            "realized_fdr_q0.05": round(float(np.mean(fdr)), 4),
            "lag_recovered": round(float(np.mean(lag_ok)), 3),
        },
    }


def main() -> None:
    out = {"machine_cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)}
    out["kernel"] = kernel_vs_gemm()
    out["permutation_speed"] = vs_scipy_permutation_test()
    out["calibration"] = calibration_tables()
    out["full_discovery"] = full_discovery()
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
