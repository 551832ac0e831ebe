"""Event relationships (Data Polygamy-style): peaks and troughs beyond adaptive thresholds, co-occurrence over lags.

Linear correlation misses relations that live in the extremes ("heavy rain days are slow taxi days",
"ticket bursts precede failure bursts"). Each series is reduced to its events: steps whose deviation from a
local, calendar-adjusted baseline exceeds a number of robust standard deviations (rolling median/MAD, so
thresholds adapt to level and volatility changes; counts that sit at zero most days get a floor from their
mean absolute deviation), runs of consecutive events collapsed to their most extreme step. Two tiers are
kept: *salient* events beyond ``threshold`` (3) and *extreme* ones beyond ``EXTREME_FACTOR`` times it (4.5),
so that two or three huge co-occurring bursts are not drowned by a series' many ordinary peaks.

A pair is tested on the span where both series are observed (events only on steps where both are): the
statistic is the largest count of same-direction (or opposite-direction) co-occurrences over lags -K..K, its
null the same maximum under every admissible circular shift of the second train within that span (keeps each
train's clustering). The p-value is the permutation p in the body and, beyond, a union bound over lags and
directions of the per-offset count's tail: negative binomial fitted to the null counts when they are
overdispersed, otherwise the exact hypergeometric law of randomly placed events. Each tier a pair has enough
events for is tested and the smaller p is multiplied by the number of tiers tested (Bonferroni);
``discover_lake`` puts these p-values into one Benjamini-Hochberg family with the correlation tests.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.ndimage import maximum_filter1d

from covary.calendar import us_business_holidays
from jobs.correlate.nulls import shift_guard
from jobs.correlate.transform import calendar_groups, remove_group_means

WINDOWS = {"D": 29, "W": 13, "M": 13, "Q": 9}
"""Rolling baseline window (steps) by frequency: a month of days, a quarter of weeks, a year of months."""
GAPS = {"D": 2}
"""Declustering gap by frequency: daily exceedances up to 2 days apart are one event (one burst); else 1."""
THRESHOLD = 3.0
"""Salient events: beyond this many robust standard deviations from the local baseline."""
EXTREME_FACTOR = 1.5
"""Extreme events: beyond ``EXTREME_FACTOR * threshold`` robust standard deviations."""
MIN_EVENTS = 3
"""A series needs this many salient events in the pair's span for the salient tier to be tested."""
MIN_EXTREME_EVENTS = 2
"""... and this many extreme events for the extreme tier (two matched bursts can already be decisive)."""
MIN_SHIFTS = 19
TIERS = ("salient", "extreme")
COLUMNS = [
    "ia", "ib", "lag", "co_events", "direction", "events_a", "events_b", "score", "p", "p_source", "draws", "tier",
    "tiers_tested",
]  # fmt: skip


def calendar_labels(index: pd.DatetimeIndex, freq: str | None) -> np.ndarray | None:
    """Calendar group of every step for daily data: day of week 0-6, business holidays 7 (else None).

    Holidays (:func:`covary.calendar.us_business_holidays`, the company calendar the anomaly job uses too)
    behave like weekends in workday-driven series; as their own group their dips are calendar, not events.
    """
    groups = calendar_groups(index, freq, "auto")
    if groups is None or groups[1] != "day-of-week":
        return None
    labels = np.asarray(groups[0]).copy()
    days = pd.DatetimeIndex(index).normalize()
    holidays = us_business_holidays(days[0].date(), days[-1].date())
    labels[np.asarray(days.isin(pd.DatetimeIndex(sorted(holidays))))] = 7
    return labels


