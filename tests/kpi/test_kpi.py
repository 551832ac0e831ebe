"""Marketing KPIs against hand-computed values: ratios of sums, zero denominators, missing periods, CLI."""

from __future__ import annotations

import json
import pickle
from datetime import date

import duckdb
import polars as pl
import pytest

from jobs.kpi.compute import comparison_start, compute_kpi, kpi_report, period_start
from jobs.kpi.definitions import KPIS, get_kpi, sql_expression
from jobs.kpi.errors import KpiArgumentError, KpiDataError, UnknownKpiError

COLS = ("date", "platform", "country", "device", "campaign", "spend", "impressions", "clicks", "conversions", "revenue")
ROWS = [
    (date(2023, 1, 12), "google_ads", "US", "mobile", "g", 120.0, 12000, 240, 3, 330.0),
    (date(2024, 1, 10), "google_ads", "US", "mobile", "g", 100.0, 10000, 200, 4, 400.0),
    (date(2024, 1, 20), "google_ads", "US", "mobile", "g", 50.0, 5000, 100, 1, 90.0),
    (date(2024, 1, 15), "meta_ads", "US", "mobile", "m", 30.0, 3000, 60, 0, 0.0),
    (date(2024, 2, 5), "google_ads", "US", "mobile", "g", 80.0, 8000, 160, 2, 250.0),
    (date(2024, 2, 5), "meta_ads", "US", "mobile", "m", 0.0, 0, 0, 0, 0.0),
    (date(2024, 3, 3), "meta_ads", "US", "mobile", "m", 40.0, 4000, 50, 2, 120.0),
]


@pytest.fixture
def frame() -> pl.DataFrame:
    return pl.DataFrame([dict(zip(COLS, r, strict=True)) for r in ROWS], infer_schema_length=None)


def _row(rows: list[dict], start: date, **dims: str) -> dict:
    (hit,) = [r for r in rows if r["period_start"] == start and all(r[k] == v for k, v in dims.items())]
    return hit


def test_monthly_cac_by_platform_vs_previous(frame: pl.DataFrame) -> None:
    rows = compute_kpi(frame, metric="cac", by=["platform"], period="month", compare="previous")
    g_jan, g_feb = (
        _row(rows, date(2024, 1, 1), platform="google_ads"),
        _row(rows, date(2024, 2, 1), platform="google_ads"),
    )
    assert g_jan["value"] == pytest.approx(150 / 5)
    assert g_feb["value"] == pytest.approx(80 / 2)
    assert g_feb["previous_value"] == pytest.approx(30.0)
    assert g_feb["change"] == pytest.approx(10.0)
    assert g_feb["change_pct"] == pytest.approx(100 * 10 / 30)
    # google has no March rows: a missing period is null, not zero
    g_mar = _row(rows, date(2024, 3, 1), platform="google_ads")
    assert g_mar["value"] is None and g_mar["days"] == 0 and g_mar["change"] is None
    assert g_mar["note"] == "no data in this period"
    # meta spent 30 for 0 conversions in January, and 0 for 0 in February: CAC undefined, never inf or 0
    m_jan, m_feb = _row(rows, date(2024, 1, 1), platform="meta_ads"), _row(rows, date(2024, 2, 1), platform="meta_ads")
    assert m_jan["value"] is None and m_jan["note"] == "undefined: zero denominator"
    assert m_feb["value"] is None and m_feb["numerator"] == 0 and m_feb["denominator"] == 0
    m_mar = _row(rows, date(2024, 3, 1), platform="meta_ads")
    assert m_mar["value"] == pytest.approx(20.0)
    assert m_mar["previous_value"] is None and m_mar["change"] is None and m_mar["change_pct"] is None
    # the grid covers every month from the first to the last data month, for every platform
    assert len(rows) == 2 * 15


def test_overall_ratios_are_ratios_of_sums(frame: pl.DataFrame) -> None:
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    cac = compute_kpi(frame, metric="cac", period="month")
    assert _row(cac, jan)["value"] == pytest.approx(180 / 5)  # not the mean of daily CACs
    assert _row(cac, feb)["change_pct"] == pytest.approx(100 * (40 - 36) / 36)
    assert _row(cac, mar)["change"] == pytest.approx(20 - 40)
    roas = compute_kpi(frame, metric="roas", period="month")
    assert _row(roas, jan)["value"] == pytest.approx(490 / 180)
    assert _row(roas, feb)["value"] == pytest.approx(250 / 80)
    cvr = compute_kpi(frame, metric="conversion_rate", period="month")
    assert _row(cvr, jan)["value"] == pytest.approx(100 * 5 / 360)
    aov = compute_kpi(frame, metric="aov", period="month")
    assert _row(aov, jan)["value"] == pytest.approx(490 / 5)
    # months with no rows at all between Jan 2023 and Jan 2024 are present and null
    assert _row(cac, date(2023, 6, 1))["value"] is None


def test_revenue_zero_is_a_value_and_pct_change_from_zero_is_undefined(frame: pl.DataFrame) -> None:
    rows = compute_kpi(frame, metric="revenue", by=["platform"], period="month")
    m_feb, m_mar = _row(rows, date(2024, 2, 1), platform="meta_ads"), _row(rows, date(2024, 3, 1), platform="meta_ads")
    assert m_feb["value"] == 0.0  # a day with data and no revenue is 0, unlike a missing month
    assert m_mar["change"] == pytest.approx(120.0)
    assert m_mar["change_pct"] is None
    assert m_mar["note"] == "percent change undefined: comparison value is 0"
    roas = compute_kpi(frame, metric="roas", by=["platform"], period="month")
    assert _row(roas, date(2024, 2, 1), platform="meta_ads")["value"] is None  # 0 / 0 spend


