"""Issue 15's acceptance on the demo's enterprise lake (the demo's `enterprise` step, seed 7, two years), defaults.

The full demo lake adds the public sources (weather, GitHub, music, movies, macro); `bench/discovery.py` builds
that one as `covary demo` does and reports the same figures. Truth is read from gold.synth_truth by kind.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from connectors.synth import run_synth
    from jobs.correlate.lake_io import run_on_lake
    from jobs.correlate.truth import load_truth, score
    from lakehouse import Lakehouse

    lake = Lakehouse(tmp_path_factory.mktemp("demo") / "lake")
    run_synth(lake, days=731, seed=7, with_entities=False)
    result, _ = run_on_lake(lake, write=False)
    series = [r["series_id"] for r in lake.read("gold.series_catalog", columns=["series_id"]).to_pylist()]
    return score(result.to_json(), load_truth(lake), series=series)


def test_every_planted_lead_lag_is_found_at_its_lag(scored: dict[str, Any]) -> None:
    assert len(scored["lead_lag"]) >= 5
    assert scored["acceptance"]["every_lead_lag_at_its_lag"], scored["lead_lag"]


def test_the_event_test_finds_the_planted_ticket_failure_cascades(scored: dict[str, Any]) -> None:
    kinds = {r["kind"] for r in scored["event_coupled"]}
    assert "cascade" in kinds, scored["event_coupled"]
    assert scored["acceptance"]["every_event_coupled_pair_by_the_event_test"], scored["event_coupled"]


def test_top_ten_is_planted_cross_domain_and_never_trivial(scored: dict[str, Any]) -> None:
    assert len(scored["top"]) == 10
    assert scored["top_planted_cross_domain"] >= 4, scored["top"]
    assert scored["top_trivial"] == 0 and scored["top_precision_non_trivial"] == 1.0, scored["top"]


def test_scorer_flags_roll_ups_construction_and_wrong_lags() -> None:
    """The scorer can fail: a roll-up pair and a by-construction pair are trivial, a wrong lag is a miss."""
    from jobs.correlate.truth import score

    truth = [
        {"kind": "lead_lag", "series_a": "x.a", "series_b": "y.b", "lag_days": 3, "ts": None},
        {"kind": "cascade", "series_a": "x.a", "series_b": "y.b", "lag_days": 3, "ts": "2024-01-05"},
        {"kind": "segment_drop", "series_a": "x.a", "series_b": "segment:r=NE", "lag_days": None, "ts": "2024-07-01"},
    ]
    run = {
        "findings": [
            {"a": "x.a", "b": "y.b", "lag": 2, "r": 0.5, "q": 0.01, "significant": True, "rank": 1},
            {"a": "y.b", "b": "x.a", "lag": -3, "r": 1.0, "q": 0.02, "significant": True, "rank": 2, "test": "event"},
            {"a": "m.c.daily", "b": "m.c.weekly", "lag": 0, "r": 0.9, "q": 0.01, "significant": True, "rank": 3},
            {"a": "t.total", "b": "t.part", "lag": 0, "r": 0.9, "q": 0.01, "significant": True, "rank": 4},
        ],
        "construction": [{"a": "t.part", "b": "t.total"}],
        "excluded": [],
    }
    out = score(run, truth, series=["x.a", "y.b", "m.c.daily", "m.c.weekly", "t.total", "t.part"])
    assert out["lead_lag"][0]["found_lag"] == 2 and not out["acceptance"]["every_lead_lag_at_its_lag"]
    assert out["acceptance"]["every_event_coupled_pair_by_the_event_test"]  # y.b ~ x.a at -3 is x.a leading by 3
    assert [r["trivial"] for r in out["top"]] == [None, None, "self/roll-up", "construction"]
    assert out["top_precision_non_trivial"] == 0.5 and out["truth_rows_not_in_lake"] == 1
