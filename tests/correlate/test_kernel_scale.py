"""The fast kernel equals a plain reference; tiles send back O(survivors + histogram); screening is lossless."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.correlate import discover, execute
from jobs.correlate.kernel import (
    P_HIST_EDGES,
    lagged_correlations,
    null_maxima_numpy,
    null_maxima_pairs,
    null_maxima_torch,
    segments,
)
from jobs.correlate.nulls import make_plan


def _reference_maxima(za: np.ndarray, zb: np.ndarray, plan, n: int) -> np.ndarray:
    """Plain definition: for each draw, max over its lag views of |sum_t za[t] zb[view[t]]| / n."""
    out = np.empty((plan.draws, za.shape[1], zb.shape[1]))
    for j in range(plan.draws):
        per_view = [np.abs(za.T.astype(np.float64) @ zb[plan.views[v]].astype(np.float64)) for v in plan.draw_views[j]]
        out[j] = np.max(per_view, axis=0) / n
    return out


@pytest.mark.parametrize("kind", ["shift", "block", "iid"])
def test_null_kernels_equal_the_plain_definition(kind: str) -> None:
    rng = np.random.default_rng(5)
    n = 150
    z = rng.standard_normal((n, 13)).astype(np.float32)
    z = (z - z.mean(0)) / z.std(0)
    plan = make_plan(kind, n=n, max_lag=3, draws=30, seed=2, block_length=7)
    ref = _reference_maxima(z[:, :6], z[:, 6:], plan, n)
    norm = np.full((1, 1), float(n))
    for threads in (1, 3):
        got = null_maxima_numpy(z[:, :6], z[:, 6:], plan, norm, threads=threads)
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(null_maxima_torch(z[:, :6], z[:, 6:], plan, norm), ref, rtol=2e-5, atol=2e-6)
    a, b = np.repeat(np.arange(6), 7), np.tile(np.arange(6, 13), 6)
    pairs = null_maxima_pairs(z, a, b, plan, np.full(a.size, float(n)))  # FFT route for shifts
    np.testing.assert_allclose(pairs, ref.reshape(plan.draws, -1), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("kind", ["shift", "block"])
def test_diagonal_block_covers_every_pair_once_and_equals_the_definition(kind: str) -> None:
    rng = np.random.default_rng(6)
    n, t = 150, 11
    z = rng.standard_normal((n, t)).astype(np.float32)
    z = (z - z.mean(0)) / z.std(0)
    plan = make_plan(kind, n=n, max_lag=3, draws=25, seed=3, block_length=7)
    ref = _reference_maxima(z, z, plan, n)
    iu = np.triu_indices(t, 1)
    for threads in (1, 2, 3):
        got = null_maxima_numpy(z, z, plan, np.full((1, 1), float(n)), threads=threads, diagonal=True)
        np.testing.assert_allclose(got[:, iu[0], iu[1]], ref[:, iu[0], iu[1]], rtol=2e-5, atol=2e-6)
    for size, parts in ((11, 1), (11, 3), (256, 2), (5, 8)):
        cover = np.zeros((size, size), dtype=int)
        for r0, r1, c0, c1 in segments(size, size, diagonal=True, parts=parts):
            cover[r0:r1, c0:c1] += 1
        assert cover.max() == 1  # bands are disjoint: threads never write the same maxima
        assert (cover[np.triu_indices(size, 1)] == 1).all()  # every pair a < b is computed
        if size >= 8:
            assert cover.sum() < 0.7 * size * size  # and most of the lower triangle is skipped
        off = np.zeros((size, size // 2 + 1), dtype=int)
        for r0, r1, c0, c1 in segments(size, size // 2 + 1, diagonal=False, parts=parts):
            off[r0:r1, c0:c1] += 1
        assert (off == 1).all()


def test_complete_data_lagged_r_matches_window_pearson() -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((90, 5)).cumsum(axis=0)  # persistent: window means differ from the whole
    x[:40, 4] = 1.0  # constant on the first 40 steps: windows at large negative lags are not constant
    lags = np.array([-30, -2, 0, 5])
    r, n = lagged_correlations(x[:, :3], x[:, 2:], lags, dtype=np.float64)
    for li, lag in enumerate(lags):
        for i in range(3):
            for j in range(3):
                a, b = (x[: 90 - lag, i], x[lag:, 2 + j]) if lag >= 0 else (x[-lag:, i], x[: 90 + lag, 2 + j])
                assert n[li, i, j] == 90 - abs(lag)
                assert r[li, i, j] == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-9)


def _panel(seed: int, n_series: int = 40, n: int = 400) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, n_series))
    e = rng.standard_normal((n, n_series))
    for t in range(1, n):
        x[t] = 0.5 * x[t - 1] + e[t]
    truth = []
    for k in range(4):  # planted lagged pairs at r ~ 0.2-0.5
        a, b, lag = 2 * k, 2 * k + 1, k + 1
        x[lag:, b] = (0.25 + 0.1 * k) * x[:-lag, a] / x[:, a].std() * x[:, b].std() + x[lag:, b]
        truth.append((f"s{a:02d}", f"s{b:02d}"))
    cols = [f"s{i:02d}" for i in range(n_series)]
    return pd.DataFrame(x, index=pd.date_range("2021-01-01", periods=n), columns=cols), truth


def test_tiles_return_survivors_and_histogram_not_every_pair() -> None:
    frame, _ = _panel(1)
    from jobs.correlate.align import to_panel
    from jobs.correlate.discover import prepare
    from jobs.correlate.options import DiscoveryOptions

    opts = DiscoveryOptions(max_lag=5)
    prep, _ = prepare(to_panel(frame), opts)
    plan = make_plan("shift", n=prep.z.shape[0], max_lag=5, draws=39, seed=0)
    blocks = execute.block_pairs(prep.z.shape[1], 16)
    full = execute.run_local(prep, plan, blocks, 16, progress=False)
    kept = execute.run_local(prep, plan, blocks, 16, progress=False, collect=execute.Collect(keep_p=0.05))
    screened = execute.run_local(
        prep, plan, blocks, 16, progress=False, collect=execute.Collect(keep_p=0.05, screen=True)
    )
    pairs = 40 * 39 // 2
    assert full.a.size == kept.seen == screened.seen == pairs
    assert kept.hist is not None and int(kept.hist.sum()) == pairs and kept.hist.size == P_HIST_EDGES.size - 1
    # what the driver holds: per-pair arrays for survivors only + a fixed-size histogram
    assert 0 < kept.a.size < 0.3 * pairs
    per_pair = full.nbytes / pairs
    assert kept.nbytes <= kept.a.size * per_pair + full.umax.nbytes + kept.hist.nbytes + 64
    assert screened.nulls == screened.a.size < 0.3 * pairs and full.nulls == pairs
    np.testing.assert_array_equal(kept.a, screened.a)
    np.testing.assert_array_equal(kept.exceed, screened.exceed)
    np.testing.assert_allclose(kept.sumlog, screened.sumlog, rtol=1e-5)
    # the survivors carry exactly the exhaustive run's figures
    index = {(a, b): i for i, (a, b) in enumerate(zip(full.a, full.b, strict=True))}
    rows = [index[(a, b)] for a, b in zip(kept.a, kept.b, strict=True)]
    for name in ("r", "lag", "n", "n_eff", "exceed", "sumlog"):
        np.testing.assert_allclose(getattr(kept, name), getattr(full, name)[rows], rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(kept.r_raw, full.r_raw[rows], atol=1e-5)


@pytest.mark.parametrize("null", ["shift", "block"])
def test_compact_and_screened_runs_find_what_the_exhaustive_run_finds(
    null: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, truth = _panel(3)
    exhaustive = discover(frame, seed=1, null=null, block_size=16, max_lag=5)
    assert exhaustive.pairs_scope == "all"
    found = {(f.a, f.b) for f in exhaustive.significant}
    assert len(found & set(truth)) >= 3
    monkeypatch.setattr(execute, "COMPACT_PAIRS", 0)  # as if this were a 10^5-series run
    compact = discover(frame, seed=1, null=null, block_size=16, max_lag=5)
    screened = discover(frame, seed=1, null=null, block_size=16, max_lag=5, screen=True)
    for other in (compact, screened):
        assert other.pairs_scope.startswith("p_bound<=")
        assert other.tested == exhaustive.tested
        assert len(other.pairs) < 0.3 * len(exhaustive.pairs)
        got = [(f.a, f.b, f.lag) for f in other.significant]
        assert got == [(f.a, f.b, f.lag) for f in exhaustive.significant]
        np.testing.assert_allclose([f.p for f in other.significant], [f.p for f in exhaustive.significant], rtol=1e-5)
        np.testing.assert_allclose([f.q for f in other.significant], [f.q for f in exhaustive.significant], rtol=1e-5)
        assert sum(other.p_bound_histogram["counts"]) == len(exhaustive.pairs)


def test_torch_backend_finds_what_numpy_finds() -> None:
    pytest.importorskip("torch")
    frame, _ = _panel(4, n_series=24)
    a = discover(frame, seed=2, max_lag=4, backend="numpy")
    b = discover(frame, seed=2, max_lag=4, backend="torch", device="cpu")
    assert [(f.a, f.b, f.lag) for f in a.significant] == [(f.a, f.b, f.lag) for f in b.significant]
    assert a.significant
    np.testing.assert_allclose([f.p for f in a.significant], [f.p for f in b.significant], rtol=1e-4)


def test_cuda_request_without_a_gpu_is_a_clear_error() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the CUDA path runs instead")
    frame, _ = _panel(4, n_series=10, n=200)
    from jobs.correlate.errors import OptionError

    with pytest.raises(OptionError, match="no CUDA device"):
        discover(frame, backend="torch", device="cuda", max_lag=3)


@pytest.mark.parametrize("correction", ["bh", "by"])
def test_step_up_with_implicit_ones_equals_the_full_family(correction: str) -> None:
    from jobs.correlate import multitest
    from jobs.correlate.screen import step_up

    rng = np.random.default_rng(3)
    listed = np.concatenate([rng.uniform(0, 1e-3, 20), rng.uniform(0, 1, 30)])
    full = multitest.adjust(np.concatenate([listed, np.ones(950)]), correction)[: listed.size]
    np.testing.assert_allclose(step_up(listed, 1000, correction), full, rtol=1e-12)


def test_rejection_bound_is_never_below_bh_on_the_bounds() -> None:
    from jobs.correlate import multitest
    from jobs.correlate.kernel import bh_rejections_bound

    rng = np.random.default_rng(4)
    for signal in (0, 5, 200):
        p = np.concatenate([rng.uniform(size=5000 - signal), rng.uniform(0, 1e-6, signal)])
        counts = np.histogram(np.log10(np.maximum(p, 1e-300)), bins=P_HIST_EDGES)[0]
        exact = int((multitest.bh(p) <= 0.05).sum())
        bound = bh_rejections_bound(counts, p.size, 0.05)
        assert exact <= bound <= max(2 * exact, exact + 5), (signal, exact, bound)


@pytest.mark.parametrize(("null", "method"), [("shift", "pearson"), ("block", "spearman")])
def test_every_p_value_is_at_least_its_screening_bound(null: str, method: str) -> None:
    """The invariant the lossless screen rests on: pvalues.combine (+ refinement) never goes below the bound."""
    from jobs.correlate.kernel import SPEARMAN_VAR, p_lower_bound

    frame, _ = _panel(6, n_series=30)
    res = discover(frame, seed=3, null=null, method=method, max_lag=5, include_all=True, diagnose_limit=0)
    pairs = res.pairs
    var = SPEARMAN_VAR if method == "spearman" else 1.0
    bound = p_lower_bound(pairs["r"].abs().to_numpy(), pairs["n_eff"].to_numpy(), var, 11)
    assert (pairs["p"].to_numpy() >= bound * (1 - 1e-9)).all()
    assert (bound < 0.05).any()  # the panel has pairs near and below the FDR level, so the check bites
