"""The synthetic enterprise systems: determinism, planted lags/confounders/anomalies, the lake path, CLI."""

from __future__ import annotations

import json
import pickle
from datetime import date

import numpy as np
import polars as pl
import pytest

from connectors.synth import CONFOUNDED, RELATIONSHIPS, SynthConfigError, generate, run_synth, simulate
from connectors.synth.systems import SYSTEMS, raw_payload
from connectors.synth.world import robust_scale

START = date(2023, 1, 1)


@pytest.fixture(scope="module")
def world():
    return simulate(days=730, seed=7, start=START)


def _weekly_resid(world, key: str, transform=None) -> np.ndarray:
    """The series minus weekday means and a 28-day moving level (removes calendar and trend)."""
    y = world.totals[key].astype(float)
    y = transform(y) if transform else y
    dow = np.array([d.weekday() for d in world.dates])
    hol = np.array([d in world.holidays for d in world.dates])
    r = y.copy()
    for k in range(7):
        r[dow == k] -= np.median(y[(dow == k) & ~hol])
    level = np.convolve(r, np.ones(28) / 28, mode="same")
    out = r - level
    out[hol] = 0.0
    return out


def test_same_seed_same_world_other_seed_differs() -> None:
    a, b, c = (
        simulate(days=200, seed=3, start=START),
        simulate(days=200, seed=3, start=START),
        simulate(days=200, seed=4, start=START),
    )
    for key in a.totals:
        assert np.array_equal(a.totals[key], b.totals[key]), key
    assert a.truth == b.truth
    assert not np.array_equal(a.totals["marketing.spend"], c.totals["marketing.spend"])


def test_planted_lead_lag_relationships_peak_at_their_lag(world) -> None:
    for driver, follower, lag, _, _ in RELATIONSHIPS:
        x, y = _weekly_resid(world, driver), _weekly_resid(world, follower)
        corr = [np.corrcoef(x[: len(x) - k], y[k:])[0, 1] for k in range(0, 36)]
        assert int(np.argmax(corr)) == lag, (driver, follower, np.round(corr, 2))
        assert corr[lag] > 0.3
        # and the follower does not lead the driver
        back = [np.corrcoef(y[: len(y) - k], x[k:])[0, 1] for k in range(1, 36)]
        assert max(back) < corr[lag] - 0.1


def test_confounded_pairs_vanish_given_their_common_cause(world) -> None:
    workday = np.array([d.weekday() < 5 and d not in world.holidays for d in world.dates])
    for a, b, cause, _ in CONFOUNDED:
        # on working days the common cause acts linearly (weekends scale it down)
        # temperature acts through heating degree days, demand linearly
        hdd = (lambda t: np.maximum(0.0, 18.0 - t)) if cause == "weather.temp_c" else None
        ra, rb = _weekly_resid(world, a)[workday], _weekly_resid(world, b)[workday]
        rc = _weekly_resid(world, cause, hdd)[workday]
        raw = np.corrcoef(ra, rb)[0, 1]
        design = np.column_stack([np.ones_like(rc), rc])
        ea = ra - design @ np.linalg.lstsq(design, ra, rcond=None)[0]
        eb = rb - design @ np.linalg.lstsq(design, rb, rcond=None)[0]
        partial = np.corrcoef(ea, eb)[0, 1]
        assert abs(raw) > 0.25, (a, b, raw)
        assert abs(partial) < 0.1, (a, b, partial)


def test_truth_lists_every_planted_event(world) -> None:
    kinds = {}
    for t in world.truth:
        kinds.setdefault(t["kind"], []).append(t)
    assert len(kinds["lead_lag"]) == len(RELATIONSHIPS) and len(kinds["confounded"]) == len(CONFOUNDED)
    assert len(kinds["level_shift"]) == 2 and len(kinds["cascade"]) >= 2
    assert all(t["strength"] is not None and abs(t["strength"]) > 0.3 for t in kinds["lead_lag"])
    failure_links = [t for t in kinds["lead_lag"] if t["series_b"] == "synth.operations.equipment_failures"]
    assert {t["series_a"] for t in failure_links} == {"synth.support.tickets", "synth.operations.complaints"}
    for failure_link in failure_links:  # ticket spikes and plant complaints precede failures by 3-4 weeks
        assert 21 <= failure_link["lag_days"] <= 28
    # every point anomaly stands out of its series by several noise scales
    for t in kinds["anomaly"]:
        key = t["series_a"].removeprefix("synth.")
        i = (t["ts"] - START).days
        y = world.totals[key]
        same_weekday = [i + 7 * k for k in (-3, -2, -1, 1, 2, 3) if 0 <= i + 7 * k < world.days]
        neighbours = y[same_weekday]
        assert abs(y[i] - np.median(neighbours)) > 4 * robust_scale(y), t
        assert t["ts"] not in world.holidays
    # outages: whole days missing per system, never on a planted day
    planted = {t["ts"] for t in world.truth if t["ts"]}
    for system, mask in world.missing.items():
        missing_days = {world.dates[i] for i in np.flatnonzero(mask)}
        assert not (missing_days & planted), system
    assert 0 < world.missing["support"].sum() < 0.05 * world.days


