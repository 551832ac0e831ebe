"""Lake defaults: pairwise frequencies, lineage and roll-ups never paired, construction apart, lags by frequency,
ranking (cross-domain first), event tests in the same BH family, and a first run that only sets the baseline."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from correlate_synth import ar1, event_coupled

from jobs.correlate.lake_io import run_on_lake
from jobs.correlate.options import default_max_lag
from jobs.correlate.plan import SeriesMeta, identities, infer_rollups, lineage_exclusions
from lakehouse import BatchKey

START = date(2023, 1, 2)
N = 420


def _world(seed: int = 5) -> dict[str, tuple[np.ndarray, dict]]:
    rng = np.random.default_rng(seed)
    issue = ar1(rng, N + 30, 1, 0.7)[:, 0]
    noise = rng.standard_normal((N, 6))
    tickets = 200 + 20 * issue[30:] + 6 * noise[:, 0]
    failures = 8 + 1.0 * issue[9:-21] + 0.6 * noise[:, 1]  # failures follow tickets' driver 21 days later
    csat = 4.4 - 0.002 * tickets + 0.02 * noise[:, 2]  # same system as tickets, strongly tied
    calls = 50 + 10 * ar1(rng, N, 1, 0.5)[:, 0]
    e1, e2 = event_coupled(rng, N, lag=3, events=8, size=4.0)
    d = {"source": "helpdesk", "domain": "support", "aggregation": "sum"}
    return {
        "hd.tickets": (tickets, d),
        "hd.csat": (csat, d | {"aggregation": "mean"}),
        "hd.calls": (calls, d),
        "hd.contacts": (tickets + calls, d),  # undeclared identity: contacts = tickets + calls
        "ops.failures": (failures, {"source": "plant", "domain": "operations", "aggregation": "sum"}),
        "erp.failures": (failures.copy(), {"source": "erp", "domain": "finance", "aggregation": "sum"}),
        "web.outages": (e1, {"source": "web", "domain": "web", "aggregation": "mean"}),
        "weather.storms": (e2, {"source": "wx", "domain": "weather", "aggregation": "mean"}),
    }


def _write(lake, world: dict[str, tuple[np.ndarray, dict]]) -> None:
    days = [START + timedelta(days=i) for i in range(N)]
    catalog, values = [], []
    for sid, (arr, m) in world.items():
        catalog.append(
            {"series_id": sid, "description": sid, "unit": "u", "frequency": "D", "source": m["source"],
             "aggregation": m["aggregation"], "lineage": None, "domain": m["domain"], "derived_from": []}
        )  # fmt: skip
        values += [{"series_id": sid, "ts": t, "value": float(v)} for t, v in zip(days, arr, strict=True)]
    weekly = (
        pd.Series(world["hd.tickets"][0], index=pd.to_datetime(days))
        .resample("W-MON", label="left", closed="left")
        .sum()
    )
    catalog.append(  # a roll-up whose lineage was never recorded: inferred from the data
        {"series_id": "hd.tickets.weekly", "description": "weekly", "unit": "u", "frequency": "W",
         "aggregation": "sum", "source": "helpdesk", "lineage": None, "domain": "support", "derived_from": []}
    )  # fmt: skip
    values += [{"series_id": "hd.tickets.weekly", "ts": t.date(), "value": float(v)} for t, v in weekly.items()]
    fw = (
        pd.Series(world["ops.failures"][0], index=pd.to_datetime(days))
        .resample("W-MON", label="left", closed="left")
        .mean()
    )
    catalog.append(  # a declared derivation (not a plain roll-up: mean of a sum series)
        {"series_id": "ops.failures.avg", "description": "weekly mean", "unit": "u", "frequency": "W",
         "aggregation": "mean", "source": "plant", "lineage": None, "domain": "operations",
         "derived_from": ["ops.failures"]}
    )  # fmt: skip
    values += [{"series_id": "ops.failures.avg", "ts": t.date(), "value": float(v)} for t, v in fw.items()]
    backlog = np.cumsum(world["hd.tickets"][0] - 199.0)  # declared derivation at the same frequency
    catalog.append(
        {"series_id": "hd.backlog", "description": "open tickets", "unit": "u", "frequency": "D",
         "aggregation": "mean", "source": "helpdesk", "lineage": None, "domain": "support",
         "derived_from": ["hd.tickets"]}
    )  # fmt: skip
    values += [{"series_id": "hd.backlog", "ts": t, "value": float(v)} for t, v in zip(days, backlog, strict=True)]
    rng = np.random.default_rng(1)
    for sid in ("macro.gdp", "macro.cpi"):  # quarterly, another era: must not force the others to quarters
        catalog.append(
            {"series_id": sid, "description": sid, "unit": "u", "frequency": "Q", "aggregation": "mean",
             "source": "macro", "lineage": None, "domain": "economy", "derived_from": []}
        )  # fmt: skip
        qs = pd.date_range("1990-01-01", periods=80, freq="QS")
        values += [
            {"series_id": sid, "ts": t.date(), "value": float(v)} for t, v in zip(qs, rng.normal(size=80), strict=True)
        ]
    with lake.load("tests.plan") as load:
        load.write("gold.series_catalog", catalog, batch=BatchKey("tests/plan/catalog"))
        load.write("gold.series_values", values, batch=BatchKey("tests/plan/values"))


@pytest.fixture(scope="module")
def lake_run(tmp_path_factory):
    from lakehouse import Lakehouse

    lake = Lakehouse(tmp_path_factory.mktemp("plan") / "lake")
    _write(lake, _world())
    first = run_on_lake(lake, write=True)
    second = run_on_lake(lake, write=True)
    return lake, first, second


def test_pairs_at_their_own_frequency_with_lags_by_frequency(lake_run) -> None:
    _, (result, _), _ = lake_run
    freqs = {lv["frequency"]: lv for lv in result.levels}
    assert set(freqs) == {"D", "Q"}  # the daily series were not resampled to quarters
    assert freqs["D"]["max_lag"] == 28 and freqs["Q"]["max_lag"] == 3
    assert freqs["D"]["steps"] == N
    by_pair = {frozenset((f.a, f.b)): f for f in result.significant if f.test == "correlation"}
    f = by_pair[frozenset(("hd.tickets", "ops.failures"))]
    lag = f.lag if f.a == "hd.tickets" else -f.lag
    assert lag == 21 and f.frequency == "D"  # outside the old 7-day window


def test_rollups_and_derivations_are_never_paired_and_construction_is_apart(lake_run) -> None:
    _, (result, _), _ = lake_run
    tested = {frozenset((a, b)) for a, b in zip(result.pairs["a"], result.pairs["b"], strict=True)}
    assert not any("hd.tickets.weekly" in p for p in tested)
    assert frozenset(("ops.failures", "ops.failures.avg")) not in tested
    assert frozenset(("hd.backlog", "hd.tickets")) not in tested and frozenset(("hd.backlog", "hd.csat")) in tested
    assert {e.get("series") for e in result.excluded} >= {"hd.tickets.weekly", "ops.failures.avg"}
    assert any({e.get("a"), e.get("b")} == {"hd.backlog", "hd.tickets"} for e in result.excluded)
    construction = {frozenset((f.a, f.b)): f for f in result.construction}
    assert frozenset(("hd.contacts", "hd.tickets")) in construction
    assert frozenset(("hd.calls", "hd.contacts")) in construction
    assert "component of a total" in construction[frozenset(("hd.calls", "hd.contacts"))].warnings[0]
    assert "same quantity" in construction[frozenset(("erp.failures", "ops.failures"))].warnings[0]
    significant = {frozenset((f.a, f.b)) for f in result.significant}
    assert not significant & set(construction)


def test_ranking_puts_cross_domain_first_and_event_test_joins_the_family(lake_run) -> None:
    _, (result, _), _ = lake_run
    sig = result.significant
    assert [f.rank for f in sig] == list(range(1, len(sig) + 1))
    cross = [f.cross_domain for f in sig]
    assert cross == sorted(cross, reverse=True)  # every cross-domain finding before any same-system one
    same = next(f for f in sig if {f.a, f.b} == {"hd.csat", "hd.tickets"})
    cross_pair = next(f for f in sig if {f.a, f.b} == {"hd.tickets", "ops.failures"} and f.test == "correlation")
    assert not same.cross_domain and cross_pair.cross_domain
    assert abs(same.r) > abs(cross_pair.r) and same.rank > cross_pair.rank  # weaker, but cross-domain: first
    events = [f for f in sig if f.test == "event"]
    ev = next(f for f in events if {f.a, f.b} == {"web.outages", "weather.storms"})
    assert (ev.lag if ev.a == "web.outages" else -ev.lag) == 3
    assert abs(ev.r_raw) < 0.3 and "event test" in ev.warnings[0]
    assert ev.null.startswith("circular shift of event trains")
    # one family: the q-values of both test kinds come from one BH over every tested hypothesis
    assert all(f.q <= 0.05 for f in sig)


def test_first_run_sets_the_baseline_second_compares(lake_run) -> None:
    lake, (_, run1), (_, run2) = lake_run
    assert run1["comparison"]["new"] == 0 and run1["comparison"]["baseline"] > 0
    assert run2["comparison"]["new"] == 0 and run2["comparison"]["baseline"] == 0
    rows = lake.read("gold.correlation_findings").to_pandas()
    first = rows[rows["run_id"] == run1["run_id"]]
    assert set(first["change"]) == {"baseline", "construction"}
    assert set(first["test"]) == {"correlation", "event"} and first["rank"].notna().any()


def test_helpers_against_hand_cases() -> None:
    idx = pd.date_range("2024-01-01", periods=70, freq="D")
    daily = pd.Series(np.arange(70.0), index=idx)
    weekly = daily.resample("W-MON", label="left", closed="left").sum()
    meta = {
        "a.daily": SeriesMeta("a.daily", "D", "sum", "s"),
        "a.weekly": SeriesMeta("a.weekly", "W", "sum", "s"),
        "a.mean": SeriesMeta("a.mean", "W", "mean", "s"),
        "b": SeriesMeta("b", "D", "sum", "s", derived_from=("c",)),
        "c": SeriesMeta("c", "D", "sum", "s", derived_from=("d",)),
        "d": SeriesMeta("d", "D", "sum", "s"),
    }
    native = {"a.daily": daily, "a.weekly": weekly, "a.mean": weekly / 7 + 1}
    assert infer_rollups(native, meta) == {"a.weekly": "a.daily"}
    assert set(lineage_exclusions(meta)) == {frozenset(("b", "c")), frozenset(("b", "d")), frozenset(("c", "d"))}
    assert default_max_lag("D") == 28 and default_max_lag("W") == 8 and default_max_lag("M") == 3
    assert default_max_lag("D", 60) < 28  # short series: a window the null can still test
    from jobs.correlate.align import Panel

    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3))
    x = np.column_stack([x, x[:, 0] + 2 * x[:, 1]])
    panel = Panel(["p", "q", "r", "total"], pd.date_range("2024-01-01", periods=100), x, "D")
    found = identities(panel, {frozenset(("total", "p")), frozenset(("total", "q")), frozenset(("p", "r"))})
    assert set(found) == {frozenset(("total", "p")), frozenset(("total", "q"))}
