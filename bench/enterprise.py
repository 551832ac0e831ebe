"""Bench for issue 6: generator, KPIs (vs DuckDB SQL), forecasts (Ray vs serial, vs seasonal naive), anomalies
(vs a plain z-score detector), order lines at scale (rows/s vs plain write_deltalake). Prints one JSON object.

    .venv/bin/python bench/enterprise.py [--lines 10000000] [--orders-only]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

DAYS, SEED = 731, 7
FORECAST_SERIES = [
    "synth.marketing.conversions",
    "synth.marketing.revenue",
    "synth.crm.leads",
    "synth.crm.deals_won",
    "synth.support.tickets",
    "synth.operations.output_units",
    "synth.operations.equipment_failures",
    "synth.operations.energy_kwh",
]


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def bench_kpi(lake) -> dict:
    import duckdb

    from jobs.kpi.compute import compute_kpi, read_marketing
    from jobs.kpi.definitions import sql_expression

    data = read_marketing(lake)
    rows, ours = timed(compute_kpi, data, metric="cac", by=["platform", "country"], period="month")
    con = duckdb.connect()
    con.register("m", data.to_arrow())
    sql = (
        f"SELECT platform, country, date_trunc('month', date) AS p, {sql_expression('cac')} AS v "
        "FROM m GROUP BY ALL ORDER BY ALL"
    )
    peer_rows, peer = timed(lambda: con.execute(sql).fetchall())
    ours_map = {(r["platform"], r["country"], r["period_start"]): r["value"] for r in rows}
    agree = all(abs(ours_map[(a, b, p.date() if hasattr(p, "date") else p)] - v) < 1e-9 for a, b, p, v in peer_rows)
    return {
        "marketing_rows": data.height,
        "cac_by_platform_country_month_s": round(ours, 3),
        "peer_duckdb_sql_s": round(peer, 3),
        "ratio_ours_over_duckdb": round(ours / peer, 2),
        "values_agree_with_duckdb": agree,
    }


def bench_forecast(lake) -> dict:
    import ray

    from jobs.forecast.evaluate import evaluate_holdout
    from jobs.forecast.job import DEFAULT_EXOG, _model_group_task, build_inputs
    from jobs.forecast.task import model_group

    items = build_inputs(lake, FORECAST_SERIES, exog=DEFAULT_EXOG, horizon=14, until=None, history_days=365)
    ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    try:
        groups = [items[i : i + 2] for i in range(0, len(items), 2)]
        ray.get([_model_group_task.remote(groups[0][:1], 14, 3, False)])  # warm the workers
        par, t_ray = timed(
            lambda: [r for g in ray.get([_model_group_task.remote(g, 14, 3, False) for g in groups]) for r in g]
        )
        holdout = evaluate_holdout(
            lake, {"series": FORECAST_SERIES, "horizon": 14, "origins": 6, "history_days": 365, "log_mlflow": False}
        )
    finally:
        ray.shutdown()
    ser, t_serial = timed(model_group, items, horizon=14, folds=3, plot=False)
    winners = [r["scores"][r["winner"]] for r in par]
    snaive = [r["scores"]["seasonal_naive"] for r in par]
    pts = sum(w["points"] for w in winners)
    return {
        "series": len(items),
        "ray_tasks": len(groups),
        "ray_fanout_s": round(t_ray, 2),
        "serial_s": round(t_serial, 2),
        "speedup_ray_vs_serial": round(t_serial / t_ray, 2),
        "same_winners_ray_and_serial": [r["winner"] for r in par] == [r["winner"] for r in ser],
        "winner_mean_mase": round(float(np.mean([w["mase"] for w in winners])), 3),
        "peer_seasonal_naive_mean_mase": round(float(np.mean([s["mase"] for s in snaive])), 3),
        "winners_beating_seasonal_naive": sum(w["mase"] < s["mase"] for w, s in zip(winners, snaive, strict=True)),
        "winner_coverage80_pooled": round(sum(w["coverage80"] * w["points"] for w in winners) / pts, 3),
        "winner_coverage95_pooled": round(sum(w["coverage95"] * w["points"] for w in winners) / pts, 3),
        "winners": {r["series_id"]: r["winner"] for r in par},
        "holdout": {
            "what": "the job replayed at 6 rolling origins over the last 12 weeks, scored on days it never saw",
            "points": holdout["points"],
            "series_beating_seasonal_naive": holdout["beat_seasonal_naive"],
            "mean_mase": round(holdout["mean_mase"], 3),
            "peer_seasonal_naive_mean_mase": round(holdout["mean_mase_seasonal_naive"], 3),
            "ratio_mase_ours_over_seasonal_naive": round(holdout["mean_mase"] / holdout["mean_mase_seasonal_naive"], 3),
            "coverage80": round(holdout["coverage80"], 3),
            "coverage95": round(holdout["coverage95"], 3),
            "per_series_mase_ratio": {
                sid: round(s["mase"] / s["mase_seasonal_naive"], 3) for sid, s in holdout["series"].items()
            },
            "seconds": holdout["seconds"],
        },
    }


def bench_anomaly(lake) -> dict:
    from jobs.anomaly.detect import DetectorConfig
    from jobs.anomaly.evaluate import precision_recall
    from jobs.anomaly.job import catalog_series, score_group
    from jobs.common.series import load_daily

    series = catalog_series(lake)
    daily = load_daily(lake, series)
    truth = lake.read("gold.synth_truth").to_pylist()
    res, t_ours = timed(score_group, [daily[s] for s in series], DetectorConfig())
    ours = precision_recall([a for _, found, _ in res for a in found], truth)

    def zscore_peer():
        out = []
        for s in daily.values():
            y = s.values
            z = (y - y.mean()) / y.std()
            for i in np.flatnonzero(np.abs(z) > 3):
                if s.observed[i]:
                    out.append({"series_id": s.series_id, "ts": s.dates[i], "kind": "point", "score": float(z[i])})
        return out

    peer_found, t_peer = timed(zscore_peer)
    peer = precision_recall(peer_found, truth)
    return {
        "series": len(series),
        "planted_events": ours["planted"],
        "stl_mad_precision": round(ours["precision"], 3),
        "stl_mad_recall": round(ours["recall"], 3),
        "stl_mad_s": round(t_ours, 2),
        "peer_global_zscore3_precision": round(peer["precision"], 3),
        "peer_global_zscore3_recall": round(peer["recall"], 3),
        "peer_s": round(t_peer, 3),
    }


def bench_order_lines(lines: int) -> dict:
    """Order lines generated and landed through a lake load (batches, one Delta commit each) vs a peer in the
    same run: the same batches written by plain ``deltalake.write_deltalake`` (no load ledger, no schema check)."""
    import resource

    from deltalake import write_deltalake

    from connectors.synth import records as rec
    from connectors.synth.source import _land_orders
    from connectors.synth.world import simulate
    from lakehouse import Lakehouse

    world = simulate(days=DAYS, seed=SEED, start=__import__("datetime").date(2023, 1, 1))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lakehouse(Path(tmp) / "lake")
        t = time.perf_counter()
        with lake.load("bench.orders") as load:
            counts = _land_orders(load, world, "bench", lines)
        ours = time.perf_counter() - t
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        customers = rec.customers(world, 5_000)
        gen = peer = 0.0
        t = time.perf_counter()
        for k, (_, batch) in enumerate(rec.order_batches(world, customers, lines)):
            arrow = batch.to_arrow()
            gen_end = time.perf_counter()
            write_deltalake(str(Path(tmp) / "peer"), arrow, mode="append" if k else "overwrite")
            peer += time.perf_counter() - gen_end
            gen += gen_end - t
            t = time.perf_counter()
    return {
        "order_lines": counts["silver.synth_order_lines"],
        "orders": counts["silver.synth_orders"],
        "generate_and_land_s": round(ours, 2),
        "rows_per_s": round(counts["silver.synth_order_lines"] / ours),
        "peer_generate_then_plain_write_deltalake_s": round(gen + peer, 2),
        "peer_rows_per_s": round(lines / (gen + peer)) if gen + peer else None,
        "note": "peer writes only the order lines (ours also lands orders and customers, through a load)",
        "max_rss_growth_mb": round((rss1 - rss0) / 1024, 1),
    }


def main() -> None:
    import argparse

    from connectors.synth import generate, run_synth
    from lakehouse import Lakehouse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines for the scale figure (10^7 max)")
    parser.add_argument("--orders-only", action="store_true", help="only the order-lines scale figure")
    args = parser.parse_args()
    if args.orders_only:
        print(json.dumps({"bench": "enterprise", "cpus": os.cpu_count(), "orders": bench_order_lines(args.lines)}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lakehouse(Path(tmp) / "lake")
        _, t_gen = timed(generate, days=DAYS, seed=SEED)
        result, t_land = timed(run_synth, lake, days=DAYS, seed=SEED, with_entities=False)
        out = {
            "bench": "enterprise",
            "cpus": os.cpu_count(),
            "synth": {
                "days": DAYS,
                "records": sum(result.records.values()),
                "generate_s": round(t_gen, 2),
                "generate_and_land_s": round(t_land, 2),
                "landing_overhead_ratio": round(t_land / t_gen, 2),
            },
            "kpi": bench_kpi(lake),
            "anomaly": bench_anomaly(lake),
            "forecast": bench_forecast(lake),
            "orders": bench_order_lines(args.lines),
        }
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
