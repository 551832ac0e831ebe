"""Same findings in-process and on local Ray with any tiling; two-stage screening keeps the planted signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.correlate import discover
from jobs.correlate.errors import OptionError
from jobs.correlate.screen import cost_model


def _key(res) -> list[tuple]:
    return [(f.a, f.b, f.lag, round(f.r, 9), f.p, f.q) for f in res.findings]


def test_in_process_equals_ray_with_different_tilings(ray_local: None, planted: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = planted  # 30 series; block_size 8 -> 4 blocks -> 10 block pairs
    local = discover(frame, seed=11, block_size=8, execution="local")
    assert {(f.a, f.b) for f in local.significant} >= set(truth)
    for tiles in (1, 3, 10):
        remote = discover(frame, seed=11, block_size=8, execution="ray", tiles=tiles)
        assert _key(remote) == _key(local), tiles
        pd.testing.assert_frame_equal(remote.pairs, local.pairs)


def test_block_size_does_not_change_findings(planted: tuple[pd.DataFrame, dict]) -> None:
    frame, _ = planted
    a = discover(frame, seed=2, block_size=8, execution="local", include_all=True, diagnose_limit=0)
    b = discover(frame, seed=2, block_size=64, execution="local", include_all=True, diagnose_limit=0)
    np.testing.assert_allclose(a.pairs["r"], b.pairs["r"], atol=1e-6)
    np.testing.assert_allclose(a.pairs["p"], b.pairs["p"], rtol=1e-4)
    assert list(a.pairs["significant"]) == list(b.pairs["significant"])


def test_two_stage_screening_keeps_planted_pairs(planted: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = planted
    full = discover(frame, seed=4, block_size=16)
    screened = discover(frame, seed=4, screen=True, block_size=16)
    assert screened.timings["null_pairs"] < 0.3 * len(full.pairs)  # nulls ran on survivors only
    assert screened.tested == full.tested  # the BH family still counts every pair
    assert screened.pairs_scope.startswith("p_bound<=") and full.pairs_scope == "all"
    found = {(f.a, f.b): f.lag for f in screened.significant}
    assert all(found.get(k) == lag for k, lag in truth.items())
    # lossless: the same significant findings, p and q as the exhaustive run (FFT vs GEMM nulls: float noise)
    assert [(f.a, f.b, f.lag) for f in screened.significant] == [(f.a, f.b, f.lag) for f in full.significant]
    np.testing.assert_allclose([f.p for f in screened.significant], [f.p for f in full.significant], rtol=1e-5)
    np.testing.assert_allclose([f.q for f in screened.significant], [f.q for f in full.significant], rtol=1e-5)


def test_screen_refuses_maxt() -> None:
    frame = pd.DataFrame(np.random.default_rng(0).standard_normal((120, 4)), index=pd.date_range("2020", periods=120))
    with pytest.raises(OptionError, match="needs correction bh or by"):
        discover(frame, screen=True, correction="maxt")


def test_cost_model_favours_screening_at_scale() -> None:
    model = cost_model(n_series=100_000, n_steps=1000, lags=15, draws=40, survivors=0.05)
    assert model["speedup"] > 5
    assert cost_model(n_series=100, n_steps=1000, lags=15, draws=40, survivors=1.0)["speedup"] < 1.01


@pytest.mark.parametrize("null", ["shift", "block"])
def test_same_seed_same_result_and_different_seed_differs(null: str, planted: tuple[pd.DataFrame, dict]) -> None:
    frame, _ = planted
    a = discover(frame, seed=1, null=null, include_all=True, diagnose_limit=0).pairs
    b = discover(frame, seed=1, null=null, include_all=True, diagnose_limit=0).pairs
    c = discover(frame, seed=2, null=null, include_all=True, diagnose_limit=0, null_draws=50).pairs
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["p"], c["p"])
