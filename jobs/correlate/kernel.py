"""The compute kernel: lagged correlations and shared-null maxima of a block of pairs as batched matrix products."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erfc

from jobs.correlate.nulls import NullPlan

SPEARMAN_VAR = 1.06  # Fieller-Hartley-Pearson variance inflation of Fisher's z for Spearman's rho
R_CLIP = 1.0 - 1e-7


@dataclass
class Prepared:
    """Everything a block needs, put in the Ray object store once.

    ``x``: adjusted (ranked for Spearman) values with NaN; ``z``: standardised float32/64, missing = 0;
    ``xraw``: unadjusted values on their own rows (raw r); ``acf``: autocorrelations for n_eff.
    """

    x: np.ndarray
    z: np.ndarray
    mask: np.ndarray
    xraw: np.ndarray
    acf: np.ndarray
    complete: np.ndarray
    lags: np.ndarray
    min_overlap: int
    var_factor: float
    iid_tail: bool
    backend: str = "numpy"
    device: str = "cpu"


@dataclass
class BlockResult:
    """Per-pair figures of one block of pairs (flat arrays, pairs a < b) plus per-draw maxima for maxT."""

    a: np.ndarray
    b: np.ndarray
    r: np.ndarray
    lag: np.ndarray
    n: np.ndarray
    n_eff: np.ndarray
    exceed: np.ndarray
    sumlog: np.ndarray
    r_raw: np.ndarray
    umax: np.ndarray
    flops: float = 0.0

    @staticmethod
    def concat(parts: list[BlockResult]) -> BlockResult:
        if not parts:
            e = np.zeros(0)
            return BlockResult(e.astype(int), e.astype(int), e, e.astype(int), e.astype(int), e, e.astype(int), e, e, e)
        umax = np.max(np.stack([p.umax for p in parts]), axis=0) if parts[0].umax.size else parts[0].umax
        fields = ("a", "b", "r", "lag", "n", "n_eff", "exceed", "sumlog", "r_raw")
        joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
        order = np.lexsort((joined["b"], joined["a"]))
        return BlockResult(**{f: v[order] for f, v in joined.items()}, umax=umax, flops=sum(p.flops for p in parts))


# ------------------------------------------------------------------------------- observed statistic
def _std_cols(w: np.ndarray) -> np.ndarray:
    w = w - w.mean(axis=0)
    sd = np.sqrt((w**2).mean(axis=0))
    return np.divide(w, sd, out=np.zeros_like(w), where=sd > 0)


def _windows(n: int, lag: int) -> tuple[slice, slice]:
    """Rows of a and of b paired at ``lag`` (positive: a leads b, a[t] with b[t+lag])."""
    return (slice(0, n - lag), slice(lag, n)) if lag >= 0 else (slice(-lag, n), slice(0, n + lag))


def lagged_correlations(
    xa: np.ndarray, xb: np.ndarray, lags: np.ndarray, *, dtype: type = np.float32, min_overlap: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson r of every column of ``xa`` with every column of ``xb`` at every lag -> (r, n), (L, ta, tb).

    Complete columns take the fast path (window-standardise, one GEMM per lag); columns with NaN use
    pairwise-complete sums from six GEMMs per lag. Pairs with overlap < ``min_overlap`` get NaN.
    """
    n = xa.shape[0]
    ta, tb = xa.shape[1], xb.shape[1]
    out_r = np.full((lags.size, ta, tb), np.nan, dtype=np.float64)
    out_n = np.zeros((lags.size, ta, tb), dtype=np.int64)
    missing = bool(np.isnan(xa).any() or np.isnan(xb).any())
    for li, lag in enumerate(lags):
        sa, sb = _windows(n, int(lag))
        wa, wb = xa[sa], xb[sb]
        if not missing:
            length = wa.shape[0]
            if length < max(3, min_overlap):
                continue
            za: np.ndarray = _std_cols(wa).astype(dtype)
            zb: np.ndarray = _std_cols(wb).astype(dtype)
            out_r[li] = (za.T @ zb) / length
            out_n[li] = length
            continue
        ma, mb = ~np.isnan(wa), ~np.isnan(wb)
        ca = np.where(ma, wa - np.nanmean(wa, axis=0), 0.0)
        cb = np.where(mb, wb - np.nanmean(wb, axis=0), 0.0)
        ca, cb = (
            ca / (np.sqrt((ca**2).sum(0) / ma.sum(0).clip(1)) + 1e-300),
            cb / (np.sqrt((cb**2).sum(0) / mb.sum(0).clip(1)) + 1e-300),
        )
        fa, fb = ma.astype(np.float64), mb.astype(np.float64)
        cnt = fa.T @ fb
        sa_ = ca.T @ fb
        sb_ = fa.T @ cb
        cov = ca.T @ cb - sa_ * sb_ / np.maximum(cnt, 1)
        va = (ca**2).T @ fb - sa_**2 / np.maximum(cnt, 1)
        vb = fa.T @ (cb**2) - sb_**2 / np.maximum(cnt, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov / np.sqrt(va * vb)
        r[(cnt < max(3, min_overlap)) | ~np.isfinite(r)] = np.nan
        out_r[li] = r
        out_n[li] = cnt.astype(np.int64)
    return out_r, out_n


def best_lag(r: np.ndarray, lags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the lag with the largest |r|, that r) along axis 0; all-NaN pairs give r = NaN."""
    absr = np.where(np.isnan(r), -1.0, np.abs(r))
    idx = absr.argmax(axis=0)
    chosen = np.take_along_axis(r, idx[None], axis=0)[0]
    return idx, chosen


# ---------------------------------------------------------------------------------- n_eff / tails
def effective_n(n: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """Bartlett/Dutilleul effective sample size n / (1 + 2 sum_k rho_a(k) rho_b(k)), clipped to [4, n].

    ``cross`` is ``sum_k rho_a(k) rho_b(k)`` per pair (one GEMM of the ACF matrices for a block).
    """
    return np.clip(n / np.maximum(1.0 + 2.0 * cross, 1e-9), 4.0, np.maximum(n, 4.0))


def per_lag_p(abs_r: np.ndarray, n_eff: np.ndarray, var_factor: float) -> np.ndarray:
    """Two-sided Fisher-z p-value of one lag's |r| with an effective sample size."""
    x = np.arctanh(np.minimum(abs_r, R_CLIP)) * np.sqrt(np.maximum(n_eff - 3.0, 1.0) / var_factor)
    return erfc(x / np.sqrt(2.0))


def standard_score(abs_r: np.ndarray, n_eff: np.ndarray, var_factor: float) -> np.ndarray:
    return np.arctanh(np.minimum(abs_r, R_CLIP)) * np.sqrt(np.maximum(n_eff - 3.0, 1.0) / var_factor)


# ------------------------------------------------------------------------------------ null block
def null_maxima_numpy(za: np.ndarray, zb: np.ndarray, plan: NullPlan, norm: np.ndarray, chunk: int = 8) -> np.ndarray:
    """max over lags of |r*| for every draw and pair -> (B, ta, tb), from one GEMM per chunk of views."""
    n, tb = zb.shape
    ta = za.shape[1]
    views = plan.views
    corr = np.empty((views.shape[0], ta, tb), dtype=za.dtype)
    zat = np.ascontiguousarray(za.T)
    for v0 in range(0, views.shape[0], chunk):
        v = views[v0 : v0 + chunk]
        stacked = zb[v]  # (g, n, tb)
        wide = np.ascontiguousarray(stacked.transpose(1, 0, 2)).reshape(n, -1)
        prod = (zat @ wide).reshape(ta, v.shape[0], tb)
        np.abs(prod, out=prod)
        corr[v0 : v0 + v.shape[0]] = prod.transpose(1, 0, 2)
    corr /= norm.astype(za.dtype)
    maxima = np.empty((plan.draws, ta, tb), dtype=za.dtype)
    step = max(1, 64 // max(1, plan.draw_views.shape[1]))
    for j0 in range(0, plan.draws, step):
        maxima[j0 : j0 + step] = corr[plan.draw_views[j0 : j0 + step]].max(axis=1)
    return maxima


def null_maxima_torch(
    za: np.ndarray, zb: np.ndarray, plan: NullPlan, norm: np.ndarray, device: str = "cpu", chunk: int = 8
) -> np.ndarray:
    """The same computation as :func:`null_maxima_numpy` with torch (CPU or CUDA)."""
    import torch

    ta_ = torch.from_numpy(np.ascontiguousarray(za.T)).to(device)
    tb_ = torch.from_numpy(np.ascontiguousarray(zb)).to(device)
    views = torch.from_numpy(plan.views.astype(np.int64)).to(device)
    n, tb = zb.shape
    ta = za.shape[1]
    corr = torch.empty((views.shape[0], ta, tb), dtype=ta_.dtype, device=device)
    for v0 in range(0, views.shape[0], chunk):
        v = views[v0 : v0 + chunk]
        wide = tb_[v].permute(1, 0, 2).reshape(n, -1)
        prod = (ta_ @ wide).reshape(ta, v.shape[0], tb).abs_()
        corr[v0 : v0 + v.shape[0]] = prod.permute(1, 0, 2)
    corr /= torch.from_numpy(norm.astype(za.dtype)).to(device)
    dv = torch.from_numpy(plan.draw_views.astype(np.int64)).to(device)
    maxima = torch.empty((plan.draws, ta, tb), dtype=ta_.dtype, device=device)
    step = max(1, 64 // max(1, dv.shape[1]))
    for j0 in range(0, plan.draws, step):
        maxima[j0 : j0 + step] = corr[dv[j0 : j0 + step]].amax(dim=1)
    return maxima.cpu().numpy()


def null_maxima(
    za: np.ndarray, zb: np.ndarray, plan: NullPlan, norm: np.ndarray, *, backend: str, device: str
) -> np.ndarray:
    if backend == "torch":
        return null_maxima_torch(za, zb, plan, norm, device=device)
    return null_maxima_numpy(za, zb, plan, norm)


def summarise_null(
    maxima: np.ndarray, stat: np.ndarray, n_eff: np.ndarray, var_factor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exceedances, sum of -log(1-p1) over draws, per-draw max standard score) for the pairs given.

    ``maxima`` is (B, P) null maxima, ``stat`` (P,) observed max |r|, ``n_eff`` (P,) tail sample sizes.
    """
    exceed = (maxima >= stat[None, :].astype(maxima.dtype)).sum(axis=0)
    m64 = maxima.astype(np.float64)
    p1 = np.clip(per_lag_p(m64, n_eff[None, :], var_factor), 1e-300, 1.0 - 1e-12)
    sumlog = (-np.log1p(-p1)).sum(axis=0)
    scores = standard_score(m64, n_eff[None, :], var_factor)
    umax = scores.max(axis=1) if scores.shape[1] else np.full(maxima.shape[0], -np.inf)
    return exceed, sumlog, umax


# ---------------------------------------------------------------------------------- block driver
def compute_block(prep: Prepared, ia: np.ndarray, ib: np.ndarray, plan: NullPlan, diagonal: bool) -> BlockResult:
    """Observed best-lag statistic, raw r, n_eff and null summaries of all pairs (ia x ib), a < b."""
    dtype = prep.z.dtype.type
    lags = prep.lags
    r_all, n_all = lagged_correlations(prep.x[:, ia], prep.x[:, ib], lags, dtype=dtype, min_overlap=prep.min_overlap)
    idx, r = best_lag(r_all, lags)
    n = np.take_along_axis(n_all, idx[None], axis=0)[0]
    raw_all, _ = lagged_correlations(prep.xraw[:, ia], prep.xraw[:, ib], lags, dtype=dtype, min_overlap=3)
    r_raw = np.take_along_axis(raw_all, idx[None], axis=0)[0]
    sel = np.triu_indices(ia.size, 1) if diagonal else np.nonzero(np.ones((ia.size, ib.size), dtype=bool))
    valid = ~np.isnan(r[sel])
    rows, cols = sel[0][valid], sel[1][valid]
    n_pair = n[rows, cols].astype(np.float64)
    cross = (prep.acf[ia] @ prep.acf[ib].T)[rows, cols]
    n_eff_bart = effective_n(n_pair, cross)
    n_eff_tail = n_pair if prep.iid_tail else n_eff_bart
    stat = np.abs(r[rows, cols])
    if prep.complete[ia].all() and prep.complete[ib].all():
        norm = np.full((1, 1), float(prep.z.shape[0]))
    else:
        norm = np.maximum(prep.mask[:, ia].astype(np.float64).T @ prep.mask[:, ib].astype(np.float64), 1.0)
    maxima = null_maxima(prep.z[:, ia], prep.z[:, ib], plan, norm, backend=prep.backend, device=prep.device)
    flat = maxima[:, rows, cols]
    exceed, sumlog, umax = summarise_null(flat, stat, n_eff_tail, prep.var_factor)
    flops = 2.0 * prep.z.shape[0] * ia.size * ib.size * (plan.views.shape[0] + 2 * lags.size)
    return BlockResult(
        a=ia[rows],
        b=ib[cols],
        r=r[rows, cols],
        lag=lags[idx[rows, cols]],
        n=n[rows, cols],
        n_eff=n_eff_bart,
        exceed=exceed.astype(np.int64),
        sumlog=sumlog,
        r_raw=r_raw[rows, cols],
        umax=umax,
        flops=flops,
    )


__all__ = [
    "SPEARMAN_VAR",
    "BlockResult",
    "Prepared",
    "best_lag",
    "compute_block",
    "effective_n",
    "lagged_correlations",
    "null_maxima",
    "null_maxima_numpy",
    "null_maxima_torch",
    "per_lag_p",
    "standard_score",
    "summarise_null",
]


def null_maxima_pairs(
    z: np.ndarray, a: np.ndarray, b: np.ndarray, plan: NullPlan, norm: np.ndarray, *, budget: int = 8_000_000
) -> np.ndarray:
    """Null maxima for an explicit list of pairs (a[i], b[i]) -> (B, P); used for refinement and screening."""
    n = z.shape[0]
    out = np.empty((plan.draws, a.size), dtype=z.dtype)
    per = max(1, budget // max(1, n * plan.views.shape[0]))
    for p0 in range(0, a.size, per):
        pa, pb = a[p0 : p0 + per], b[p0 : p0 + per]
        za, zb = z[:, pa], z[:, pb]
        corr = np.empty((plan.views.shape[0], pa.size), dtype=z.dtype)
        vstep = max(1, budget // max(1, n * pa.size))
        for v0 in range(0, plan.views.shape[0], vstep):
            g = zb[plan.views[v0 : v0 + vstep]]  # (g, n, P)
            corr[v0 : v0 + g.shape[0]] = np.abs(np.einsum("gnp,np->gp", g, za, optimize=True))
        corr /= norm[p0 : p0 + per].astype(z.dtype)
        out[:, p0 : p0 + per] = corr[plan.draw_views].max(axis=1)
    return out


def lagged_correlations_pairs(
    x: np.ndarray, a: np.ndarray, b: np.ndarray, lags: np.ndarray, *, min_overlap: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Exact float64 pairwise-complete Pearson r of listed pairs at every lag -> (r, n), shape (L, P)."""
    n = x.shape[0]
    out_r = np.full((lags.size, a.size), np.nan)
    out_n = np.zeros((lags.size, a.size), dtype=np.int64)
    for li, lag in enumerate(lags):
        sa, sb = _windows(n, int(lag))
        wa, wb = x[sa][:, a], x[sb][:, b]
        m = ~(np.isnan(wa) | np.isnan(wb))
        cnt = m.sum(axis=0)
        c = np.maximum(cnt, 1)
        wa0, wb0 = np.where(m, wa, 0.0), np.where(m, wb, 0.0)
        ca = np.where(m, wa0 - wa0.sum(0) / c, 0.0)
        cb = np.where(m, wb0 - wb0.sum(0) / c, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (ca * cb).sum(0) / np.sqrt((ca**2).sum(0) * (cb**2).sum(0))
        r[(cnt < max(3, min_overlap)) | ~np.isfinite(r)] = np.nan
        out_r[li] = r
        out_n[li] = cnt
    return out_r, out_n
