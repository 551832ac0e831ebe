"""The record-level world (issue 15): records are seeded, the daily system tables are exactly their sums, the
messy exports are cleaned with reasons, and the planted truths can be read back from the records."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from connectors.synth import records as rec
from connectors.synth.source import generate_records, run_synth
from connectors.synth.world import COMPLAINT_LAG, HIRE_SLIP_LAG, Q3_DROP_PLATFORM, Q3_DROP_REGION, SURGE_DAYS

START = date(2023, 1, 1)
DAYS = 330  # covers Q3 and at least one hiring surge and two major releases per product


@pytest.fixture(scope="module")
def made():
    return generate_records(days=DAYS, seed=11, start=START)


def test_same_seed_same_records_other_seed_differs(made) -> None:
    records = made[2]
    again = generate_records(days=DAYS, seed=11, start=START)[2]
    for name, frame in records.tables.items():
        assert frame.equals(again.tables[name]), name
    other = generate_records(days=120, seed=12, start=START)[2]
    assert not records.tables["tickets"].head(1000).equals(other.tables["tickets"].head(1000))


def test_daily_system_tables_are_exactly_the_sums_of_the_records(made) -> None:
    world, rows, records = made
    camp = records.tables["campaigns"]
    marketing = pl.DataFrame(rows["marketing"])
    # every US campaign row is split over the four regions; the daily table sums them back to the cent
    assert set(camp["region"]) == {"Northeast", "Southeast", "Midwest", "West", "GB", "DE"}
    summed = camp.group_by("date", "campaign", "country", "device").agg(
        pl.col("spend").sum(), pl.col("conversions").sum()
    )
    joined = marketing.join(summed, on=["date", "campaign", "country", "device"], suffix="_rec")
    assert joined.height == marketing.height
    assert (joined["spend"] - joined["spend_rec"]).abs().max() < 1e-6
    assert (joined["conversions"] == joined["conversions_rec"]).all()
    # company-level totals equal the world's (outage days are missing, not zero)
    by_day = marketing.group_by("date").agg(pl.col("conversions").sum()).sort("date")
    i = [(d - START).days for d in by_day["date"]]
    assert np.array_equal(by_day["conversions"].to_numpy(), world.totals["marketing.conversions"][i])
    # tickets -> per-channel daily statistics (count, mean csat, mean first response)
    tickets = records.tables["tickets"]
    support = pl.DataFrame(rows["support"]).sort("date", "channel")
    again = pl.DataFrame(rec.support_from_tickets(tickets))
    assert support.height == again.height and (support["tickets"] == again["tickets"]).all()
    assert tickets.height == support["tickets"].sum()
    day = support.group_by("date").agg(pl.col("tickets").sum()).sort("date")
    i = [(d - START).days for d in day["date"]]
    assert np.array_equal(day["tickets"].to_numpy(), world.totals["support.tickets"][i])
    assert tickets["csat"].min() >= 1.0 and tickets["csat"].max() <= 5.0
    assert (tickets["first_response_at"] > tickets["opened_at"]).all()
    assert (tickets["resolved_at"] >= tickets["first_response_at"]).all()
    # failure events -> the plants' failure counts
    daily = rec.daily_events(records.tables["equipment_events"])
    ops = pl.DataFrame(rows["operations"]).join(daily, on=["date", "plant"], suffix="_ev")
    assert (ops["equipment_failures"] == ops["equipment_failures_ev"]).all()
    # employees: the people on the books on the last day are the HR headcount
    hr = pl.DataFrame(rows["hr"])
    last = hr["date"].max()
    emp = records.tables["employees"]
    on_books = emp.filter(pl.col("exit_date").is_null() | (pl.col("exit_date") > last)).height
    assert on_books == hr.filter(pl.col("date") == last)["headcount"].sum()


def test_messy_exports_are_cleaned_with_reasons(made) -> None:
    world, rows, records = made
    for name, key in (("campaigns", rec.CAMPAIGN_KEY), ("tickets", ("ticket_id",))):
        counts, frame, bad = records.cleaning[name], records.tables[name], records.quarantine[name]
        assert counts["duplicates"] > 0 and counts["quarantined"] > 0 and counts["renamed"] > 0, name
        assert counts["exported"] == frame.height + counts["duplicates"] + counts["quarantined"], name
        assert frame.select(list(key)).is_duplicated().sum() == 0, name
        assert all("#N/A" in b["reason"] and b["location"] for b in bad), name
    # cleaning is a function of the raw export: a fresh mess/clean gives the same table
    raw = rec.ticket_exports(world, copy.deepcopy(rows["support"]), records.tables["releases"])
    export = rec.mess("tickets", raw, ("ticket_id",), np.random.default_rng(3))
    assert any("created_at" in f.columns for f in export.frames)  # the chat desk's export renames opened_at
    cleaned, bad, _ = rec.clean("tickets", export, dict(raw.schema), ("ticket_id",))
    # a late re-export (a day later) wins but carries the same content: cleaning restores the export exactly
    assert bad and cleaned.height == raw.height
    assert cleaned.drop("exported_at").sort("ticket_id").equals(raw.drop("exported_at").sort("ticket_id"))


def test_q3_conversion_drop_is_concentrated_in_one_region_and_platform(made) -> None:
    _, _, records = made
    camp = records.tables["campaigns"].with_columns(
        pl.col("date").dt.quarter().alias("q"), (pl.col("platform") + "/" + pl.col("region")).alias("cell")
    )
    rate = (
        camp.filter(pl.col("q").is_in([2, 3]))
        .group_by("cell", "q")
        .agg((pl.col("conversions").sum() / pl.col("clicks").sum()).alias("cvr"))
        .pivot(on="q", index="cell", values="cvr")
    )
    change = dict(zip(rate["cell"], (rate["3"] / rate["2"] - 1).to_list(), strict=True))
    target = f"{Q3_DROP_PLATFORM}/{Q3_DROP_REGION}"
    assert change[target] < -0.5, change
    others = [v for k, v in change.items() if k != target]
    assert max(abs(v) for v in others) < 0.2, change
    # the worst cell by far is the planted one
    assert min(change, key=change.get) == target


def test_major_releases_spike_their_features_tickets(made) -> None:
    _, _, records = made
    tickets = records.tables["tickets"].with_columns(pl.col("opened_at").dt.date().alias("date"))
    majors = records.tables["releases"].filter(pl.col("kind") == "major")
    assert majors.height >= 3
    for rel in majors.iter_rows(named=True):
        d0 = rel["release_date"]
        prod = tickets.filter(pl.col("product") == rel["product"])
        after = prod.filter(pl.col("date").is_between(d0, d0 + timedelta(days=6)))
        before = prod.filter(pl.col("date").is_between(d0 - timedelta(days=28), d0 - timedelta(days=1)))
        share_after = after.group_by("feature").len().with_columns(pl.col("len") / after.height)
        share_before = before.group_by("feature").len().with_columns(pl.col("len") / before.height)
        lift = share_after.join(share_before, on="feature", suffix="_b").with_columns(
            (pl.col("len") / pl.col("len_b")).alias("lift")
        )
        top = lift.sort("lift", descending=True).row(0, named=True)
        assert top["feature"] == rel["feature"] and top["lift"] > 1.8, (rel, lift)
    minors = records.tables["releases"].filter(pl.col("kind") == "minor")
    assert minors.height > majors.height  # minor releases exist and plant nothing


def test_hiring_surges_slip_projects_after_the_lag(made) -> None:
    world, _, records = made
    emp, proj = records.tables["employees"], records.tables["projects"].drop_nulls("slip_days")
    hires = {
        team: np.bincount(
            [
                (d - START).days
                for d in emp.filter((pl.col("team") == team) & (pl.col("hire_date") >= START))["hire_date"]
            ],
            minlength=DAYS,
        )
        for team in set(proj["team"])
    }

    def corr_at(lag: int) -> float:
        x, y = [], []
        for p in proj.iter_rows(named=True):
            end = (p["planned_end"] - START).days
            lo, hi = end - lag - SURGE_DAYS, end - lag
            if lo < 0:
                continue
            x.append(hires[p["team"]][lo:hi].sum())
            y.append(p["slip_days"])
        return float(np.corrcoef(x, y)[0, 1])

    at_lag = corr_at(HIRE_SLIP_LAG)
    assert at_lag > 0.5, at_lag
    assert at_lag > corr_at(0) + 0.2 and at_lag > corr_at(HIRE_SLIP_LAG + 60) + 0.2
    truth = [t for t in world.truth if t["kind"] == "lagged_effect"]
    assert truth and all(t["lag_days"] == HIRE_SLIP_LAG for t in truth)


def test_complaints_lead_failures_in_the_event_records(made) -> None:
    _, _, records = made
    daily = rec.daily_events(records.tables["equipment_events"]).group_by("date").agg(pl.all().exclude("plant").sum())
    daily = daily.sort("date")
    c = daily["complaints"].to_numpy().astype(float)
    f = daily["equipment_failures"].to_numpy().astype(float)
    assert len(c) == len(f) > 200
    corr = [np.corrcoef(c[: len(c) - k], f[k:])[0, 1] for k in range(0, 40)]
    assert 21 <= int(np.argmax(corr)) <= 28 and int(np.argmax(corr)) == COMPLAINT_LAG, np.round(corr, 2)


def test_lands_record_tables_quarantine_orders_and_truth(lake) -> None:
    result = run_synth(lake, days=150, seed=5, start=date(2023, 6, 1), with_entities=False, scale=30_000)
    for table, n in result.tables.items():
        assert lake.read(table).num_rows == n, table
    assert result.tables["silver.synth_order_lines"] == 30_000
    lines = lake.read_polars("silver.synth_order_lines")
    orders = lake.read_polars("silver.synth_orders")
    assert lines["line_id"].n_unique() == lines.height and set(lines["order_id"]) <= set(orders["order_id"])
    assert (lines["amount"] - lines["qty"] * lines["unit_price"]).abs().max() < 0.01
    customers = lake.read_polars("silver.synth_customers")
    assert set(orders["customer_id"]) <= set(customers["customer_id"])
    quarantine = lake.read_polars("ops.quarantine").filter(pl.col("source") == "synth")
    assert quarantine.height == sum(c["quarantined"] for c in result.cleaning.values()) > 0
    truth = lake.read_polars("gold.synth_truth")
    assert {"segment_drop", "release_effect", "lagged_effect", "driver", "lead_lag"} <= set(truth["kind"])
    catalog = lake.read_polars("gold.series_catalog")
    complaints = catalog.filter(pl.col("series_id") == "synth.operations.complaints").row(0, named=True)
    assert complaints["lineage"] == "silver.synth_equipment_events"
    temp = catalog.filter(pl.col("series_id") == "synth.weather.temp_c").row(0, named=True)
    assert "weather.temp_min.chicago.daily" in temp["derived_from"]


def test_order_batches_stream_with_bounded_size(made) -> None:
    world, _, _ = made
    customers = rec.customers(world, 500)
    sizes, total = [], 0
    for orders, lines in rec.order_batches(world, customers, 40_000, batch_lines=6_000):
        sizes.append(lines.height)
        total += lines.height
        assert set(lines["order_id"]) == set(orders["order_id"])
    assert total == 40_000 and len(sizes) >= 6 and max(sizes) <= 6_000 + 400


def test_bad_scale_is_a_clear_error(lake) -> None:
    from connectors.synth import SynthConfigError

    with pytest.raises(SynthConfigError) as err:
        run_synth(lake, days=150, seed=5, scale=-1)
    assert "order lines" in (err.value.hint or "")