def _typical_abs(r: np.ndarray) -> np.ndarray:
    """Per column: median |r|, or mean |r| / 1.25 where most values are exactly 0 (NaN-aware)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med, mean = np.nanmedian(r, axis=0), np.nanmean(r, axis=0)
    return np.nan_to_num(np.where(med > 0, med, mean / 1.25))


def robust_z(values: np.ndarray, index: pd.DatetimeIndex, freq: str | None) -> np.ndarray:
    """(n, N) deviations from a rolling-median baseline in robust sd units, calendar-adjusted.

    Daily data: day-of-week and holiday means are removed first, and a calendar group whose residuals are
    wider than the series' typical ones (release days, paydays) is judged against its own spread. The spread
    is the rolling median absolute residual, floored at half the series' overall one (or at its mean absolute
    residual when most days sit exactly on the baseline, as sparse counts do), so a flat stretch does not
    turn every small wiggle into an event. Unobserved steps (NaN) get z = 0.
    """
    x = np.asarray(values, dtype=np.float64)
    n, k = x.shape
    if n < 8 or k == 0:
        return np.zeros((n, k))
    labels = calendar_labels(index, freq)
    if labels is not None:
        x = remove_group_means(x, labels)
    w = WINDOWS.get(freq or "", 15)
    frame = pd.DataFrame(x)
    baseline = frame.rolling(w, center=True, min_periods=max(3, w // 3)).median()
    resid = frame - baseline
    spread = resid.abs().rolling(3 * w, center=True, min_periods=max(5, w)).median()
    absr = resid.abs().to_numpy()
    overall = _typical_abs(absr)
    spread = spread.clip(lower=pd.Series(0.5 * overall, index=spread.columns), axis=1)
    scale = np.ones((n, k))
    if labels is not None:  # heteroscedastic calendar: a group only ever widens its own spread
        for g in np.unique(labels):
            rows = labels == g
            ratio = np.divide(_typical_abs(absr[rows]), overall, out=np.ones(k), where=overall > 0)
            scale[rows] = np.maximum(1.0, ratio)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.asarray(resid.to_numpy(), dtype=np.float64) / (1.4826 * spread.to_numpy() * scale)
    z[~np.isfinite(z)] = 0.0
    return z


def clusters_from_z(z: np.ndarray, threshold: float = THRESHOLD, *, gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Runs declustering of the exceedances of ``threshold``: (n, N) int8 train (+1 peak / -1 trough cluster,
    placed at its onset) and (n, N) peak |z| of each cluster at the same step (0 elsewhere).

    Same-sign exceedances at most ``gap`` steps apart form one cluster (``gap=1``: consecutive steps only; a
    count burst that dips once below the threshold on its way down stays one event with ``gap=2``). A cluster
    is dated by its onset, where a burst starts: its peak wanders by a step with count noise.
    """
    raw = np.where(z > threshold, 1, np.where(z < -threshold, -1, 0)).astype(np.int8)
    train = np.zeros_like(raw)
    peak = np.zeros(raw.shape)
    size = np.abs(z)
    for j in np.nonzero(raw.any(axis=0))[0]:
        col = raw[:, j]
        steps = np.nonzero(col)[0]
        start = 0
        for i in range(1, steps.size + 1):
            if i < steps.size and steps[i] - steps[i - 1] <= gap and col[steps[i]] == col[steps[start]]:
                continue
            run = steps[start:i]
            train[run[0], j] = col[run[0]]
            peak[run[0], j] = size[run, j].max()
            start = i
    return train, peak


def events_from_z(z: np.ndarray, threshold: float = THRESHOLD, *, gap: int = 1) -> np.ndarray:
    """(n, N) int8 trains of the declustered exceedances of ``threshold`` (see :func:`clusters_from_z`)."""
    return clusters_from_z(z, threshold, gap=gap)[0]


def detect_events(
    values: np.ndarray, index: pd.DatetimeIndex, freq: str | None, *, threshold: float = THRESHOLD
) -> np.ndarray:
    """(n, N) event trains of every column: +1 peak / -1 trough beyond ``threshold`` robust sd, declustered."""
    return events_from_z(robust_z(values, index, freq), threshold, gap=GAPS.get(freq or "", 1))


