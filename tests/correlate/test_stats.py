"""The statistics agree with scipy/statsmodels; p-values are never 0; torch equals numpy; errors pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from correlate_synth import ar1
from scipy import stats
from statsmodels.stats.multitest import multipletests

from jobs.correlate import discover, errors
from jobs.correlate.granger import granger_f
from jobs.correlate.kernel import lagged_correlations, null_maxima_numpy, null_maxima_torch
from jobs.correlate.multitest import bh, by, maxt
from jobs.correlate.nulls import make_plan
from jobs.correlate.pvalues import combine


def _frame(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        x, columns=[f"v{i}" for i in range(x.shape[1])], index=pd.date_range("2022-01-03", periods=x.shape[0], freq="D")
    )


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_r_matches_scipy_at_every_reported_lag(method: str) -> None:
    rng = np.random.default_rng(3)
    x = ar1(rng, 300, 6, 0.6)
    x[4:, 1] += 0.8 * x[:-4, 0]
    x[:, 2] = np.exp(x[:, 2])  # skewed: Spearman differs from Pearson
    res = discover(
        _frame(x),
        method=method,
        max_lag=5,
        include_all=True,
        adjust={"detrend": "none", "seasonal": "none"},
        null_draws=39,
        seed=1,
    )
    assert len(res.findings) == 15
    fn = stats.spearmanr if method == "spearman" else stats.pearsonr
    for f in res.findings:
        a, b = x[:, int(f.a[1:])], x[:, int(f.b[1:])]
        wa, wb = (a[: len(a) - f.lag], b[f.lag :]) if f.lag >= 0 else (a[-f.lag :], b[: len(b) + f.lag])
        assert f.r == pytest.approx(fn(wa, wb).statistic, abs=1e-6)
    top = res.findings[0]
    assert (top.a, top.b, top.lag) == ("v0", "v1", 4)


def test_kernel_float32_and_masked_paths_match_scipy() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 5))
    r, n = lagged_correlations(x, x, np.array([-3, 0, 2]))
    assert r[2, 0, 1] == pytest.approx(stats.pearsonr(x[:-2, 0], x[2:, 1]).statistic, abs=1e-6)
    assert r[0, 3, 4] == pytest.approx(stats.pearsonr(x[3:, 3], x[:-3, 4]).statistic, abs=1e-6)
    assert n[1, 0, 0] == 200
    y = x.copy()
    y[rng.random(y.shape) < 0.1] = np.nan
    r, n = lagged_correlations(y, y, np.array([1]), dtype=np.float64)
    wa, wb = y[:-1, 0], y[1:, 2]
    ok = ~(np.isnan(wa) | np.isnan(wb))
    assert r[0, 0, 2] == pytest.approx(stats.pearsonr(wa[ok], wb[ok]).statistic, abs=1e-9)
    assert n[0, 0, 2] == ok.sum()


def test_iid_permutation_p_agrees_with_scipy_permutation_test() -> None:
    rng = np.random.default_rng(11)
    n = 80
    a = rng.standard_normal(n)
    b = 0.25 * a + rng.standard_normal(n)
    res = discover(
        _frame(np.column_stack([a, b])),
        max_lag=0,
        null="iid",
        tail="none",
        null_draws=4999,
        refine_draws=0,
        include_all=True,
        adjust={"detrend": "none", "seasonal": "none"},
        seed=2,
        min_overlap=20,
    )
    ours = res.findings[0].p
    ref = stats.permutation_test(
        (a, b),
        lambda u, v: stats.pearsonr(u, v).statistic,
        permutation_type="pairings",
        n_resamples=9999,
        alternative="two-sided",
        random_state=4,
    ).pvalue
    se = np.sqrt(ref * (1 - ref) * (1 / 5000 + 1 / 10000))
    assert 0.005 < ref < 0.5
    assert abs(ours - ref) < 4 * se + 1e-3


def test_bh_by_equal_statsmodels_exactly() -> None:
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=500), rng.uniform(0, 1e-4, size=50), [1e-300, 0.5, 0.5]])
    np.testing.assert_array_equal(bh(p), multipletests(p, method="fdr_bh")[1])
    np.testing.assert_array_equal(by(p), multipletests(p, method="fdr_by")[1])


def test_maxt_counts_null_maxima() -> None:
    null_max = np.arange(1.0, 100.0)  # 99 draws
    q = maxt(np.array([0.5, 50.0, 1000.0]), null_max)
    np.testing.assert_allclose(q, [100 / 100, 51 / 100, 1 / 100])


def test_p_resolves_below_one_over_draws_and_is_never_zero() -> None:
    stat = np.array([0.05, 0.3, 0.6, 0.999999])
    out = combine(
        stat=stat,
        n_eff=np.full(4, 500.0),
        exceed=np.array([30, 0, 0, 0]),
        sumlog=np.full(4, 99 / 15),
        draws=99,
        var_factor=1.0,
        n_lags=15,
    )
    assert out.p[0] == pytest.approx(max(31 / 100, out.p_tail[0]))
    assert out.source[0] == "permutation"
    assert 0 < out.p[3] <= out.p[2] < out.p[1] < 1 / 100
    assert out.p[2] < 1e-30
    single = stats.norm.sf(np.arctanh(0.3) * np.sqrt(497)) * 2
    assert out.p[1] == pytest.approx(-np.expm1(15 * np.log1p(-single)), rel=1e-9)


def test_granger_matches_statsmodels() -> None:
    from statsmodels.tsa.stattools import grangercausalitytests

    rng = np.random.default_rng(4)
    x = rng.standard_normal(300)
    y = np.r_[0, 0, 0.5 * x[:-2]] + rng.standard_normal(300)
    f, p = granger_f(x, y, 2)
    ref = grangercausalitytests(np.column_stack([y, x]), maxlag=[2])[2][0]["ssr_ftest"]
    assert f == pytest.approx(ref[0], rel=1e-8)
    assert p == pytest.approx(ref[1], rel=1e-6)


def test_torch_path_equals_numpy_on_cpu() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    z = rng.standard_normal((120, 20)).astype(np.float32)
    z = (z - z.mean(0)) / z.std(0)
    norm = np.full((1, 1), 120.0)
    for kind in ("shift", "block"):
        plan = make_plan(kind, n=120, max_lag=3, draws=40, seed=1, block_length=6)
        a = null_maxima_numpy(z[:, :12], z[:, 8:], plan, norm)
        b = null_maxima_torch(z[:, :12], z[:, 8:], plan, norm, device="cpu")
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    frame = _frame(ar1(rng, 200, 8, 0.5))
    r1 = discover(frame, backend="numpy", include_all=True, seed=3)
    r2 = discover(frame, backend="torch", include_all=True, seed=3)
    np.testing.assert_allclose(r1.pairs["p"], r2.pairs["p"], rtol=1e-4)
    np.testing.assert_allclose(r1.pairs["r"], r2.pairs["r"], atol=1e-6)


def test_float64_option_agrees_with_float32() -> None:
    frame = _frame(ar1(np.random.default_rng(2), 250, 10, 0.7))
    r32 = discover(frame, include_all=True, seed=5).pairs
    r64 = discover(frame, include_all=True, seed=5, dtype="float64").pairs
    np.testing.assert_allclose(r32["r"], r64["r"], atol=1e-5)
    np.testing.assert_allclose(r32["p"], r64["p"], rtol=1e-3)


def test_exceptions_pickle_and_carry_hints() -> None:
    for cls in (errors.InputShapeError, errors.NotEnoughDataError, errors.OptionError, errors.FindingNotFoundError):
        err = cls("bad thing", hint="do this")
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is cls and back.message == "bad thing" and back.hint == "do this"
    with pytest.raises(errors.OptionError, match="fdr"):
        discover(_frame(np.ones((50, 2))), fdr=2.0)
    with pytest.raises(errors.NotEnoughDataError):
        discover(_frame(np.random.default_rng(0).standard_normal((20, 3))))
