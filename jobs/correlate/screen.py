"""Two-stage screening without loss: exact observed statistics for every pair, null draws only where they matter.

Stage 1 (every pair, in the tiles): the exact best-lag |r| and the Bartlett n_eff — ``L`` GEMMs per block,
about ``L / (V + 2L)`` (2-4 %) of the exhaustive kernel. From them, :func:`jobs.correlate.kernel.p_lower_bound`
gives a value every final p-value of the pair is at least (the fitted tail with ``m`` = the number of lags,
which :func:`jobs.correlate.pvalues.combine` never goes below). A pair whose bound exceeds the FDR level can
never be declared significant by BH or BY; better, BH applied to the bounds bounds the number of
rejections R_ub, so no pair with bound > FDR * R_ub / m can be (:func:`run_collected`). Stage 2 (the shared
null draws, for circular shifts one FFT per pair) runs only on pairs below that. The significant
findings and their p/q-values equal the exhaustive run's (tests/correlate/test_kernel_scale.py); the
BH family is still every pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from jobs.correlate import execute
from jobs.correlate.errors import OptionError
from jobs.correlate.execute import Collect
from jobs.correlate.kernel import BlockResult, bh_rejections_bound
from jobs.correlate.options import DiscoveryOptions


def harmonic(m: int) -> float:
    """sum_{i<=m} 1/i (the BY constant): exact up to 10^7 terms, else the asymptotic series (error < 1e-15)."""
    if m <= 10_000_000:
        return float(np.sum(1.0 / np.arange(1, m + 1))) if m > 0 else 0.0
    return math.log(m) + 0.5772156649015329 + 1.0 / (2 * m) - 1.0 / (12 * m * m)


def step_up(p: np.ndarray, m: int, correction: str) -> np.ndarray:
    """BH/BY q-values of ``p`` as members of a family of ``m`` >= p.size p-values, the rest equal to 1.

    Same arithmetic as :func:`jobs.correlate.multitest.bh`/``by`` on the full family, in O(p.size) memory:
    the implicit ones sort last and have q = 1, so they never lower a listed q.
    """
    p = np.asarray(p, dtype=np.float64)
    k = p.size
    if k == 0:
        return p.copy()
    factor = harmonic(m) if correction == "by" else 1.0
    order = np.argsort(p, kind="mergesort")
    raw = p[order] / (np.arange(1, k + 1) / float(m) / factor)
    q_sorted = np.minimum.accumulate(raw[::-1])[::-1]
    q_sorted[q_sorted > 1] = 1
    q = np.empty(k)
    q[order] = q_sorted
    return q


def run_collected(run: Callable[[Collect], BlockResult], collect: Collect, *, correction: str) -> BlockResult:
    """Run the tiles once (everything / survivors with a fixed bound) or in two passes for compact runs.

    Pass 1 returns only each tile's pair count and histogram of p-value bounds (no null draws). From them
    :func:`~jobs.correlate.kernel.bh_rejections_bound` bounds how many pairs BH/BY can reject, which bounds
    the exhaustive run's threshold t* <= level * R_ub / m. Pass 2 keeps (and, with ``screen``, draws nulls
    for) only pairs whose bound is <= that: O(discoveries) survivors instead of O(pairs).
    """
    if collect.level is None:
        return run(collect)
    first = run(Collect(bound_only=True))
    m = first.seen
    level = collect.level / (harmonic(m) if correction == "by" else 1.0)
    r_ub = bh_rejections_bound(first.hist if first.hist is not None else np.zeros(0), m, level)
    keep = level * max(r_ub, 1) / max(m, 1)
    res = run(Collect(keep_p=keep, screen=collect.screen))
    res.flops += first.flops
    res.keep_p = keep
    return res


def collect_for(opts: DiscoveryOptions, total_pairs: int, *, include_all: bool) -> Collect:
    """What the tiles send back: everything, or survivors + histogram (``screen``: nulls for survivors only)."""
    bounded = opts.correction in ("bh", "by") and opts.tail == "auto"
    if opts.screen:
        if not bounded:
            raise OptionError(
                "--screen needs correction bh or by with tail=auto "
                f"(got correction={opts.correction}, tail={opts.tail})",
                hint="maxT needs every pair's null draws and tail=none has no p-value bound; run without --screen",
            )
        return Collect(screen=True, level=opts.fdr)
    if bounded and not include_all and total_pairs > execute.COMPACT_PAIRS:
        return Collect(level=opts.fdr)
    return Collect()


def cost_model(
    *, n_series: int, n_steps: int, lags: int, draws: int, survivors: float, fft_flops_per_point: float = 40.0
) -> dict[str, float]:
    """Flops of all-pairs exact testing vs the lossless two-stage plan (see docs/scale.md).

    ``survivors``: the fraction of pairs whose p-value bound is <= FDR (measured: about 2-5 % of null pairs
    plus the real signals). Stage 2 for circular shifts is one length-n float64 FFT product per pair
    (``fft_flops_per_point * n * log2 n``, a conservative constant) plus the draws x lags maxima.
    """
    pairs = n_series * (n_series - 1) / 2
    views = min(draws * lags, n_steps)
    exact = 2.0 * pairs * n_steps * (views + 2 * lags)
    stage1 = 2.0 * pairs * n_steps * lags
    per_pair = fft_flops_per_point * n_steps * math.log2(max(2, n_steps)) + 2.0 * n_steps * lags + draws * lags
    # the tiles fall back to the block GEMM when more than 30 % of a block survives (kernel.compute_block)
    stage2 = survivors * pairs * per_pair if survivors <= 0.3 else exact
    return {
        "pairs": pairs,
        "exact_flops": exact,
        "screen_flops": stage1,
        "survivor_flops": stage2,
        "speedup": exact / (stage1 + stage2),
    }


__all__ = ["collect_for", "cost_model", "harmonic", "run_collected", "step_up"]
