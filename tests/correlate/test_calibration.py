"""Calibration on independent AR(1) series, FDR and power on planted lagged signals (ground truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from correlate_synth import ar1, planted_panel

from jobs.correlate import discover


def _ar1_pairs(seed: int, pairs: int = 500, n: int = 365, phi: float = 0.9) -> pd.DataFrame:
    x = ar1(np.random.default_rng(seed), n, 2 * pairs, phi)
    return pd.DataFrame(
        x, columns=[f"x{i:04d}" for i in range(2 * pairs)], index=pd.date_range("2023-01-02", periods=n, freq="D")
    )


def _designated(pairs_table: pd.DataFrame) -> pd.DataFrame:
    ia = pairs_table["a"].str[1:].astype(int)
    ib = pairs_table["b"].str[1:].astype(int)
    return pairs_table[(ia % 2 == 0) & (ib == ia + 1)]


def test_default_null_is_calibrated_on_ar1_phi_09_and_iid_null_is_not() -> None:
    frame = _ar1_pairs(2024)  # 500 independent pairs (x0000, x0001), (x0002, x0003), ...
    tables = [  # 10 panels of 100 series: every designated pair is tested, plus 49,000 other null pairs
        discover(frame.iloc[:, k : k + 100], seed=1, max_lag=7, diagnose_limit=0).pairs for k in range(0, 1000, 100)
    ]
    everything = pd.concat(tables)
    chosen = _designated(everything)
    assert len(chosen) == 500
    fpr_500 = float((chosen["p"] <= 0.05).mean())
    fpr_all = float((everything["p"] <= 0.05).mean())
    assert fpr_500 <= 0.06, fpr_500
    assert fpr_all <= 0.06, fpr_all
    assert fpr_all >= 0.005, "conservative (Bonferroni over correlated lags), not degenerate"
    # the iid permutation null on the same data: anti-conservative (documented in docs/correlate.md)
    iid = discover(frame.iloc[:, :200], null="iid", null_draws=99, refine_draws=0, seed=1, diagnose_limit=0)
    fpr_iid = float((_designated(iid.pairs)["p"] <= 0.05).mean())
    assert fpr_iid > 0.2, fpr_iid


def _fdr_power(seeds: range) -> tuple[float, float, float]:
    fdrs, powers, lags_ok = [], [], []
    for seed in seeds:
        frame, truth = planted_panel(seed, n_series=40, n_planted=12)
        res = discover(frame, seed=seed, diagnose_limit=0)
        found = {(f.a, f.b): f.lag for f in res.significant}
        false = [k for k in found if k not in truth]
        fdrs.append(len(false) / max(1, len(found)))
        hits = [k for k in truth if k in found]
        powers.append(len(hits) / len(truth))
        lags_ok.append(np.mean([found[k] == truth[k] for k in hits]) if hits else 0.0)
    return float(np.mean(fdrs)), float(np.mean(powers)), float(np.mean(lags_ok))


def test_planted_lags_fdr_power_fast() -> None:
    fdr, power, lag_ok = _fdr_power(range(16))
    assert fdr <= 0.05 + 0.01, fdr
    assert power >= 0.9, power
    assert lag_ok >= 0.95, lag_ok


@pytest.mark.slow
def test_planted_lags_fdr_power_sweep() -> None:
    fdr, power, lag_ok = _fdr_power(range(100, 160))
    assert fdr <= 0.05 + 0.01, fdr
    assert power >= 0.9, power
    assert lag_ok >= 0.95, lag_ok


def test_block_null_and_spearman_also_find_planted_signal(planted: tuple[pd.DataFrame, dict]) -> None:
    frame, truth = planted
    for kwargs in ({"null": "block"}, {"method": "spearman"}, {"correction": "by"}, {"correction": "maxt"}):
        res = discover(frame, seed=3, **kwargs)
        found = {(f.a, f.b): f.lag for f in res.significant}
        assert sum(found.get(k) == lag for k, lag in truth.items()) >= 4, kwargs
        assert len(set(found) - set(truth)) <= 1, kwargs


def _short_persistent_fpr(seed: int, max_lag: int, *, n: int = 100, phi: float = 0.95, k: int = 100) -> float:
    """Rejection rate at alpha = 0.05 over all pairs of k independent AR(1) series of n weekly steps."""
    x = ar1(np.random.default_rng(500 + seed), n, k, phi)
    frame = pd.DataFrame(
        x, columns=[f"x{i:03d}" for i in range(k)], index=pd.date_range("2020-01-06", periods=n, freq="W-MON")
    )
    res = discover(frame, max_lag=max_lag, seed=seed, diagnose_limit=0)
    return float((res.pairs["p"] <= 0.05).mean())


def test_short_highly_persistent_series_are_calibrated() -> None:
    # ~100 steps, phi = 0.95: before the bias-corrected n_eff the default test rejected 9-12 % at lag 0
    for max_lag in (0, 3):
        fpr = _short_persistent_fpr(0, max_lag)
        assert fpr <= 0.05 + 0.01, (max_lag, fpr)


@pytest.mark.slow
def test_short_persistent_calibration_sweep() -> None:
    for n, phi in ((100, 0.95), (100, 0.9), (150, 0.95), (200, 0.9)):
        for max_lag in (0, 1, 3, 8):
            fprs = [_short_persistent_fpr(seed, max_lag, n=n, phi=phi) for seed in range(3)]
            assert float(np.mean(fprs)) <= 0.05 + 0.01, (n, phi, max_lag, fprs)