def test_raw_exports_parse_back_to_typed_rows() -> None:
    _, rows = generate(days=150, seed=1)
    for name, system in SYSTEMS.items():
        for row in rows[name][:50]:
            assert (
                system.parse(json.loads(raw_payload(system, row))) == pytest.approx(row)
                or system.parse(json.loads(raw_payload(system, row))) == row
            ), name
    raw = json.loads(raw_payload(SYSTEMS["marketing"], rows["marketing"][0]))
    assert set(raw) == {"segments", "campaign", "metrics"} and raw["metrics"]["costMicros"].isdigit()


def test_lands_bronze_silver_gold_with_truth_exactly_once(lake) -> None:
    result = run_synth(lake, days=150, seed=5, with_entities=False)
    world, rows = generate(days=150, seed=5)
    assert result.records["marketing"] == len(rows["marketing"]) == lake.read("silver.synth_marketing").num_rows
    bronze = lake.read_polars("bronze.synth_records")
    assert bronze.height == sum(result.records.values())
    catalog = lake.read_polars("gold.series_catalog").filter(pl.col("source") == "synth")
    assert catalog.height == result.series == 26
    assert set(catalog["domain"]) == {
        "marketing",
        "sales",
        "finance",
        "hr",
        "support",
        "operations",
        "weather",
        "market",
    }
    values = lake.read_polars("gold.series_values")
    spend = values.filter(pl.col("series_id") == "synth.marketing.spend")
    silver_spend = lake.read_polars("silver.synth_marketing").group_by("date").agg(pl.col("spend").sum())
    assert spend.height == silver_spend.height < 150  # outage days are missing, not zero
    assert spend["value"].sum() == pytest.approx(silver_spend["spend"].sum())
    day = world.dates[40]
    if not world.missing["support"][40]:
        v = values.filter((pl.col("series_id") == "synth.support.tickets") & (pl.col("ts") == day))["value"][0]
        assert v == pytest.approx(world.totals["support.tickets"][40])
    truth = lake.read_polars("gold.synth_truth")
    assert truth.height == len(world.truth)
    again = run_synth(lake, days=150, seed=5, with_entities=False)
    assert again.records == result.records
    assert lake.read("silver.synth_marketing").num_rows == len(rows["marketing"])
    assert lake.read_polars("gold.synth_truth").height == len(world.truth)
    assert lake.loads.get(again.load_id)["rows"] == 0  # every batch was skipped on replay


def test_bad_days_is_a_terminal_error_that_pickles() -> None:
    with pytest.raises(SynthConfigError) as err:
        generate(days=10, seed=1)
    assert "120" in (err.value.hint or "")
    again = pickle.loads(pickle.dumps(err.value))
    assert isinstance(again, SynthConfigError) and again.hint == err.value.hint


def test_cli_source_synth_with_entities(covary_home, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    from covary.cli import main

    assert main(["source", "synth", "--days", "130", "--seed", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["days"] == 130 and out["truth"]["lead_lag"] == len(RELATIONSHIPS)
    if importlib.util.find_spec("connectors.synth.entities") is not None:
        from covary.settings import get_settings
        from lakehouse import Lakehouse

        lake = Lakehouse.from_settings(get_settings())
        assert out["entities"]["customers"]["records"] == lake.read("silver.customer_records").num_rows
        truth = lake.read_polars("gold.synth_truth").filter(pl.col("kind") == "entity")
        assert truth.height == out["entities"]["customers"]["records"] + out["entities"]["products"]["records"]
    assert main(["source", "synth", "--days", "5"]) == 2
    assert "out of range" in capsys.readouterr().err