def detect_tiers(
    values: np.ndarray, index: pd.DatetimeIndex, freq: str | None, *, threshold: float = THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """(salient, extreme) event trains: the declustered events beyond ``threshold``, and those of them whose
    peak goes beyond ``EXTREME_FACTOR * threshold`` (same onsets, so both tiers date a burst alike)."""
    train, peak = clusters_from_z(robust_z(values, index, freq), threshold, gap=GAPS.get(freq or "", 1))
    return train, np.where(peak > EXTREME_FACTOR * threshold, train, 0).astype(np.int8)


def _offset_counts(ta: np.ndarray, sa: np.ndarray, tb: np.ndarray, sb: np.ndarray, m: int) -> np.ndarray:
    """(2, m) circular co-occurrence counts c[d] = #{(i, j): tb[j] - ta[i] = d mod m}, same / opposite sign."""
    d = (tb[None, :] - ta[:, None]) % m
    same = sa[:, None] == sb[None, :]
    return np.stack([np.bincount(d[same], minlength=m), np.bincount(d[~same], minlength=m)])


def _hypergeom_sf(c: int, m: int, classes: list[tuple[int, int]]) -> float:
    """P(X >= c) for X = sum of independent hypergeometric overlaps |A_k ∩ B_k| of random subsets of m steps."""
    pmf = np.ones(1)
    for na, nb in classes:
        if na == 0 or nb == 0:
            continue
        top = min(na, nb)
        pmf = np.convolve(pmf, stats.hypergeom.pmf(np.arange(top + 1), m, na, nb))
    return float(pmf[c:].sum()) if c < pmf.size else 0.0


def _tail(c: int, region: np.ndarray, m: int, classes: list[tuple[int, int]]) -> float:
    """P(count >= c) at one offset: the exact hypergeometric law of randomly placed events, scaled for the
    overdispersion of the null region's counts (quasi-likelihood: X / D with D = max(1, var / mean)), so that
    clustered or periodic trains get the heavier tail they need."""
    if c <= 0:
        return 1.0
    mean = float(region.mean())
    disp = max(1.0, float(region.var()) / mean) if mean > 0 else 1.0
    return _hypergeom_sf(int(np.ceil(c / disp - 1e-9)), m, classes)


def _test_tier(
    ea: np.ndarray, eb: np.ndarray, m: int, lags: np.ndarray, shifts: np.ndarray, min_events: int
) -> tuple[float, int, int, str, int, int, str] | None:
    """(p, lag, count, direction, events_a, events_b, p_source) of one tier on one pair's span, or None."""
    ta, tb = np.nonzero(ea)[0], np.nonzero(eb)[0]
    if ta.size < min_events or tb.size < min_events:
        return None
    sa, sb = ea[ta], eb[tb]
    counts = _offset_counts(ta, sa, tb, sb, m)
    observed = counts[:, lags % m]  # (2, L)
    best = observed.max(axis=1)
    direction = 0 if best[0] >= best[1] else 1
    stat = int(best[direction])
    li = int(np.argmax(observed[direction]))
    k = int(lags.max())
    # null: the same maximum over lags for b shifted by s, i.e. the largest count at offsets s-K..s+K
    window = maximum_filter1d(counts, size=2 * k + 1, axis=1, mode="wrap")
    null_max = window[:, shifts].max(axis=0)
    exceed = int((null_max >= stat).sum())
    pos_a, neg_a, pos_b, neg_b = int((sa > 0).sum()), int((sa < 0).sum()), int((sb > 0).sum()), int((sb < 0).sum())
    classes = ([(pos_a, pos_b), (neg_a, neg_b)], [(pos_a, neg_b), (neg_a, pos_b)])
    p_tail = min(1.0, lags.size * sum(_tail(stat, counts[d, shifts], m, classes[d]) for d in (0, 1)))
    p_emp = (exceed + 1.0) / (shifts.size + 1.0)
    use_emp = exceed >= 10
    p = max(p_emp, p_tail) if use_emp else p_tail
    return (
        max(p, 1e-300), int(lags[li]), stat, ("same", "opposite")[direction], int(ta.size), int(tb.size),
        "permutation" if use_emp else "fitted tail",
    )  # fmt: skip


def event_tests(
    events: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    *,
    max_lag: int,
    observed: np.ndarray | None = None,
    min_events: int = MIN_EVENTS,
    extreme: np.ndarray | None = None,
    min_extreme: int = MIN_EXTREME_EVENTS,
) -> pd.DataFrame:
    """Test listed pairs (ia[i], ib[i]) of the event trains; rows with a, b indices, lag, counts, score, p.

    ``events`` are the salient trains, ``extreme`` (optional) the extreme ones; ``observed`` the (n, N) mask of
    observed steps (each pair is tested on the span where both are observed, events only where both are).
    ``score`` is the share of the rarer series' events matched at the best lag in the reported tier, negative
    for opposite-direction matches (peaks with troughs). ``p`` is Bonferroni-corrected for the tiers tested.
    """
    if ia.size == 0:
        return pd.DataFrame(columns=COLUMNS)
    mask = np.ones(events.shape, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    lags = np.arange(-max_lag, max_lag + 1)
    tiers = [(events, min_events)] + ([] if extreme is None else [(extreme, min_extreme)])
    rows = []
    for a, b in zip(ia.tolist(), ib.tolist(), strict=True):
        joint = mask[:, a] & mask[:, b]
        where = np.nonzero(joint)[0]
        if where.size == 0:
            continue
        lo, hi = int(where[0]), int(where[-1]) + 1
        m = hi - lo
        g = shift_guard(m, max_lag)
        shifts = np.arange(g, m - g + 1)
        if shifts.size < MIN_SHIFTS:
            continue
        results = []
        for t, (train, need) in enumerate(tiers):
            ea = np.where(joint[lo:hi], train[lo:hi, a], 0)
            eb = np.where(joint[lo:hi], train[lo:hi, b], 0)
            got = _test_tier(ea, eb, m, lags, shifts, need)
            if got is not None:
                results.append((t, got))
        if not results:
            continue
        t, (p, lag, stat, direction, na, nb, source) = min(results, key=lambda r: r[1][0])
        share = stat / min(na, nb)  # share of the rarer series' events matched at the best lag
        rows.append(
            (a, b, lag, stat, direction, na, nb, float(share if direction == "same" else -share),
             min(1.0, p * len(results)), source, int(shifts.size), TIERS[t], len(results))
        )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def wilson_interval(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


__all__ = [
    "EXTREME_FACTOR",
    "GAPS",
    "MIN_EVENTS",
    "MIN_EXTREME_EVENTS",
    "THRESHOLD",
    "WINDOWS",
    "calendar_labels",
    "clusters_from_z",
    "detect_events",
    "detect_tiers",
    "event_tests",
    "events_from_z",
    "robust_z",
    "wilson_interval",
]
