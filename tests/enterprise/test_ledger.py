"""Finance at record level (issue 15): the daily finance and budget tables are exact sums of the ledger
entries and budget lines, the ledger export is messy and cleaned, and the planted budget overrun (a hiring
surge's unbudgeted payroll) can be read back from the records."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from connectors.synth import ledger
from connectors.synth.source import generate_records, run_synth
from connectors.synth.world import PAYROLL_PER_HEAD

START = date(2023, 1, 1)
DAYS = 731  # the demo's default world (seed 7): three hiring surges, two operations and one support


@pytest.fixture(scope="module")
def made():
    return generate_records(days=DAYS, seed=7, start=START)


def _cents(s: pl.Series | np.ndarray) -> np.ndarray:
    return np.round(np.asarray(s, dtype=float) * 100).astype(np.int64)


def test_daily_finance_is_exactly_the_sum_of_the_ledger(made) -> None:
    world, rows, records = made
    entries = records.tables["ledger_entries"]
    finance = pl.DataFrame(rows["finance"]).sort("date", "business_unit")
    # independent recomputation from the entries: signed USD amounts by posting day, business unit and type
    again = (
        entries.with_columns(pl.col("amount_usd").alias("v"))
        .group_by(pl.col("posting_date").alias("date"), "business_unit")
        .agg(
            pl.col("v").filter(pl.col("account_type") == "revenue").sum().alias("r"),
            pl.col("v").filter(pl.col("account_type") == "expense").sum().alias("e"),
        )
        .sort("date", "business_unit")
    )
    assert again.height == finance.height == 2 * DAYS  # the journal is complete: an outage only delays the export
    assert (again["date"] == finance["date"]).all() and (again["business_unit"] == finance["business_unit"]).all()
    assert np.array_equal(_cents(again["r"]), _cents(finance["revenue"]))
    assert np.array_equal(_cents(again["e"]), _cents(finance["expenses"]))
    # to the cent, the company's booked revenue and expenses per day are the world's
    day = finance.group_by("date").agg(pl.col("revenue").sum(), pl.col("expenses").sum()).sort("date")
    i = [(d - START).days for d in day["date"]]
    assert np.array_equal(_cents(day["revenue"]), _cents(world.totals["finance.revenue"][i]))
    assert np.array_equal(_cents(day["expenses"]), _cents(world.totals["finance.expenses"][i]))
    # the online unit's revenue is the ads revenue, as before the ledger existed
    online = finance.filter(pl.col("business_unit") == "online")
    j = [(d - START).days for d in online["date"]]
    assert np.array_equal(_cents(online["revenue"]), _cents(world.totals["marketing.revenue"][j]))
    # payroll entries are the HR headcount times the daily rate, per cost centre
    hr = pl.DataFrame(rows["hr"])
    for day in (hr["date"][0], hr["date"][2000], hr["date"][-1]):
        staff = hr.filter(pl.col("date") == day)
        pay = entries.filter((pl.col("account") == ledger.PAYROLL) & (pl.col("posting_date") == day))
        got = pay.group_by("cost_center").agg(pl.col("amount_usd").sum())
        want = dict(zip(staff["department"], (staff["headcount"] * PAYROLL_PER_HEAD).to_list(), strict=True))
        assert {r["cost_center"]: round(r["amount_usd"], 2) for r in got.iter_rows(named=True)} == want


def test_budget_vs_actual_is_exactly_the_budget_lines_and_the_ledger(made) -> None:
    _, rows, records = made
    budget = pl.DataFrame(rows["budget"])
    lines, entries = records.tables["budget_lines"], records.tables["ledger_entries"]
    b = lines.group_by("month", pl.col("cost_center").alias("department")).agg(pl.col("budget_usd").sum())
    a = (
        entries.filter(pl.col("account_type") == "expense")
        .group_by(pl.col("posting_date").dt.truncate("1mo").alias("month"), pl.col("cost_center").alias("department"))
        .agg(pl.col("amount_usd").sum())
    )
    joined = budget.join(b, on=["month", "department"]).join(a, on=["month", "department"])
    assert joined.height == budget.height == lines["month"].n_unique() * 5
    assert np.array_equal(_cents(joined["budget"]), _cents(joined["budget_usd"]))
    assert np.array_equal(_cents(joined["actual"]), _cents(joined["amount_usd"]))
    assert np.array_equal(_cents(joined["variance"]), _cents(joined["actual"]) - _cents(joined["budget"]))


def test_ledger_export_is_messy_and_cleaned(made) -> None:
    world, _, records = made
    entries, counts, bad = (
        records.tables["ledger_entries"],
        records.cleaning["ledger_entries"],
        records.quarantine["ledger_entries"],
    )
    assert counts["duplicates"] > 0 and counts["quarantined"] > 0 and counts["renamed"] > 0
    assert counts["exported"] == entries.height + counts["duplicates"] + counts["quarantined"]
    assert entries["entry_id"].n_unique() == entries.height
    assert all("#N/A" in r["reason"] and r["location"].startswith("JE") for r in bad)
    # the renamed column is one fiscal period's export: cost_centre instead of cost_center
    period = ledger.rename(world)[1]
    assert counts["renamed"] >= entries.filter(pl.col("period") == period).height > 0
    # late postings: booked after the posting date, more at month end
    late = entries.filter(pl.col("booking_date") > pl.col("posting_date"))
    assert 0.03 < late.height / entries.height < 0.2
    month_end = entries.filter(pl.col("posting_date").dt.month_end() == pl.col("posting_date"))
    late_end = month_end.filter(pl.col("booking_date") > pl.col("posting_date")).height / month_end.height
    assert late_end > 2 * late.height / entries.height
    # the days the finance export failed went out with a later export
    outage = [world.dates[i] for i in np.flatnonzero(world.missing["finance"])]
    on_outage = entries.filter(pl.col("posting_date").is_in(outage))
    assert on_outage.height > 0 and (on_outage["booking_date"] > on_outage["posting_date"]).all()
    # reversals: each cancels a wrong entry (same account and posting date) and a corrected one is re-posted
    rev = entries.filter(pl.col("reverses").is_not_null())
    assert rev.height > 0
    wrong = entries.join(
        rev.select(pl.col("reverses").alias("entry_id"), pl.col("amount_usd").alias("rev")), on="entry_id"
    )
    assert wrong.height == rev.height
    assert np.array_equal(_cents(wrong["amount_usd"]), -_cents(wrong["rev"]))
    assert (rev["booking_date"] > rev["posting_date"]).all()
    # foreign revenue is booked in its currency, converted at a plausible rate
    gbp = entries.filter(pl.col("currency") == "GBP")
    rate = (gbp["amount_usd"] / gbp["amount"]).to_numpy()
    assert gbp.height > 0 and rate.min() > 1.1 and rate.max() < 1.45
    assert set(entries.filter(pl.col("account_type") == "expense")["currency"]) == {"USD"}


def _quarterly_variance(records) -> pl.DataFrame:
    q = pl.col("month").dt.truncate("3mo").alias("quarter")
    budget = records.tables["budget_lines"].group_by(q, "cost_center", "account").agg(pl.col("budget_usd").sum())
    actual = (
        records.tables["ledger_entries"]
        .filter(pl.col("account_type") == "expense")
        .with_columns(pl.col("posting_date").alias("month"))
        .group_by(q, "cost_center", "account")
        .agg(pl.col("amount_usd").sum())
    )
    return budget.join(actual, on=["quarter", "cost_center", "account"]).with_columns(
        (pl.col("amount_usd") - pl.col("budget_usd")).alias("variance")
    )


def test_hiring_surge_overruns_one_cost_centres_payroll_budget_in_one_quarter(made) -> None:
    world, _, records = made
    truth = [t for t in world.truth if t["kind"] == "budget_overrun"]
    assert truth and len(truth) == len({t["truth_id"] for t in truth})
    var = _quarterly_variance(records)
    planted = {(t["ts"], t["series_b"].split(",")[0].removeprefix("budget:cost_center=")) for t in truth}
    is_planted = pl.struct("quarter", "cost_center").map_elements(
        lambda r: (r["quarter"], r["cost_center"]) in planted, return_dtype=pl.Boolean
    )
    var = var.with_columns(((pl.col("account") == ledger.PAYROLL) & is_planted).alias("planted"))
    hits = var.filter("planted")
    assert hits.height == len(truth)
    # the overrun is the surge hires' unbudgeted payroll, up to the planning noise of that cost centre's budget
    noise = (
        records.tables["budget_lines"]
        .filter(pl.col("account") == ledger.PAYROLL)
        .group_by(pl.col("month").dt.truncate("3mo").alias("quarter"), "cost_center")
        .agg((ledger.BUDGET_NOISE * (pl.col("budget_usd") ** 2).sum().sqrt()).alias("sd"))
    )
    for t in truth:
        cc = t["series_b"].split(",")[0].removeprefix("budget:cost_center=")
        cell = hits.join(noise, on=["quarter", "cost_center"]).filter(
            (pl.col("quarter") == t["ts"]) & (pl.col("cost_center") == cc)
        )
        got, sd = cell["variance"][0], cell["sd"][0]
        assert t["magnitude"] > 10 * sd and abs(got - t["magnitude"]) < 4 * sd, (t, got, sd)
    # concentrated: every other cell (cost centre x account x quarter) is far below the smallest planted overrun
    assert var.filter(~pl.col("planted"))["variance"].max() < hits["variance"].min() / 5
    # the driver is the hiring surge recorded as a lagged_effect on the same team
    teams = {t["series_a"] for t in world.truth if t["kind"] == "lagged_effect"}
    assert {t["series_a"] for t in truth} <= teams


def test_lands_ledger_and_budget_tables_and_derives_finance_from_them(lake) -> None:
    result = run_synth(lake, days=150, seed=5, start=date(2023, 6, 1), with_entities=False, scale=0)
    entries = lake.read_polars("silver.synth_ledger_entries")
    assert entries.height == result.tables["silver.synth_ledger_entries"] > 0
    assert lake.read_polars("silver.synth_budget_lines").height == result.tables["silver.synth_budget_lines"]
    finance = lake.read_polars("silver.synth_finance").sort("date", "business_unit")
    again = pl.DataFrame(ledger.finance_from_ledger(entries)).sort("date", "business_unit")
    assert finance.select("date", "business_unit").equals(again.select("date", "business_unit"))
    assert np.array_equal(_cents(finance["expenses"]), _cents(again["expenses"]))
    assert np.array_equal(_cents(finance["revenue"]), _cents(again["revenue"]))
    quarantine = lake.read_polars("ops.quarantine").filter(pl.col("entity") == "ledger_entries")
    assert quarantine.height == result.cleaning["ledger_entries"]["quarantined"] > 0