def test_year_ago_week_month_quarter(frame: pl.DataFrame) -> None:
    wk = compute_kpi(frame, metric="revenue", period="week", compare="year_ago")
    w = _row(wk, date(2024, 1, 8))
    assert w["previous_start"] == date(2023, 1, 9)  # 52 weeks back keeps the weekday
    assert w["previous_value"] == pytest.approx(330.0) and w["change_pct"] == pytest.approx(100 * 70 / 330)
    prev = compute_kpi(frame, metric="revenue", period="week", compare="previous")
    assert _row(prev, date(2024, 1, 15))["value"] == pytest.approx(90.0)
    assert _row(prev, date(2024, 1, 15))["change_pct"] == pytest.approx(-77.5)
    q = compute_kpi(frame, metric="cac", period="quarter", compare="year_ago")
    q1 = _row(q, date(2024, 1, 1))
    assert q1["value"] == pytest.approx(300 / 9) and q1["previous_value"] == pytest.approx(40.0)
    assert q1["change_pct"] == pytest.approx(100 * (300 / 9 - 40) / 40)
    assert not q1["complete"] and q1["days"] == 5
    m = compute_kpi(frame, metric="cac", by=["platform"], period="month", compare="year_ago")
    g_jan = _row(m, date(2024, 1, 1), platform="google_ads")
    assert g_jan["change"] == pytest.approx(-10.0) and g_jan["change_pct"] == pytest.approx(-25.0)
    g_feb = _row(m, date(2024, 2, 1), platform="google_ads")
    assert g_feb["previous_value"] is None and g_feb["note"] == "no year-ago value to compare with"


def test_period_helpers() -> None:
    assert period_start(date(2024, 2, 29), "week") == date(2024, 2, 26)
    assert period_start(date(2024, 8, 15), "quarter") == date(2024, 7, 1)
    assert comparison_start(date(2024, 1, 1), "month", "previous") == date(2023, 12, 1)
    assert comparison_start(date(2024, 4, 1), "quarter", "year_ago") == date(2023, 4, 1)


def test_sql_expression_matches_compute(frame: pl.DataFrame) -> None:
    con = duckdb.connect()
    con.register("m", frame.to_arrow())
    for metric in KPIS:
        (value,) = con.execute(
            f"SELECT {sql_expression(metric)} FROM m WHERE date >= DATE '2024-01-01' AND date < DATE '2024-02-01'"
        ).fetchone()
        expected = _row(compute_kpi(frame, metric=metric, period="month"), date(2024, 1, 1))["value"]
        assert value == pytest.approx(expected), metric
    (meta_cac,) = con.execute(
        f"SELECT {sql_expression('cac')} FROM m WHERE platform = 'meta_ads' AND date < '2024-03-01'"
    ).fetchone()
    assert meta_cac is None


def test_definitions_and_errors_pickle(frame: pl.DataFrame) -> None:
    assert get_kpi("Return on ad spend").id == "roas"
    assert get_kpi("CPA").id == "cac"
    assert KPIS["cac"].formula == "sum(spend) / sum(conversions)"
    with pytest.raises(UnknownKpiError) as err:
        compute_kpi(frame, metric="ltv")
    assert "cac" in (err.value.hint or "")
    with pytest.raises(KpiArgumentError):
        compute_kpi(frame, metric="cac", by=["region"])
    with pytest.raises(KpiArgumentError):
        compute_kpi(frame, metric="cac", period="day")
    for exc in (UnknownKpiError("x", hint="y"), KpiArgumentError("x"), KpiDataError("x", hint="h")):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and again.message == "x" and again.hint == exc.hint


def test_gold_table_and_cli(frame: pl.DataFrame, covary_home, capsys: pytest.CaptureFixture[str]) -> None:
    from covary.cli import main
    from covary.settings import get_settings
    from jobs.kpi import materialise
    from lakehouse import Lakehouse

    lake = Lakehouse.from_settings(get_settings())
    with pytest.raises(KpiDataError):
        kpi_report(lake, metric="cac")
    with lake.load("test") as load:
        load.write("silver.synth_marketing", frame)
    summary = materialise(lake)
    gold = lake.read_polars("gold.marketing_kpis")
    assert summary["rows"] == gold.height
    g = gold.filter(
        (pl.col("metric") == "cac")
        & (pl.col("period") == "month")
        & (pl.col("period_start") == date(2024, 1, 1))
        & (pl.col("platform") == "google_ads")
        & (pl.col("country") == "*")
    ).row(0, named=True)
    assert g["value"] == pytest.approx(30.0) and g["year_ago_value"] == pytest.approx(40.0)
    assert g["year_ago_change_pct"] == pytest.approx(-25.0)
    assert materialise(lake)["skipped"] is True  # same input: the batch is not written twice

    code = main(
        ["kpi", "--metric", "cac", "--by", "platform,country", "--period", "month", "--compare", "previous", "--json"]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["platform"], r["country"]) for r in rows} == {("google_ads", "US"), ("meta_ads", "US")}
    assert all(r["period_start"] == "2024-03-01" for r in rows)
    meta = next(r for r in rows if r["platform"] == "meta_ads")
    assert meta["value"] == pytest.approx(20.0) and meta["previous_value"] is None
    assert main(["kpi", "--metric", "nope"]) == 2
    assert "unknown KPI" in capsys.readouterr().err
