"""Discovery on a fresh demo lake with defaults: recall of planted truths, top-10 precision, event test, wall time.

By default a fresh lake is built in a temporary COVARY_HOME exactly as the demo builds it (``covary demo --steps
macro,connectors,enterprise``), then ``covary correlate --json`` runs with defaults (timed, as a user runs it) and
its findings are scored against ``gold.synth_truth`` by kind (:mod:`jobs.correlate.truth`). Peer in the same run:
the previous default (every series resampled to the coarsest catalogue frequency, ±7 lags). Also the short/
persistent calibration case (n = 100, AR(1) phi = 0.95) against the previous n_eff (plain sample ACF), and the
event test's power/FPR on planted panels (weak-r spikes, sparse-count cascades, bursty and sparse-count nulls).
Prints one JSON object.

    .venv/bin/python bench/discovery.py [--home DIR] [--quick]

``--home``: score an existing demo home instead (its lake is only read: ``covary correlate --no-save``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# `python bench/x.py` puts bench/ first on sys.path, where bench/lakehouse.py would shadow the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "correlate"))

from correlate_synth import ar1, ar1_with_bursts, count_cascade, event_coupled, sparse_counts  # noqa: E402

from covary.errors import CovaryError  # noqa: E402
from jobs.correlate import discover  # noqa: E402
from jobs.correlate.lake_io import load_catalog_meta, load_gold_series  # noqa: E402
from jobs.correlate.plan import SeriesMeta, discover_lake  # noqa: E402
from jobs.correlate.truth import load_truth, score  # noqa: E402

COVARY = str(Path(sys.executable).with_name("covary"))
DEMO_DATA_STEPS = "macro,connectors,enterprise"


def _covary(home: str, *args: str) -> tuple[float, str]:
    """Run the covary CLI with COVARY_HOME=home; (wall seconds, stdout). Fails loudly with its stderr."""
    env = os.environ | {"COVARY_HOME": home}
    started = time.perf_counter()
    done = subprocess.run([COVARY, *args], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"covary {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return wall, done.stdout


def _json_of(text: str) -> dict[str, Any]:
    return dict(json.loads(text[text.index("{") :]))


def lake_figures(home: str | None) -> dict[str, Any]:
    fresh = home is None
    home = home or tempfile.mkdtemp(prefix="covary-bench-discovery-")
    build_s = None
    if fresh:
        build_s, _ = _covary(home, "demo", "--steps", DEMO_DATA_STEPS)
    wall, out = _covary(home, "correlate", "--json", *([] if fresh else ["--no-save"]))
    run = _json_of(out)
    from lakehouse import Lakehouse

    lake = Lakehouse(str(Path(home) / "lake"))
    catalog = load_catalog_meta(lake)
    figures = score(run, load_truth(lake), series=catalog)
    # peer: the previous default (coarsest catalogue frequency for everything, ±7 lags)
    values, aggregation, coarsest, _ = load_gold_series(lake)
    t0 = time.perf_counter()
    try:
        old = discover(
            values, time_col="ts", series_col="series_id", value_col="value", freq=coarsest, aggregation=aggregation
        )
        old_series, old_sig = old.n_series, len(old.significant)
    except CovaryError as exc:  # the peer's refusal is itself a figure
        old_series, old_sig = 0, f"failed: {exc}"
    old_wall = time.perf_counter() - t0
    return {
        "lake": "fresh: covary demo --steps " + DEMO_DATA_STEPS if fresh else f"existing home {home}",
        "build_s": None if build_s is None else round(build_s, 1),
        "command": "covary correlate --json" + ("" if fresh else " --no-save"),
        "wall_s": round(wall, 2),
        "catalogued_series": len(catalog),
        "series_tested": run["series"],
        "panels": [
            {k: lv.get(k) for k in ("frequency", "series", "steps", "max_lag", "pairs", "event_pairs")}
            for lv in run["levels"]
        ],
        "pair_lags_tested": run["tested"],
        "significant": run["significant"],
        "significant_events": sum(f.get("test") == "event" and f["significant"] for f in run["findings"]),
        "related_by_construction": len(run["construction"]),
        "lineage_exclusions": len(run["excluded"]),
        **figures,
        "peer_previous_default": {
            "frequency": coarsest,
            "series_tested": old_series,
            "significant": old_sig,
            "wall_s": round(old_wall, 2),
        },
    }


def _short_fpr(seeds: range, max_lag: int, *, old: bool) -> float:
    import importlib

    from jobs.correlate.transform import acf_truncation, autocorrelations

    disc = importlib.import_module("jobs.correlate.discover")  # the module (the package exports a function)
    saved = disc.effective_acf
    if old:  # the previous n_eff: plain sample ACF truncated at acf_truncation(n)
        disc.effective_acf = lambda z, fitted=1: autocorrelations(z, acf_truncation(z.shape[0]))  # type: ignore[assignment]
    try:
        out = []
        for seed in seeds:
            x = ar1(np.random.default_rng(500 + seed), 100, 100, 0.95)
            frame = pd.DataFrame(x, index=pd.date_range("2020-01-06", periods=100, freq="W-MON"))
            frame.columns = [f"x{i:03d}" for i in range(100)]
            res = discover(frame, max_lag=max_lag, seed=seed, diagnose_limit=0)
            out.append(float((res.pairs["p"] <= 0.05).mean()))
        return round(float(np.mean(out)), 4)
    finally:
        disc.effective_acf = saved


def calibration_figures(quick: bool) -> dict[str, Any]:
    seeds = range(1 if quick else 3)
    out: dict[str, Any] = {"case": "n=100, AR(1) phi=0.95, 4,950 independent pairs per panel, alpha=0.05"}
    for lag in (0, 3, 8):
        out[f"max_lag_{lag}"] = {"now": _short_fpr(seeds, lag, old=False), "previous": _short_fpr(seeds, lag, old=True)}
    return out


def event_figures(quick: bool) -> dict[str, Any]:
    idx = pd.date_range("2022-01-03", periods=730, freq="D")
    hits, corr_hits, rs = [], [], []
    for seed in range(1 if quick else 4):
        rng = np.random.default_rng(seed)
        cols, truth = {}, {}
        for k in range(20):
            lag = int(rng.integers(0, 11))
            a, b = event_coupled(rng, 730, lag=lag, events=8, size=4.5)
            cols[f"a{k:02d}"], cols[f"b{k:02d}"] = a, b
            truth[(f"a{k:02d}", f"b{k:02d}")] = lag
            rs.append(abs(float(np.corrcoef(a[: 730 - lag], b[lag:])[0, 1])))
        long = pd.DataFrame(
            [(s, t, v) for s, arr in cols.items() for t, v in zip(idx, arr, strict=True)],
            columns=["series_id", "ts", "value"],
        )
        meta = {s: SeriesMeta(s, "D", "mean", f"src{s[1:]}", f"dom{s}") for s in cols}
        res = discover_lake(long, meta)
        ev = {(f.a, f.b): f.lag for f in res.significant if f.test == "event"}
        co = {(f.a, f.b) for f in res.significant if f.test == "correlation"}
        hits += [ev.get(k) == lag for k, lag in truth.items()]
        corr_hits += [k in co for k in truth]
    cascade_hits, cascade_rs = [], []
    for seed in range(1 if quick else 4):
        rng = np.random.default_rng(50 + seed)
        cols, truth = {}, {}
        for k in range(8):
            lag = int(rng.integers(7, 29))
            a, b, _ = count_cascade(rng, 730, lag=lag, bursts=3)
            cols[f"tickets{k}"], cols[f"failures{k}"] = a, b
            truth[(f"failures{k}", f"tickets{k}")] = -lag
            cascade_rs.append(abs(float(np.corrcoef(a[: 730 - lag], b[lag:])[0, 1])))
        x = sparse_counts(rng, 730, 14)
        cols |= {f"other{j:02d}": x[:, j] for j in range(14)}
        long = pd.DataFrame(
            [(s, t, v) for s, arr in cols.items() for t, v in zip(idx, arr, strict=True)],
            columns=["series_id", "ts", "value"],
        )
        res = discover_lake(long, {s: SeriesMeta(s, "D", "sum", f"src_{s}", f"dom_{s}") for s in cols})
        ev = {(f.a, f.b): f.lag for f in res.significant if f.test == "event"}
        cascade_hits += [ev.get(k) == lag for k, lag in truth.items()]
    from jobs.correlate.events import detect_tiers, event_tests

    nulls = {
        "bursty_ar1": lambda r: ar1_with_bursts(r, 730, 40),
        "sparse_counts_mean_2": lambda r: sparse_counts(r, 730, 40, mean=2.0),
        "poisson_0.2": lambda r: r.poisson(0.2, (730, 40)).astype(float),
    }
    iu = np.triu_indices(40, 1)
    fpr: dict[str, Any] = {}
    for name, make in nulls.items():
        ps = []
        for seed in range(2 if quick else 6):
            salient, extreme = detect_tiers(make(np.random.default_rng(100 + seed)), idx, "D")
            ps += list(event_tests(salient, iu[0], iu[1], max_lag=28, extreme=extreme).p)
        p = np.asarray(ps)
        fpr[name] = {
            "pairs": int(p.size),
            "fpr_at_0.05": round(float((p <= 0.05).mean()), 4),
            "fpr_at_0.01": round(float((p <= 0.01).mean()), 4),
        }
    return {
        "planted_pairs": len(hits),
        "mean_abs_r": round(float(np.mean(rs)), 3),
        "event_power_right_lag": round(float(np.mean(hits)), 3),
        "correlation_power_same_pairs": round(float(np.mean(corr_hits)), 3),
        "sparse_count_cascades": {
            "case": "daily counts (means 6 and 2), 3 bursts in two years, lag 7-28, among 14 independent counts",
            "pairs": len(cascade_hits),
            "mean_abs_r": round(float(np.mean(cascade_rs)), 3),
            "event_power_right_lag": round(float(np.mean(cascade_hits)), 3),
        },
        "null_fpr_lake_tiers_max_lag_28": fpr,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", help="an existing demo COVARY_HOME (default: build a fresh demo lake)")
    parser.add_argument("--quick", action="store_true", help="fewer seeds for the synthetic figures")
    args = parser.parse_args()
    load = os.getloadavg()
    out: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "note": "shared machine: other engineers' jobs run on the same 2 cores; ratios are the robust figures",
    }
    out["demo_lake"] = lake_figures(args.home)
    out["calibration_short_persistent"] = calibration_figures(args.quick)
    out["event_test_planted"] = event_figures(args.quick)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
