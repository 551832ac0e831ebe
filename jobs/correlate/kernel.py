"""The compute kernel: lagged correlations and shared-null maxima of a block of pairs as batched matrix products."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import erfc

from jobs.correlate.errors import OptionError
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
    hist: np.ndarray | None = None
    seen: int = 0
    nulls: int = 0
    seconds: float = 0.0
    tasks: int = 0
    nodes: set[str] = field(default_factory=set)
    keep_p: float | None = None

    @property
    def nbytes(self) -> int:
        """Bytes of the per-pair arrays and histogram (what a tile sends back to the driver)."""
        arrays = (self.a, self.b, self.r, self.lag, self.n, self.n_eff, self.exceed, self.sumlog, self.r_raw)
        return int(sum(f.nbytes for f in arrays) + self.umax.nbytes + (0 if self.hist is None else self.hist.nbytes))

    @staticmethod
    def concat(parts: list[BlockResult]) -> BlockResult:
        if not parts:
            e = np.zeros(0)
            return BlockResult(e.astype(int), e.astype(int), e, e.astype(int), e.astype(int), e, e.astype(int), e, e, e)
        umax = np.max(np.stack([p.umax for p in parts]), axis=0) if parts[0].umax.size else parts[0].umax
        fields = ("a", "b", "r", "lag", "n", "n_eff", "exceed", "sumlog", "r_raw")
        joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
        order = np.lexsort((joined["b"], joined["a"]))
        hists = [p.hist for p in parts if p.hist is not None]
        j = {f: v[order] for f, v in joined.items()}
        return BlockResult(
            j["a"],
            j["b"],
            j["r"],
            j["lag"],
            j["n"],
            j["n_eff"],
            j["exceed"],
            j["sumlog"],
            j["r_raw"],
            umax=umax,
            flops=sum(p.flops for p in parts),
            hist=np.sum(hists, axis=0) if hists else None,
            seen=sum(p.seen for p in parts),
            nulls=sum(p.nulls for p in parts),
            seconds=sum(p.seconds for p in parts),
        )


# ------------------------------------------------------------------------------- observed statistic
def _std_cols(w: np.ndarray) -> np.ndarray:
    w = w - w.mean(axis=0)
    sd = np.sqrt((w**2).mean(axis=0))
    return np.divide(w, sd, out=np.zeros_like(w), where=sd > 0)


def _windows(n: int, lag: int) -> tuple[slice, slice]:
    """Rows of a and of b paired at ``lag`` (positive: a leads b, a[t] with b[t+lag])."""
    return (slice(0, n - lag), slice(lag, n)) if lag >= 0 else (slice(-lag, n), slice(0, n + lag))


def _complete_lagged(
    xa: np.ndarray,
    xb: np.ndarray,
    lags: np.ndarray,
    dtype: type,
    min_overlap: int,
    out_r: np.ndarray,
    out_n: np.ndarray,
) -> None:
    """Complete columns: standardise once, then per lag one GEMM of row slices plus a window correction.

    r_l = (S_ab / m - mean_a mean_b) / (sd_a sd_b) with window means and SDs from prefix sums, so no
    window is re-standardised or copied (the windows differ from the whole series by |lag| rows only).
    """
    n = xa.shape[0]
    za: np.ndarray = _std_cols(xa).astype(dtype)
    zb: np.ndarray = _std_cols(xb).astype(dtype)
    sums = []
    for z in (za, zb):
        z64 = z.astype(np.float64)
        s1 = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(z64, axis=0)])
        s2 = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(z64**2, axis=0)])
        sums.append((s1, s2))

    def one(li: int) -> None:
        lag = int(lags[li])
        sa, sb = _windows(n, lag)
        length = n - abs(lag)
        if length < max(3, min_overlap):
            return
        stats = []
        for (s1, s2), w in zip(sums, (sa, sb), strict=True):
            mean = (s1[w.stop] - s1[w.start]) / length
            var = np.maximum((s2[w.stop] - s2[w.start]) / length - mean**2, 0.0)
            stats.append((mean, np.sqrt(var)))
        (ma, sda), (mb, sdb) = stats
        g = (za[sa].T @ zb[sb]).astype(np.float64) / length
        den = np.outer(sda, sdb)
        np.divide(g - np.outer(ma, mb), den, out=out_r[li], where=den > 1e-12)
        out_r[li][den <= 1e-12] = 0.0
        out_n[li] = length

    parallel_map(one, list(range(lags.size)))


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
    if not missing:
        _complete_lagged(xa, xb, lags, dtype, min_overlap, out_r, out_n)
        return out_r, out_n
    for li, lag in enumerate(lags):
        sa, sb = _windows(n, int(lag))
        wa, wb = xa[sa], xb[sb]
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
def blas_threads() -> int:
    """Threads for the kernel: the cores this process may use, capped by ``OMP_NUM_THREADS`` when set
    (Ray sets it to a task's ``num_cpus``, so tiles never oversubscribe a node)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        cores = max(1, os.cpu_count() or 1)
    cap = os.environ.get("OMP_NUM_THREADS", "")
    return min(cores, int(cap)) if cap.isdigit() and int(cap) > 0 else cores


def parallel_map(fn: Callable[[Any], Any], items: list[Any], threads: int | None = None) -> list[Any]:
    """``[fn(x) for x in items]`` on one thread per core with single-threaded BLAS (numpy releases the GIL)."""
    from threadpoolctl import threadpool_limits

    workers = max(1, min(threads or blas_threads(), len(items)))
    with threadpool_limits(1, user_api="blas"):
        if workers == 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, items))


