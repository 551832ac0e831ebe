"""Explorer fixtures: the planted, indexed lake plus the business tables every page reads (KPIs, forecasts,
anomalies and alerts from fixture rows; data quality and an upload from the real DQ runner and file connector),
served by one real local Serve app for the whole package (browser and API tests share it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakehouse import BatchKey, Lakehouse
from tests.rag.env import NOTES, serve_app
from tests.rag.planted import START, STEPS, build

LAST = START + timedelta(weeks=STEPS - 1)
UPLOAD_CSV = "day,price,units\n2024-01-01,10.5,3\n2024-01-02,11.0,4\n2024-01-03,12.25,5,EXTRA\n2024-01-04,9.75,2\n"


def kpi_rows() -> list[dict[str, Any]]:
    """Two complete months and one incomplete month (which the tiles must not show) of three KPIs."""
    rows = []
    values = {  # metric: (Nov, Dec, partial Jan)
        "conversion_rate": (0.80, 0.77, 9.99),  # percent: 0.77 is 0.77 %
        "cac": (42.70, 45.72, 1.0),  # USD per customer, up = bad
        "revenue": (350_000.0, 374_769.16, 5.0),  # USD, up = good... here it went up
    }
    for metric, (nov, dec, jan) in values.items():
        for start, days, value, prev in (
            (date(2023, 11, 1), 30, nov, None),
            (date(2023, 12, 1), 31, dec, nov),
            (date(2024, 1, 1), 9, jan, dec),
        ):
            rows.append(
                {
                    "metric": metric,
                    "period": "month",
                    "period_start": start,
                    "platform": "*",
                    "country": "*",
                    "value": value,
                    "numerator": value,
                    "denominator": None,
                    "days": days,
                    "previous_value": prev,
                    "previous_change": None if prev is None else value - prev,
                    "previous_change_pct": None if prev is None else (value - prev) / prev * 100,
                }
            )
    return rows


def add_business_tables(lake: Lakehouse, tmp: Path) -> None:
    from connectors.files import upload_file
    from jobs.dq import runner

    now = datetime.now(UTC)
    forecasts = [
        {
            "series_id": "mkt.signups",
            "origin": LAST,
            "ts": LAST + timedelta(weeks=h),
            "step": h,
            "mean": 200.0 + h,
            "lo80": 180.0 - h,
            "hi80": 220.0 + 2 * h,
            "lo95": 170.0 - 2 * h,
            "hi95": 230.0 + 3 * h,
            "model": "ets",
            "created_at": now,
        }
        for h in range(1, 9)
    ]
    backtests = [
        {
            "series_id": "mkt.signups",
            "origin": LAST,
            "model": m,
            "mase": s,
            "smape": 10 * s,
            "coverage80": 0.8,
            "coverage95": 0.95,
            "points": 24,
            "winner": m == "ets",
        }
        for m, s in (("ets", 0.61), ("naive", 1.0), ("seasonal_naive", 0.93))
    ]
    anomalies = [
        {
            "series_id": "ops.tickets",
            "ts": LAST - timedelta(weeks=3),
            "kind": "point",
            "value": 95.0,
            "expected": 50.0,
            "score": 7.5,
            "direction": "up",
            "threshold": 5.5,
            "detected_at": now,
        },
        {
            "series_id": "mkt.ad_spend",
            "ts": LAST - timedelta(weeks=4),
            "kind": "level_shift",
            "value": 1600.0,
            "expected": 1000.0,
            "score": 6.1,
            "direction": "up",
            "threshold": 5.5,
            "detected_at": now,
        },
    ]
    alerts = [
        {
            "alert_id": "a1",
            "source_series": "mkt.ad_spend",
            "source_ts": LAST - timedelta(weeks=4),
            "target_series": "ops.tickets",
            "target_ts": LAST - timedelta(weeks=3),
            "lag_days": 7,
            "expected_lag_days": 7,
            "correlation": 0.62,
            "message": "ops.tickets spiked one week after a level shift in mkt.ad_spend (r=0.62 at lag 7 d)",
            "detected_at": now,
        },
    ]
    with lake.load("tests.explorer") as load:
        load.write("gold.marketing_kpis", kpi_rows(), batch=BatchKey("tests/explorer/kpis", 1))
        load.write("gold.forecasts", forecasts, batch=BatchKey("tests/explorer/forecasts", 1))
        load.write("gold.forecast_backtests", backtests, batch=BatchKey("tests/explorer/backtests", 1))
        load.write("gold.anomalies", anomalies, batch=BatchKey("tests/explorer/anomalies", 1))
        load.write("gold.anomaly_alerts", alerts, batch=BatchKey("tests/explorer/alerts", 1))
    runner.run(lake, ["gold.series_values", "gold.series_catalog", "gold.marketing_kpis"])  # the real DQ checks
    csv = tmp / "prices.csv"
    csv.write_text(UPLOAD_CSV)
    upload_file(lake, csv, name="prices")  # the real file connector: one malformed line is quarantined


def small_env(root: Path) -> dict[str, Any]:
    """The planted lake with one correlation run, one user document and its index (Milvus Lite at root/milvus.db,
    where the Serve app looks)."""
    from jobs.index import VectorStore, add_user_document, run_index

    lake = Lakehouse(root / "lake")
    runs = build(lake, runs=1)
    add_user_document(lake, name="campaign-notes.md", text=NOTES)
    with VectorStore(str(root / "milvus.db")) as store:
        summary = run_index(lake, store=store, reports_dir=root / "reports", kinds=["series", "finding", "user"])
    return {"root": root, "lake": lake, "runs": runs, "index": summary, "milvus": str(root / "milvus.db")}


@pytest.fixture(scope="package")
def explorer_app(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("explorer")
    env = small_env(root)
    add_business_tables(env["lake"], root)
    with serve_app(env, tmp_path_factory.mktemp("explorer-keys")) as app:
        yield app
