"""Non-SQL intents over real Delta tables: driver analysis checked against hand-computed (polars)
decompositions on planted data, relations against scipy, forecasts/anomalies/monitoring from gold tables."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from lakehouse import BatchKey, Lakehouse
from serve.query.errors import CannotAnswerError
from serve.query.plan import Filter, PeriodSpec, QueryPlan
from serve.query.service import EngineOptions, QueryService

PLATFORMS = ("google_ads", "meta_ads", "tiktok_ads")
COUNTRIES = ("US", "DE", "GB")
DEVICES = ("mobile", "desktop")
Q2 = PeriodSpec("2024-04-01", "2024-07-01", "Q2 2024")
Q3 = PeriodSpec("2024-07-01", "2024-10-01", "Q3 2024")


def marketing_rows() -> list[dict]:
    """Daily cells; in Q3 meta_ads x US converts at a third of its Q2 rate (the planted driver), and tiktok gets
    more clicks (a mix shift towards a low-converting platform)."""
    rng = np.random.default_rng(11)
    base = {"google_ads": 0.05, "meta_ads": 0.06, "tiktok_ads": 0.02}
    country = {"US": 1.2, "DE": 1.0, "GB": 0.9}
    rows = []
    day = date(2024, 4, 1)
    while day < date(2024, 10, 1):
        q3 = day >= date(2024, 7, 1)
        for p in PLATFORMS:
            for c in COUNTRIES:
                for d in DEVICES:
                    clicks = int(rng.integers(200, 400) * (1.6 if q3 and p == "tiktok_ads" else 1.0))
                    rate = base[p] * country[c] * (0.9 if d == "desktop" else 1.0)
                    if q3 and p == "meta_ads" and c == "US":
                        rate /= 3
                    conv = int(rng.binomial(clicks, rate))
                    rows.append(
                        {
                            "date": day,
                            "platform": p,
                            "campaign": f"{p}-brand-{c}",
                            "country": c,
                            "device": d,
                            "spend": float(clicks) * (0.8 if p == "tiktok_ads" else 1.2),
                            "impressions": clicks * 40,
                            "clicks": clicks,
                            "conversions": conv,
                            "revenue": conv * 55.0,
                        }
                    )
        day += timedelta(days=1)
    return rows


@pytest.fixture(scope="module")
def mk(tmp_path_factory: pytest.TempPathFactory):
    lake = Lakehouse(tmp_path_factory.mktemp("intents-mk") / "lake")
    rows = marketing_rows()
    with lake.load("tests.intents") as load:
        load.write("silver.synth_marketing", rows, batch=BatchKey("tests/intents/marketing"))
    svc = QueryService(lake, EngineOptions(llm_mode="off", timeout_s=30))
    yield svc, pl.DataFrame(rows)
    svc.close()


def _quarter(frame: pl.DataFrame, p: PeriodSpec) -> pl.DataFrame:
    return frame.filter(
        (pl.col("date") >= date.fromisoformat(p.start or "")) & (pl.col("date") < date.fromisoformat(p.end or ""))
    )


def _reference_ratio(frame: pl.DataFrame, dims: list[str]) -> dict[tuple, tuple[float, float, float]]:
    """Kitagawa by hand: per segment (contribution, mix, rate) of 100 * conversions / clicks from Q2 to Q3."""
    out = {}
    parts = []
    for p in (Q2, Q3):
        g = (
            _quarter(frame, p)
            .group_by(dims)
            .agg(pl.col("conversions").sum().alias("n"), pl.col("clicks").sum().alias("d"))
        )
        parts.append({tuple(r[k] for k in dims): (r["n"], r["d"]) for r in g.iter_rows(named=True)})
    d1 = sum(v[1] for v in parts[0].values())
    d2 = sum(v[1] for v in parts[1].values())
    centre = (100 * sum(v[0] for v in parts[0].values()) / d1 + 100 * sum(v[0] for v in parts[1].values()) / d2) / 2
    for key in parts[0].keys() | parts[1].keys():
        n1, c1 = parts[0].get(key, (0, 0))
        n2, c2 = parts[1].get(key, (0, 0))
        w1, w2, r1, r2 = c1 / d1, c2 / d2, 100 * n1 / c1, 100 * n2 / c2
        mix, rate = (w2 - w1) * ((r1 + r2) / 2 - centre), (r2 - r1) * (w1 + w2) / 2
        out[key] = (mix + rate, mix, rate)
    return out


def test_ratio_kpi_driver_analysis_matches_a_hand_computed_kitagawa_decomposition(mk) -> None:
    from serve.query.intents import run_intent

    svc, frame = mk
    plan = QueryPlan(intent="why", measure="conversion_rate", table="silver.synth_marketing", periods=[Q3])
    out = run_intent(plan, svc)
    assert out["intent"] == "why" and out["form"] == "ratio"
    assert out["baseline"]["label"] == "Q2 2024" and out["baseline"]["start"] == "2024-04-01"  # the previous quarter
    q2, q3 = _quarter(frame, Q2), _quarter(frame, Q3)
    before = 100 * q2["conversions"].sum() / q2["clicks"].sum()
    after = 100 * q3["conversions"].sum() / q3["clicks"].sum()
    assert out["before"] == pytest.approx(before, rel=1e-12) and out["after"] == pytest.approx(after, rel=1e-12)
    assert out["change"] < 0
    dims_seen = set()
    for b in out["breakdowns"]:
        dims_seen.add(tuple(b["dimensions"]))
        assert math.fsum(s["contribution"] for s in b["segments"]) + b["other"] == pytest.approx(
            out["change"], abs=1e-12
        )
        assert abs(b["residual"]) < 1e-12 and b["segment_count"] >= len(b["segments"])
        ref = _reference_ratio(frame, b["dimensions"])
        for s in b["segments"]:
            key = tuple(s["segment"][d] for d in b["dimensions"])
            c, mix, rate = ref[key]
            assert s["contribution"] == pytest.approx(c, abs=1e-12)
            assert s["mix"] == pytest.approx(mix, abs=1e-12) and s["rate"] == pytest.approx(rate, abs=1e-12)
    assert {("platform",), ("country",), ("device",), ("platform", "country")} <= dims_seen
    assert ("platform", "campaign") not in dims_seen  # campaign determines platform: nothing new to see
    top = out["top"][0]
    assert top["segment"] == {"platform": "meta_ads", "country": "US"}  # the planted cell, not just its parents
    assert top["rate"] < 0 and abs(top["rate"]) > abs(top["mix"])  # its own rate fell
    tiktok = next(
        s
        for b in out["breakdowns"]
        if b["dimensions"] == ["platform"]
        for s in b["segments"]
        if s["segment"]["platform"] == "tiktok_ads"
    )
    assert tiktok["mix"] < 0 and abs(tiktok["rate"]) < 0.01  # clicks moved to the low-converting platform
    assert out["top"][1]["segment"] == {"platform": "tiktok_ads"}
    assert "meta_ads" in out["answer"] and "US" in out["answer"] and "Q2 2024" in out["answer"]
    assert "rate effect" in out["answer"]


def test_additive_driver_contributions_are_each_segments_own_change(mk) -> None:
    from serve.query.intents import run_intent

    svc, frame = mk
    plan = QueryPlan(
        intent="why",
        measure="spend",
        table="silver.synth_marketing",
        periods=[Q2, Q3],
        filters=[Filter("device", "=", ["mobile"])],
    )
    out = run_intent(plan, svc)
    assert out["form"] == "additive"
    mobile = frame.filter(pl.col("device") == "mobile")
    change = _quarter(mobile, Q3)["spend"].sum() - _quarter(mobile, Q2)["spend"].sum()
    assert out["change"] == pytest.approx(change, rel=1e-12)
    assert all("device" not in b["dimensions"] for b in out["breakdowns"])  # pinned by the filter
    by_platform = next(b for b in out["breakdowns"] if b["dimensions"] == ["platform"])
    for s in by_platform["segments"]:
        seg = mobile.filter(pl.col("platform") == s["segment"]["platform"])
        assert s["contribution"] == pytest.approx(_quarter(seg, Q3)["spend"].sum() - _quarter(seg, Q2)["spend"].sum())
    assert math.fsum(s["contribution"] for s in by_platform["segments"]) == pytest.approx(change, rel=1e-12)
    assert out["top"][0]["segment"]["platform"] == "tiktok_ads"  # the platform whose clicks (and spend) grew


def test_driver_analysis_refusals(mk) -> None:
    from serve.query import drivers
    from serve.query.intents import run_intent
    from serve.query.semantic import Measure

    svc, _ = mk
    with pytest.raises(CannotAnswerError, match="undefined"):
        run_intent(
            QueryPlan(
                intent="why", measure="conversion_rate", periods=[PeriodSpec("2020-01-01", "2020-04-01", "Q1 2020")]
            ),
            svc,
        )
    with pytest.raises(CannotAnswerError, match="does not decompose"):
        drivers.measure_form(Measure("m", "t", "MEDIAN(x)", "median of x"))
    assert drivers.measure_form(Measure("m", "t", "AVG(x)", "x")) == drivers.MeasureForm("ratio", "SUM(x)", "COUNT(x)")
    assert drivers.previous_window(drivers.Window(date(2024, 1, 1), date(2025, 1, 1), "2024")).label == "2023"
    assert drivers.previous_window(drivers.Window(date(2024, 3, 1), date(2024, 4, 1), "Mar")).label == "Feb 2024"


# ------------------------------------------------------------------------------- gold-table intents
WEEKS = 160
START = date(2021, 1, 4)


def _series() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(0, 1, WEEKS + 3)) * 0.3 + rng.normal(0, 1, WEEKS + 3)
    y = 0.8 * np.roll(x, 3) + rng.normal(0, 0.4, WEEKS + 3)  # x leads y by 3 weeks
    z = rng.normal(0, 1, WEEKS + 3)
    return {"t.spend": x[3:], "t.signups": y[3:], "t.rain": z[3:]}


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory):
    from jobs.correlate import DiscoveryOptions, run_on_lake

    lake = Lakehouse(tmp_path_factory.mktemp("intents-gold") / "lake")
    series = _series()
    catalog = [
        {
            "series_id": s,
            "description": d,
            "unit": "u",
            "frequency": "W",
            "aggregation": "sum",
            "source": "t",
            "lineage": None,
            "domain": "t",
        }
        for s, d in (("t.spend", "Weekly ad spend"), ("t.signups", "Weekly signups"), ("t.rain", "Weekly rainfall"))
    ]
    values = [
        {"series_id": s, "ts": START + timedelta(weeks=i), "value": float(v)}
        for s, arr in series.items()
        for i, v in enumerate(arr)
    ]
    with lake.load("tests.intents.gold") as load:
        load.write("gold.series_catalog", catalog, batch=BatchKey("tests/intents/catalog"))
        load.write("gold.series_values", values, batch=BatchKey("tests/intents/values"))
    run_on_lake(lake, options=DiscoveryOptions(max_lag=4, seed=0, null_draws=99, refine_draws=0, execution="local"))
    svc = QueryService(lake, EngineOptions(llm_mode="off", timeout_s=30, refresh_s=0))
    yield lake, svc, series
    svc.close()


def test_relation_reports_findings_and_the_lagged_cross_correlation(gold) -> None:
    from serve.query.intents import run_intent

    _, svc, series = gold
    out = run_intent(QueryPlan(intent="relation", measure="t.spend", other_measures=["t.signups"]), svc)
    assert out["intent"] == "relation" and out["x"] == "t.spend" and out["y"] == "t.signups"
    f = out["findings"][0]
    assert {f["a"], f["b"]} == {"t.spend", "t.signups"} and f["significant"] and f["q"] is not None
    cc = out["cross_correlation"]
    assert cc["best_lag"] == 3  # positive: x leads y
    ref = stats.pearsonr(series["t.spend"][:-3], series["t.signups"][3:]).statistic
    assert cc["r_raw"] == pytest.approx(ref, abs=1e-6)
    assert next(lag for lag in cc["lags"] if lag["lag"] == 3)["r"] == pytest.approx(cc["r"], abs=1e-5)
    assert cc["n_eff"] and cc["p"] is not None and cc["n"] == WEEKS - 3
    assert "not causation" in out["answer"] and "not causation" in out["caveat"]
    swapped = run_intent(QueryPlan(intent="relation", measure="t.signups", other_measures=["t.spend"]), svc)
    assert swapped["cross_correlation"]["best_lag"] == -3
    alone = run_intent(QueryPlan(intent="relation", measure="t.rain"), svc)
    assert alone["findings"] == [] and "nothing is known to move with it" in alone["answer"]


def test_forecast_and_anomaly_tables_missing_then_present(gold) -> None:
    from serve.query.intents import run_intent

    lake, svc, _ = gold
    with pytest.raises(CannotAnswerError, match=r"gold\.forecasts has no data") as err:
        run_intent(QueryPlan(intent="forecast", measure="t.signups"), svc)
    assert "covary job run forecast" in (err.value.hint or "")
    with pytest.raises(CannotAnswerError) as err:
        run_intent(QueryPlan(intent="anomaly", measure="t.signups"), svc)
    assert "covary job run anomaly" in (err.value.hint or "")
    now = __import__("datetime").datetime(2024, 1, 1, tzinfo=__import__("datetime").UTC)
    origin = START + timedelta(weeks=WEEKS - 1)
    fc = [
        {
            "series_id": "t.signups",
            "origin": origin,
            "ts": origin + timedelta(days=s),
            "step": s,
            "mean": 10.0 + s,
            "lo80": 8.0 + s,
            "hi80": 12.0 + s,
            "lo95": 6.0 + s,
            "hi95": 14.0 + s,
            "model": "ets",
            "model_name": None,
            "model_version": None,
            "run_id": None,
            "created_at": now,
        }
        for s in range(1, 15)
    ]
    an = [
        {
            "series_id": "t.signups",
            "ts": START + timedelta(weeks=w),
            "kind": "point",
            "value": 9.0,
            "expected": 1.0,
            "score": sc,
            "direction": "up",
            "threshold": 3.5,
            "run_id": None,
            "detected_at": now,
        }
        for w, sc in ((10, 4.0), (40, -7.5), (90, 5.0))
    ]
    with lake.load("tests.intents.models") as load:
        load.write("gold.forecasts", fc, batch=BatchKey("tests/intents/fc"))
        load.write("gold.anomalies", an, batch=BatchKey("tests/intents/an"))
    out = run_intent(QueryPlan(intent="forecast", measure="t.signups"), svc)
    assert out["intent"] == "forecast" and out["model"] == "ets" and len(out["points"]) == 14
    assert out["points"][0] == {
        "ts": (origin + timedelta(days=1)).isoformat(),
        "step": 1,
        "mean": 11.0,
        "lo80": 9.0,
        "hi80": 13.0,
        "lo95": 7.0,
        "hi95": 15.0,
    }
    week = PeriodSpec((origin + timedelta(days=1)).isoformat(), (origin + timedelta(days=8)).isoformat(), "next week")
    out = run_intent(QueryPlan(intent="forecast", measure="t.signups", periods=[week]), svc)
    assert len(out["points"]) == 7 and out["period_total"] == pytest.approx(sum(10.0 + s for s in range(1, 8)))
    with pytest.raises(CannotAnswerError, match=r"no forecast of t\.spend"):
        run_intent(QueryPlan(intent="forecast", measure="t.spend"), svc)
    out = run_intent(QueryPlan(intent="anomaly", measure="t.signups"), svc)
    assert out["count"] == 3 and [a["score"] for a in out["anomalies"]] == [-7.5, 5.0, 4.0]
    assert "3 anomalies" in out["answer"] and out["alerts"] == [] and out["notes"]


def test_monitor_lists_kpis_with_current_values(mk) -> None:
    from serve.query.intents import run_intent

    svc, frame = mk
    out = run_intent(QueryPlan(intent="monitor", subject="marketing"), svc)
    names = {k["name"] for k in out["kpis"]}
    assert {"roas", "cac", "conversion_rate"} <= names
    cr = next(k for k in out["kpis"] if k["name"] == "conversion_rate")
    sep = frame.filter((pl.col("date") >= date(2024, 9, 1)) & (pl.col("date") < date(2024, 10, 1)))
    assert cr["period"]["label"] == "Sep 2024"
    assert cr["current"] == pytest.approx(100 * sep["conversions"].sum() / sep["clicks"].sum())
    assert cr["higher_is_better"] is True and "conversion_rate" in out["answer"]