def shift_offsets(plan: NullPlan) -> np.ndarray | None:
    """For a circular-shift plan, the offset of every view (``views[v] == (arange(n) + off[v]) % n``)."""
    if plan.kind != "shift" or plan.views.size == 0:
        return None
    return plan.views[:, 0].astype(np.int64)


def view_members(plan: NullPlan) -> tuple[np.ndarray, np.ndarray]:
    """CSR lists of the draws each view belongs to: draws ``members[start[v]:start[v + 1]]`` use view v."""
    flat = plan.draw_views.ravel()
    order = np.argsort(flat, kind="stable")
    members = (order // plan.draw_views.shape[1]).astype(np.int64)
    start = np.searchsorted(flat[order], np.arange(plan.views.shape[0] + 1))
    return members, start


def segments(ta: int, tb: int, *, diagonal: bool, parts: int) -> list[tuple[int, int, int, int]]:
    """Rectangles (r0, r1, c0, c1) of the (ta, tb) pair grid that the null GEMMs cover.

    Off-diagonal blocks: ``parts`` row bands covering everything. Diagonal blocks (pairs a < b only):
    row bands of the upper triangle, band k covering columns from its first row on, so the GEMMs skip
    the lower triangle (10/16 of the square with 4 bands instead of all of it). The bands are disjoint,
    so threads that own different bands write the shared maxima without locks.
    """
    bands = max(1, min(ta, parts if not diagonal else max(parts, 4)))
    edges = np.linspace(0, ta, bands + 1).round().astype(int)
    out = []
    for r0, r1 in itertools.pairwise(edges):
        if r1 <= r0:
            continue
        c0 = int(r0) if diagonal else 0
        if c0 < tb:
            out.append((int(r0), int(r1), c0, tb))
    return out


def _balance(segs: list[tuple[int, int, int, int]], workers: int) -> list[list[tuple[int, int, int, int]]]:
    """Greedy largest-first assignment of segments to workers by area (flops)."""
    loads = [0] * workers
    owned: list[list[tuple[int, int, int, int]]] = [[] for _ in range(workers)]
    for s in sorted(segs, key=lambda s: -(s[1] - s[0]) * (s[3] - s[2])):
        w = loads.index(min(loads))
        owned[w].append(s)
        loads[w] += (s[1] - s[0]) * (s[3] - s[2])
    return [o for o in owned if o]


def null_maxima_numpy(
    za: np.ndarray,
    zb: np.ndarray,
    plan: NullPlan,
    norm: np.ndarray,
    chunk: int = 8,
    threads: int | None = None,
    *,
    diagonal: bool = False,
) -> np.ndarray:
    """max over lags of |r*| for every draw and pair -> (B, ta, tb).

    One ``(ta, n) @ (n, tb)`` GEMM per distinct view, with no copies for circular shifts: view ``o`` of
    the doubled matrix ``[zb; zb]`` is the contiguous row slice ``o:o+n`` (BLAS reads it in place).
    The pair grid is cut into disjoint row bands (:func:`segments`; for a diagonal block only the upper
    triangle, ``diagonal=True``), each band owned by one thread of a pool (one per core, single-threaded
    BLAS each: no barrier between BLAS threads, so a loaded core slows only its own band). A thread runs
    every view's GEMM for its bands into a preallocated buffer and folds ``|r|`` into the one shared
    maxima array in place — no per-thread copies and no merge. For a diagonal block the entries below
    the diagonal are left at 0 (callers read pairs a < b only). Permutation plans gather each view's rows
    first. ``chunk`` is kept for callers.
    """
    from threadpoolctl import threadpool_limits

    n, tb = zb.shape
    ta = za.shape[1]
    dtype = za.dtype
    offs = shift_offsets(plan)
    zat = np.ascontiguousarray(za.T)
    zbc = np.ascontiguousarray(zb)
    zb2 = np.concatenate([zbc, zbc[: n - 1]]) if offs is not None else zbc
    members, start = view_members(plan)
    n_views = plan.views.shape[0]
    workers = max(1, threads or blas_threads())
    owned = _balance(segments(ta, tb, diagonal=diagonal and ta == tb, parts=workers), workers)
    maxima = np.zeros((plan.draws, ta, tb), dtype=dtype)

    def operand(v: int) -> np.ndarray:
        if offs is not None:
            o = int(offs[v])
            return zb2[o : o + n]
        return zbc[plan.views[v]]

    def work(segs: list[tuple[int, int, int, int]]) -> None:
        bufs = [np.empty((r1 - r0, c1 - c0), dtype=dtype) for r0, r1, c0, c1 in segs]
        heads = [zat[r0:r1] for r0, r1, _, _ in segs]
        for v in range(n_views):
            rhs = operand(v)
            draws = members[start[v] : start[v + 1]]
            if draws.size == 0:
                continue
            for (r0, r1, c0, c1), buf, head in zip(segs, bufs, heads, strict=True):
                np.matmul(head, rhs[:, c0:c1], out=buf)
                np.abs(buf, out=buf)
                for j in draws:
                    dst = maxima[j, r0:r1, c0:c1]
                    np.maximum(dst, buf, out=dst)

    with threadpool_limits(1, user_api="blas"):
        if len(owned) == 1:
            work(owned[0])
        else:
            with ThreadPoolExecutor(len(owned)) as pool:
                list(pool.map(work, owned))
    maxima /= norm.astype(dtype)
    return maxima


def null_maxima_torch(
    za: np.ndarray, zb: np.ndarray, plan: NullPlan, norm: np.ndarray, device: str = "cpu", chunk: int = 16
) -> np.ndarray:
    """The same computation as :func:`null_maxima_numpy` with torch (CPU or CUDA): batched GEMMs of
    ``chunk`` views, folded into the per-draw maxima with one ``index_reduce_(amax)`` per chunk."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(
            "device='cuda' was requested but torch sees no CUDA device (torch.cuda.is_available() is False)",
            hint="run on a machine with an NVIDIA GPU and a CUDA build of torch, or use device='cpu'",
        )
    tb = zb.shape[1]
    ta = za.shape[1]
    ta_ = torch.from_numpy(np.ascontiguousarray(za.T)).to(dev)
    tb_ = torch.from_numpy(np.ascontiguousarray(zb)).to(dev)
    views = torch.from_numpy(plan.views.astype(np.int64)).to(dev)
    members, start = view_members(plan)
    maxima = torch.zeros((plan.draws, ta, tb), dtype=ta_.dtype, device=dev)
    n_views = plan.views.shape[0]
    for v0 in range(0, n_views, chunk):
        v1 = min(n_views, v0 + chunk)
        prod = torch.matmul(ta_, tb_[views[v0:v1]]).abs_()  # (g, ta, tb)
        lo, hi = int(start[v0]), int(start[v1])
        counts = np.diff(start[v0 : v1 + 1])
        local = torch.from_numpy(np.repeat(np.arange(v1 - v0), counts)).to(dev)
        draws = torch.from_numpy(members[lo:hi]).to(dev)
        with warnings.catch_warnings():  # "index_reduce() is in beta": stable since torch 1.13 for amax
            warnings.simplefilter("ignore", UserWarning)
            maxima.index_reduce_(0, draws, prod[local], "amax", include_self=True)
    maxima /= torch.from_numpy(norm.astype(za.dtype)).to(dev)
    return maxima.cpu().numpy()


def null_maxima(
    za: np.ndarray,
    zb: np.ndarray,
    plan: NullPlan,
    norm: np.ndarray,
    *,
    backend: str,
    device: str,
    diagonal: bool = False,
) -> np.ndarray:
    """Null maxima of a block; ``diagonal``: a block of a series set with itself (only pairs a < b are read)."""
    if backend == "torch":
        return null_maxima_torch(za, zb, plan, norm, device=device)
    return null_maxima_numpy(za, zb, plan, norm, diagonal=diagonal)


def summarise_null(
    maxima: np.ndarray, stat: np.ndarray, n_eff: np.ndarray, var_factor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exceedances, sum of -log(1-p1) over draws, per-draw max standard score) for the pairs given.

    ``maxima`` is (B, P) null maxima, ``stat`` (P,) observed max |r|, ``n_eff`` (P,) tail sample sizes.
    """

    def part(sl: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = maxima[:, sl]
        exc = (m >= stat[None, sl].astype(m.dtype)).sum(axis=0)
        scores = standard_score(m.astype(np.float64), n_eff[None, sl], var_factor)
        p1 = np.clip(erfc(scores / np.sqrt(2.0)), 1e-300, 1.0 - 1e-12)  # = per_lag_p, arctanh computed once
        um = scores.max(axis=1) if scores.shape[1] else np.full(m.shape[0], -np.inf)
        return exc, (-np.log1p(-p1)).sum(axis=0), um

    size = maxima.shape[1]
    step = max(4096, -(-size // blas_threads()))
    parts = parallel_map(part, [slice(i, i + step) for i in range(0, max(size, 1), step)])
    exceed = np.concatenate([p[0] for p in parts])
    sumlog = np.concatenate([p[1] for p in parts])
    umax = np.max(np.stack([p[2] for p in parts]), axis=0)
    return exceed, sumlog, umax


# ---------------------------------------------------------------------------------- block driver
P_HIST_EDGES = np.concatenate([[-400.0], np.linspace(-40.0, 0.0, 801)])
"""Bins of log10 of the pairs' p-value lower bound, 0.05 wide (first bin: everything below 1e-40)."""


def bh_rejections_bound(counts: np.ndarray, m: int, level: float) -> int:
    """An upper bound on how many pairs BH at ``level`` can reject, from the histogram of p-value lower bounds.

    BH is monotone (smaller p-values never reject fewer), and every final p is >= its bound, so BH applied
    to the bounds rejects at least as many; counting each bin at its upper edge only raises that count.
    So ``level * bound / m`` is >= the exhaustive run's BH threshold: pairs above it can never be significant.
    """
    if m <= 0:
        return 0
    cum = np.cumsum(counts)
    upper = 10.0 ** P_HIST_EDGES[1:]
    lower = np.concatenate([[0.0], upper[:-1]])
    k_hi = np.floor(np.minimum(upper, 1.0) * m / level)
    k_lo = np.floor(lower * m / level)
    best = np.minimum(np.minimum(k_hi, cum), m)
    ok = best > k_lo
    return int(best[ok].max()) if ok.any() else 0


def p_lower_bound(stat: np.ndarray, tail_n: np.ndarray, var_factor: float, n_lags: int) -> np.ndarray:
    """A bound every final p-value of a pair is >= (see docs/scale.md): the fitted-tail p with m = lags.

    ``pvalues.combine`` uses ``p = p_tail`` or ``max(p_emp, p_tail)`` with ``m = max(m_eff, lags) >= lags``
    and the same ``n_eff``; refinement only changes ``m_eff``. So a pair with this bound above the FDR level
    can never be declared significant by BH or BY, whatever its null draws.
    """
    p1 = per_lag_p(np.abs(stat), tail_n, var_factor)
    return np.clip(-np.expm1(float(n_lags) * np.log1p(-np.minimum(p1, 1.0 - 1e-16))), 1e-300, 1.0)


def pair_norm(prep: Prepared, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Observations both series of each listed pair have (the null's normaliser), n for complete series."""
    if prep.complete[a].all() and prep.complete[b].all():
        return np.full(a.size, float(prep.z.shape[0]))
    return np.maximum((prep.mask[:, a] & prep.mask[:, b]).sum(axis=0).astype(float), 1.0)


def r_at_lags(x: np.ndarray, a: np.ndarray, b: np.ndarray, lag: np.ndarray, *, min_overlap: int = 3) -> np.ndarray:
    """Float64 pairwise-complete Pearson r of each listed pair at its own lag."""
    out = np.full(a.size, np.nan)
    for value in np.unique(lag):
        sel = np.nonzero(lag == value)[0]
        out[sel] = lagged_correlations_pairs(x, a[sel], b[sel], np.array([value]), min_overlap=min_overlap)[0][0]
    return out


def compute_block(
    prep: Prepared,
    ia: np.ndarray,
    ib: np.ndarray,
    plan: NullPlan,
    diagonal: bool,
    *,
    keep_p: float | None = None,
    screen: bool = False,
    bound_only: bool = False,
) -> BlockResult:
    """Observed best-lag statistic, raw r, n_eff and null summaries of the pairs (ia x ib), a < b.

    ``keep_p``: return only pairs whose :func:`p_lower_bound` is <= keep_p (all others cannot be
    significant at FDR level keep_p); the block's bound histogram and pair count are always returned, and
    the null summaries (exceedances, sum-log, per-draw maxima) are computed for the kept pairs only.
    ``screen``: also skip the null draws of the pairs that are not kept (two-stage screening). The kept
    pairs get exactly the statistics they get without screening. ``bound_only``: stop after the histogram
    (the first pass of a compact run, which sets ``keep_p`` from :func:`bh_rejections_bound`).
    """
    dtype = prep.z.dtype.type
    lags = prep.lags
    r_all, n_all = lagged_correlations(prep.x[:, ia], prep.x[:, ib], lags, dtype=dtype, min_overlap=prep.min_overlap)
    idx, r = best_lag(r_all, lags)
    n = np.take_along_axis(n_all, idx[None], axis=0)[0]
    sel = np.triu_indices(ia.size, 1) if diagonal else np.nonzero(np.ones((ia.size, ib.size), dtype=bool))
    valid = ~np.isnan(r[sel])
    rows, cols = sel[0][valid], sel[1][valid]
    n_pair = n[rows, cols].astype(np.float64)
    cross = (prep.acf[ia] @ prep.acf[ib].T)[rows, cols]
    n_eff_bart = effective_n(n_pair, cross)
    n_eff_tail = n_pair if prep.iid_tail else n_eff_bart
    stat = np.abs(r[rows, cols])
    bound = p_lower_bound(stat, n_eff_tail, prep.var_factor, lags.size)
    hist = np.histogram(np.log10(bound), bins=P_HIST_EDGES)[0].astype(np.int64)
    seen = int(rows.size)
    keep = np.ones(rows.size, dtype=bool) if keep_p is None else bound <= keep_p
    observed_flops = 2.0 * prep.z.shape[0] * ia.size * ib.size * lags.size
    if bound_only:
        e = np.zeros(0)
        ei = np.zeros(0, dtype=np.int64)
        umax0 = np.full(plan.draws, -np.inf)
        return BlockResult(ei, ei, e, ei, ei, e, ei, e, e, umax0, flops=observed_flops, hist=hist, seen=seen)
    if screen and keep_p is not None and keep.sum() <= 0.3 * keep.size:
        rows, cols, stat, n_eff_bart, n_eff_tail = (v[keep] for v in (rows, cols, stat, n_eff_bart, n_eff_tail))
        keep = np.ones(rows.size, dtype=bool)
        pa, pb = ia[rows], ib[cols]
        flat = null_maxima_pairs(prep.z, pa, pb, plan, pair_norm(prep, pa, pb))
        null_flops = 2.0 * prep.z.shape[0] * pa.size * (plan.views.shape[0] + lags.size)
    else:
        if prep.complete[ia].all() and prep.complete[ib].all():
            norm = np.full((1, 1), float(prep.z.shape[0]))
        else:
            norm = np.maximum(prep.mask[:, ia].astype(np.float64).T @ prep.mask[:, ib].astype(np.float64), 1.0)
        maxima = null_maxima(
            prep.z[:, ia], prep.z[:, ib], plan, norm, backend=prep.backend, device=prep.device, diagonal=diagonal
        )
        flat = maxima[:, rows, cols]
        area = ia.size * ib.size
        if diagonal and prep.backend != "torch":  # the GEMMs cover the upper-triangle bands only
            area = sum((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in segments(ia.size, ib.size, diagonal=True, parts=1))
        null_flops = 2.0 * prep.z.shape[0] * area * plan.views.shape[0] + observed_flops
    null_pairs = int(flat.shape[1])
    if not keep.all():  # compact run (bh/by): summarise only the pairs sent back; umax is for maxT only
        rows, cols, stat, n_eff_bart, n_eff_tail = (v[keep] for v in (rows, cols, stat, n_eff_bart, n_eff_tail))
        flat = flat[:, keep]
        keep = np.ones(rows.size, dtype=bool)
    exceed, sumlog, umax = summarise_null(flat, stat, n_eff_tail, prep.var_factor)
    rows, cols = rows[keep], cols[keep]
    best = idx[rows, cols]
    if keep_p is None:
        raw_all, _ = lagged_correlations(prep.xraw[:, ia], prep.xraw[:, ib], lags, dtype=dtype, min_overlap=3)
        r_raw = np.take_along_axis(raw_all, idx[None], axis=0)[0][rows, cols]
    else:
        r_raw = r_at_lags(prep.xraw, ia[rows], ib[cols], lags[best])
    return BlockResult(
        a=ia[rows],
        b=ib[cols],
        r=r[rows, cols],
        lag=lags[best],
        n=n[rows, cols],
        n_eff=n_eff_bart[keep],
        exceed=exceed[keep].astype(np.int64),
        sumlog=sumlog[keep],
        r_raw=r_raw,
        umax=umax,
        flops=observed_flops + null_flops,
        hist=hist,
        seen=seen,
        nulls=null_pairs,
    )


__all__ = [
    "P_HIST_EDGES",
    "SPEARMAN_VAR",
    "BlockResult",
    "Prepared",
    "best_lag",
    "bh_rejections_bound",
    "blas_threads",
    "compute_block",
    "effective_n",
    "lagged_correlations",
    "null_maxima",
    "null_maxima_numpy",
    "null_maxima_pairs",
    "null_maxima_torch",
    "p_lower_bound",
    "pair_norm",
    "per_lag_p",
    "r_at_lags",
    "segments",
    "shift_offsets",
    "standard_score",
    "summarise_null",
    "view_members",
]


def null_maxima_pairs(
    z: np.ndarray, a: np.ndarray, b: np.ndarray, plan: NullPlan, norm: np.ndarray, *, budget: int = 8_000_000
) -> np.ndarray:
    """Null maxima for an explicit list of pairs (a[i], b[i]) -> (B, P); used for screening survivors and refinement.

    Circular shifts take the FFT route: one float64 circular cross-correlation per pair gives every
    shift at once (O(n log n) instead of O(n * views)); permutation plans gather and multiply.
    """
    offs = shift_offsets(plan)
    if offs is not None:
        return _null_maxima_pairs_fft(z, a, b, plan, norm, offs, budget=budget)
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


def _null_maxima_pairs_fft(
    z: np.ndarray, a: np.ndarray, b: np.ndarray, plan: NullPlan, norm: np.ndarray, offs: np.ndarray, *, budget: int
) -> np.ndarray:
    from scipy import fft

    n = z.shape[0]
    out = np.empty((plan.draws, a.size), dtype=z.dtype)
    if a.size == 0:
        return out
    series, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    pos_a, pos_b = inverse[: a.size], inverse[a.size :]
    workers = blas_threads()
    spec = fft.rfft(z[:, series].astype(np.float64), axis=0, workers=workers)  # (n//2 + 1, S)
    per = max(1, budget // max(n, plan.draw_views.size))
    for p0 in range(0, a.size, per):
        sl = slice(p0, p0 + per)
        # cc[s, i] = sum_t z_a[t] z_b[(t + s) % n]: every circular shift of the pair at once
        cc = fft.irfft(np.conj(spec[:, pos_a[sl]]) * spec[:, pos_b[sl]], n=n, axis=0, workers=workers)
        corr = np.abs(cc[offs]) / norm[sl]
        out[:, sl] = corr[plan.draw_views].max(axis=1)
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
