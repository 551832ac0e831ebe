"""Event relationships: detection (seasonality-aware, declustered), power on event-coupled pairs with weak r,
false-positive rate on independent bursty AR(1) series, one BH family with the correlation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from correlate_synth import ar1, ar1_with_bursts, count_cascade, event_coupled, sparse_counts

from jobs.correlate.events import detect_events, detect_tiers, event_tests
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


def _tiered_fpr(make, seeds: range, k: int = 30) -> tuple[float, float, int]:
    """FPR of the event test as lake runs use it (salient + extreme tiers) on k independent series per seed."""
    ps = []
    iu = np.triu_indices(k, 1)
    for seed in seeds:
        x = make(np.random.default_rng(300 + seed), k)
        salient, extreme = detect_tiers(x, IDX, "D")
        ps += list(event_tests(salient, iu[0], iu[1], max_lag=28, extreme=extreme).p)
    p = np.asarray(ps)
    return float((p <= 0.05).mean()), float((p <= 0.01).mean()), p.size


def test_tiered_event_test_false_positive_rate_on_bursty_and_sparse_count_nulls() -> None:
    cases = {
        "bursty AR(1)": lambda rng, k: ar1_with_bursts(rng, len(IDX), k),
        "sparse overdispersed counts": lambda rng, k: sparse_counts(rng, len(IDX), k, mean=2.0),
        "very sparse counts": lambda rng, k: rng.poisson(0.2, (len(IDX), k)).astype(float),
    }
    for name, make in cases.items():
        fpr05, fpr01, tested = _tiered_fpr(make, range(2))
        assert tested >= 0.5 * 2 * 435, (name, tested)  # most pairs have enough events to be tested
        assert fpr05 <= 0.05 and fpr01 <= 0.015, (name, fpr05, fpr01)


def _count_cascades(seed: int, pairs: int = 8, noise: int = 14) -> tuple[pd.DataFrame, dict, dict]:
    rng = np.random.default_rng(seed)
    cols, truth = {}, {}
    for k in range(pairs):
        lag = int(rng.integers(7, 29))  # within the default 4-week window for daily series
        a, b, _ = count_cascade(rng, len(IDX), lag=lag, bursts=3)
        cols[f"tickets{k}"], cols[f"failures{k}"] = a, b
        truth[(f"failures{k}", f"tickets{k}")] = -lag  # discover_lake orders pairs by name: b leads by lag
    x = sparse_counts(rng, len(IDX), noise)
    cols |= {f"other{j:02d}": x[:, j] for j in range(noise)}
    long = pd.DataFrame(
        [(s, t, v) for s, arr in cols.items() for t, v in zip(IDX, arr, strict=True)],
        columns=["series_id", "ts", "value"],
    )
    meta = {s: SeriesMeta(s, "D", "sum", f"src_{s}", f"dom_{s}") for s in cols}
    return long, meta, truth


def test_event_test_finds_sparse_count_cascades_at_their_lag() -> None:
    """Ticket-like and failure-like daily counts (means 6 and 2) linked only by 3 bursts in two years, the second
    series' bursts 7-28 days after the first's: planted ground truth among independent sparse counts, one BH
    family with the correlation tests, default lags."""
    hits, false = [], []
    for seed in range(2):
        long, meta, truth = _count_cascades(seed)
        res = discover_lake(long, meta)
        assert all(lv["max_lag"] == 28 for lv in res.levels)
        events = {(f.a, f.b): f.lag for f in res.significant if f.test == "event"}
        hits += [events.get(k) == lag for k, lag in truth.items()]
        false += [k for k in events if k not in truth]
    assert np.mean(hits) >= 0.9, np.mean(hits)
    assert len(false) <= 1, false


def test_each_pair_is_tested_on_its_own_overlap_not_the_whole_panel() -> None:
    """Two series observed on 2 of a panel's 11 years: padding the panel with unobserved years must not change
    the test (a null diluted by shifts into empty years made single co-occurrences look significant)."""
    rng = np.random.default_rng(5)
    a, b = event_coupled(rng, len(IDX), lag=6, events=5, size=4.5)
    short = detect_events(np.column_stack([a, b]), IDX, "D")
    pad = 9 * 365
    long_train = np.zeros((pad + len(IDX), 2), dtype=np.int8)
    long_train[pad:] = short
    seen = np.zeros(long_train.shape, dtype=bool)
    seen[pad:] = True
    one = event_tests(short, np.array([0]), np.array([1]), max_lag=28).iloc[0]
    padded = event_tests(long_train, np.array([0]), np.array([1]), max_lag=28, observed=seen).iloc[0]
    assert (one["lag"], one["co_events"], one["draws"]) == (padded["lag"], padded["co_events"], padded["draws"])
    assert one["p"] == pytest.approx(padded["p"])


def test_business_holidays_and_wide_calendar_days_are_not_events() -> None:
    """A workday series dips on every business holiday, and a release-day series swings widely every Friday:
    calendar, not events."""
    rng = np.random.default_rng(6)
    idx = pd.date_range("2023-01-02", periods=731, freq="D")
    workday = idx.dayofweek < 5
    from covary.calendar import us_business_holidays

    holiday = idx.isin(pd.DatetimeIndex(sorted(us_business_holidays(idx[0].date(), idx[-1].date()))))
    tickets = np.where(workday & ~holiday, 220.0, 110.0) + rng.normal(0, 8, len(idx))
    releases = np.where(idx.dayofweek == 4, rng.normal(60, 15, len(idx)), rng.normal(10, 2, len(idx)))
    ev = detect_events(np.column_stack([tickets, releases]), idx, "D")
    assert not ev[holiday, 0].any()
    assert (ev[:, 1] != 0).sum() <= 4, (ev[:, 1] != 0).sum()
