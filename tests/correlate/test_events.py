"""Event relationships: detection (seasonality-aware, declustered), power on event-coupled pairs with weak r,
false-positive rate on independent bursty AR(1) series, one BH family with the correlation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from correlate_synth import ar1, ar1_with_bursts, event_coupled

from jobs.correlate.events import detect_events, event_tests
from jobs.correlate.plan import SeriesMeta, discover_lake

IDX = pd.date_range("2022-01-03", periods=730, freq="D")


def _planted(seed: int, pairs: int = 20) -> tuple[pd.DataFrame, dict, dict, list[float]]:
    rng = np.random.default_rng(seed)
    cols, truth, rs = {}, {}, []
    for k in range(pairs):
        lag = int(rng.integers(0, 11))
        a, b = event_coupled(rng, len(IDX), lag=lag, events=8, size=4.5)
        cols[f"a{k:02d}"], cols[f"b{k:02d}"] = a, b
        truth[(f"a{k:02d}", f"b{k:02d}")] = lag
        rs.append(float(np.corrcoef(a[: len(IDX) - lag], b[lag:])[0, 1]))
    long = pd.DataFrame(
        [(s, t, v) for s, arr in cols.items() for t, v in zip(IDX, arr, strict=True)],
        columns=["series_id", "ts", "value"],
    )
    meta = {s: SeriesMeta(s, "D", "mean", f"src{s[1:]}", f"dom{s}") for s in cols}
    return long, meta, truth, rs


def _power(seeds: range) -> tuple[float, float, float, float]:
    event_hits, corr_hits, false, rs = [], [], [], []
    for seed in seeds:
        long, meta, truth, r = _planted(seed)
        rs += r
        res = discover_lake(long, meta)
        events = {(f.a, f.b): f.lag for f in res.significant if f.test == "event"}
        corr = {(f.a, f.b) for f in res.significant if f.test == "correlation"}
        event_hits += [events.get(k) == lag for k, lag in truth.items()]
        corr_hits += [k in corr for k in truth]
        sig = {(f.a, f.b) for f in res.significant}
        false.append(len(sig - set(truth)) / max(1, len(sig)))
    return float(np.mean(event_hits)), float(np.mean(corr_hits)), float(np.mean(false)), float(np.mean(np.abs(rs)))


def test_event_test_finds_event_coupled_pairs_that_pearson_mostly_misses() -> None:
    power, corr_power, fdp, mean_r = _power(range(2))
    assert mean_r <= 0.2, mean_r  # weak linear correlation
    assert power >= 0.9, power  # right lag, q <= 0.05 in the joint family
    assert corr_power < power, (corr_power, power)
    assert fdp <= 0.1, fdp


def _bursty_fpr(seeds: range, k: int = 40) -> tuple[float, float]:
    ps = []
    iu = np.triu_indices(k, 1)
    for seed in seeds:
        x = ar1_with_bursts(np.random.default_rng(100 + seed), len(IDX), k)
        ev = detect_events(x, IDX, "D")
        ps += list(event_tests(ev, iu[0], iu[1], max_lag=28).p)
    p = np.asarray(ps)
    assert p.size >= 0.9 * len(seeds) * iu[0].size  # nearly every pair had enough events to be tested
    return float((p <= 0.05).mean()), float((p <= 0.01).mean())


def test_event_test_false_positive_rate_on_bursty_ar1_nulls() -> None:
    fpr05, fpr01 = _bursty_fpr(range(2))
    assert fpr05 <= 0.05, fpr05
    assert fpr01 <= 0.01 + 0.005, fpr01


@pytest.mark.slow
def test_event_test_power_and_fpr_sweep() -> None:
    power, _, fdp, mean_r = _power(range(10, 20))
    assert power >= 0.9 and fdp <= 0.1 and mean_r <= 0.2, (power, fdp, mean_r)
    fpr05, fpr01 = _bursty_fpr(range(10, 30))
    assert fpr05 <= 0.05 and fpr01 <= 0.015, (fpr05, fpr01)


def test_detection_is_seasonality_aware_declustered_and_signed() -> None:
    rng = np.random.default_rng(3)
    n = 364
    idx = pd.date_range("2024-01-01", periods=n, freq="D")
    weekly = np.where(idx.dayofweek >= 5, -8.0, 2.0)  # strong weekend dips: calendar, not events
    x = 100 + weekly + rng.normal(0, 1, n)
    assert (detect_events(x[:, None], idx, "D") != 0).sum() <= 2
    y = x.copy()
    y[100:105] += 12.0  # a burst of 5 days is one event
    y[200] -= 12.0  # a trough
    ev = detect_events(y[:, None], idx, "D")[:, 0]
    assert (ev[95:110] == 1).sum() == 1 and ev[200] == -1
    # a level shift moves the baseline: not a stream of events after it
    z = rng.normal(0, 1, n)
    z[180:] += 6.0
    assert (detect_events(z[:, None], idx, "D") != 0).sum() <= 4


def test_event_p_matches_a_direct_circular_shift_count() -> None:
    """The body of the p-value is the plain count over every admissible circular shift (hand computation)."""
    rng = np.random.default_rng(8)
    n = 200
    e = np.zeros((n, 2), dtype=np.int8)
    e[rng.choice(n, 12, replace=False), 0] = 1
    e[rng.choice(n, 12, replace=False), 1] = 1
    res = event_tests(e, np.array([0]), np.array([1]), max_lag=2).iloc[0]
    lags = np.arange(-2, 3)

    def stat(shift: int) -> int:
        b = np.roll(e[:, 1], -shift)
        return max(int(((e[:, 0] == 1) & (np.roll(b, -lag) == 1)).sum()) for lag in lags)

    guard = 2 + max(5, n // 20)
    shifts = np.arange(guard, n - guard + 1)
    observed = stat(0)
    exceed = sum(stat(int(s)) >= observed for s in shifts)
    assert res["co_events"] == observed and res["draws"] == shifts.size
    if res["p_source"] == "permutation":
        assert res["p"] >= (exceed + 1) / (shifts.size + 1) - 1e-12
    assert 0 < res["p"] <= 1


def test_independent_smooth_series_make_no_event_findings() -> None:
    x = ar1(np.random.default_rng(4), len(IDX), 6, 0.5)
    long = pd.DataFrame(
        [(f"s{j}", t, v) for j in range(6) for t, v in zip(IDX, x[:, j], strict=True)],
        columns=["series_id", "ts", "value"],
    )
    meta = {f"s{j}": SeriesMeta(f"s{j}", "D", "mean", f"src{j}", f"d{j}") for j in range(6)}
    res = discover_lake(long, meta)
    assert not [f for f in res.significant if f.test == "event"]
