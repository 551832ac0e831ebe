"""Per-finding warnings (trend, non-stationarity, low n, outliers, seasonality), confounder hints and Granger tests."""

from __future__ import annotations

import logging
import warnings as py_warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from jobs.correlate.granger import granger_f, precedence
from jobs.correlate.transform import calendar_groups

log = logging.getLogger(__name__)

LOW_N, LOW_N_EFF = 50, 30
OUTLIER_GAP = 0.2
TREND_R2 = 0.5
SEASON_R2 = 0.2


def _pair_windows(x: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    return (x[: n - lag], x[lag:]) if lag >= 0 else (x[-lag:], x[: n + lag])


def aligned(xa: np.ndarray, xb: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Values of a and b paired at ``lag`` (a[t] with b[t+lag]), rows with a NaN dropped."""
    n = xa.size
    wa, wb = (xa[: n - lag], xb[lag:]) if lag >= 0 else (xa[-lag:], xb[: n + lag])
    ok = ~(np.isnan(wa) | np.isnan(wb))
    return wa[ok], wb[ok]


def exact_r(xa: np.ndarray, xb: np.ndarray, lag: int, method: str) -> float:
    """r of the pair at ``lag`` in float64, exactly as scipy.stats.pearsonr/spearmanr compute it."""
    wa, wb = aligned(xa, xb, lag)
    if wa.size < 3 or np.std(wa) == 0 or np.std(wb) == 0:
        return float("nan")
    if method == "spearman":
        return float(stats.spearmanr(wa, wb).statistic)
    return float(stats.pearsonr(wa, wb).statistic)


def _residualise(y: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ coef


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@dataclass
class Context:
    """Data the diagnostics need, with per-series caches."""

    names: list[str]
    raw: np.ndarray
    raw_index: pd.DatetimeIndex
    adjusted: np.ndarray
    z: np.ndarray
    freq: str | None
    method: str
    _adf: dict[int, float] = field(default_factory=dict)
    _trend: dict[int, float] = field(default_factory=dict)
    _season: dict[int, float] = field(default_factory=dict)

    def adf_p(self, i: int) -> float:
        if i not in self._adf:
            from statsmodels.tsa.stattools import adfuller

            x = self.adjusted[:, i]
            x = x[~np.isnan(x)]
            try:
                with py_warnings.catch_warnings():
                    py_warnings.simplefilter("ignore")
                    self._adf[i] = float(adfuller(x, maxlag=int(np.cbrt(x.size)), autolag=None)[1])
            except (ValueError, np.linalg.LinAlgError) as exc:
                log.debug("ADF failed for %s: %s", self.names[i], exc)
                self._adf[i] = float("nan")
        return self._adf[i]

    def trend_r2(self, i: int) -> float:
        if i not in self._trend:
            y = self.raw[:, i]
            ok = ~np.isnan(y)
            t = np.arange(y.size)[ok]
            self._trend[i] = _corr(t.astype(float), y[ok]) ** 2 if ok.sum() > 3 else float("nan")
        return self._trend[i]

    def season_r2(self, i: int) -> tuple[float, str | None]:
        found = calendar_groups(self.raw_index, self.freq, "auto")
        if found is None:
            return float("nan"), None
        if i not in self._season:
            groups, _ = found
            y = self.raw[:, i]
            ok = ~np.isnan(y)
            t = np.arange(y.size, dtype=float)
            resid = _residualise(y[ok], np.column_stack([np.ones(ok.sum()), t[ok]]))
            g = groups[ok]
            means = pd.Series(resid).groupby(g).transform("mean").to_numpy()
            total = float(np.sum(resid**2))
            self._season[i] = float(np.sum(means**2) / total) if total > 0 else float("nan")
        return self._season[i], found[1]

    def calendar_design(self, rows: np.ndarray) -> np.ndarray:
        cols = [np.ones(rows.size), rows.astype(float)]
        found = calendar_groups(self.raw_index, self.freq, "auto")
        if found is not None:
            groups = found[0][rows]
            for g in np.unique(groups)[1:]:
                cols.append((groups == g).astype(float))
        return np.column_stack(cols)


def diagnose(ctx: Context, a: int, b: int, lag: int, *, r: float, r_raw: float, n: int, n_eff: float) -> dict[str, Any]:
    """Warnings, confounder hints and Granger precedence for one finding."""
    names = ctx.names
    out: list[str] = []
    ta, tb = ctx.trend_r2(a), ctx.trend_r2(b)
    if ta >= TREND_R2 and tb >= TREND_R2:
        out.append(
            f"shared trend: both series trend strongly (R²={ta:.2f}, {tb:.2f}); raw r={r_raw:.2f} vs adjusted r={r:.2f}"
        )
    nonstat = [names[i] for i in (a, b) if ctx.adf_p(i) > 0.05]
    if nonstat:
        out.append(f"non-stationary after adjustment (ADF p>0.05): {', '.join(nonstat)}; consider --difference 1")
    if n < LOW_N or n_eff < LOW_N_EFF:
        out.append(f"low n: {n} aligned points, effective n {n_eff:.0f}")
    wa, wb = aligned(ctx.adjusted[:, a], ctx.adjusted[:, b], lag)
    pearson = _corr(wa, wb)
    spearman = float(stats.spearmanr(wa, wb).statistic) if wa.size > 3 else float("nan")
    if (
        np.isfinite(pearson)
        and np.isfinite(spearman)
        and (abs(pearson - spearman) > OUTLIER_GAP or np.sign(pearson) != np.sign(spearman))
    ):
        out.append(f"possibly driven by outliers: Pearson r={pearson:.2f} vs Spearman rho={spearman:.2f}")
    (sa, label), (sb, _) = ctx.season_r2(a), ctx.season_r2(b)
    if label and sa >= SEASON_R2 and sb >= SEASON_R2:
        out.append(f"shared seasonality ({label}): seasonal R²={sa:.2f}, {sb:.2f}")
    # confounder hints: calendar + trend, then the strongest third series
    n_raw = ctx.raw.shape[0]
    rows_a = np.arange(n_raw)
    ra_w, rb_w = _pair_windows(ctx.raw[:, a], lag)[0], _pair_windows(ctx.raw[:, b], lag)[1]
    rows = _pair_windows(rows_a, lag)[0]
    ok = ~(np.isnan(ra_w) | np.isnan(rb_w))
    partial_cal = float("nan")
    if ok.sum() > 10:
        design = ctx.calendar_design(rows[ok])
        partial_cal = _corr(_residualise(ra_w[ok], design), _residualise(rb_w[ok], design))
    third, partial_third = _strongest_third(ctx, a, b, lag)
    if third is not None and np.isfinite(partial_third) and abs(partial_third) < 0.5 * abs(r):
        out.append(f"confounder hint: controlling for {third} shrinks r from {r:.2f} to {partial_third:.2f}")
    order = int(min(max(abs(lag), 1), 10))
    xa, xb = ctx.adjusted[:, a], ctx.adjusted[:, b]
    _, p_ab = granger_f(xa, xb, order)
    _, p_ba = granger_f(xb, xa, order)
    return {
        "warnings": out,
        "r_pearson": pearson,
        "r_spearman": spearman,
        "partial_r_calendar": partial_cal,
        "third_series": third,
        "partial_r_third": partial_third,
        "granger_order": order,
        "granger_p_ab": p_ab,
        "granger_p_ba": p_ba,
        "precedence": precedence(names[a], names[b], p_ab, p_ba),
    }


def _strongest_third(ctx: Context, a: int, b: int, lag: int) -> tuple[str | None, float]:
    """The series most correlated with both (max of min(|r_ac|, |r_bc|)) and the partial r given it."""
    z = ctx.z
    if z.shape[1] < 3:
        return None, float("nan")
    n = z.shape[0]
    rac = np.abs(z.T @ z[:, a]) / n
    rbc = np.abs(z.T @ z[:, b]) / n
    score = np.minimum(rac, rbc)
    score[[a, b]] = -1
    c = int(np.argmax(score))
    xa, xb, xc = ctx.adjusted[:, a], ctx.adjusted[:, b], ctx.adjusted[:, c]
    na = xa.size
    wa, wb = (xa[: na - lag], xb[lag:]) if lag >= 0 else (xa[-lag:], xb[: na + lag])
    wc = xc[: na - lag] if lag >= 0 else xc[-lag:]
    ok = ~(np.isnan(wa) | np.isnan(wb) | np.isnan(wc))
    if ok.sum() < 10:
        return ctx.names[c], float("nan")
    design = np.column_stack([np.ones(ok.sum()), wc[ok]])
    return ctx.names[c], _corr(_residualise(wa[ok], design), _residualise(wb[ok], design))


__all__ = ["Context", "aligned", "diagnose", "exact_r"]
