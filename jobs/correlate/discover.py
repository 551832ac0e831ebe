"""The Python API: ``discover(data, ...) -> DiscoveryResult`` — align, adjust, test every pair at every lag, correct."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jobs.correlate import diagnostics, execute, multitest, nulls, screen
from jobs.correlate.align import Panel, to_panel
from jobs.correlate.errors import NotEnoughDataError
from jobs.correlate.kernel import (
    P_HIST_EDGES,
    SPEARMAN_VAR,
    Prepared,
    null_maxima_pairs,
    standard_score,
    summarise_null,
)
from jobs.correlate.options import CAUSATION_CAVEAT, LIBRARY_MAX_LAG, DiscoveryOptions
from jobs.correlate.pvalues import combine
from jobs.correlate.transform import adjust, effective_acf, ranks, standardise

log = logging.getLogger(__name__)


@dataclass
class Finding:
    """One tested pair at its best lag. ``lag > 0`` means ``a`` leads ``b`` by ``lag`` steps."""

    a: str
    b: str
    lag: int
    r: float
    r_raw: float
    ci_low: float
    ci_high: float
    n: int
    n_eff: float
    p: float
    q: float
    significant: bool
    method: str
    null: str
    correction: str
    p_source: str
    warnings: list[str] = field(default_factory=list)
    partial_r_calendar: float | None = None
    third_series: str | None = None
    partial_r_third: float | None = None
    granger_p_ab: float | None = None
    granger_p_ba: float | None = None
    precedence: str | None = None
    caveat: str = CAUSATION_CAVEAT
    test: str = "correlation"
    """``correlation`` (lagged Pearson/Spearman) or ``event`` (co-occurring peaks/troughs, :mod:`.events`)."""
    relation: str = "discovery"
    """``discovery`` or ``construction`` (holds by construction: identity, component of a total, same quantity)."""
    frequency: str | None = None
    cross_domain: bool | None = None
    rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k, v in out.items():
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
        return out


@dataclass
class DiscoveryResult:
    """All tested pairs (arrays) plus rich findings for the significant ones (or all, on request)."""

    findings: list[Finding]
    pairs: pd.DataFrame
    tested: int
    n_series: int
    n_steps: int
    options: DiscoveryOptions
    draws: int
    adjust_steps: list[str]
    dropped: dict[str, str]
    timings: dict[str, float]
    null_label: str
    freq: str | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    flops: float = 0.0
    pairs_scope: str = "all"
    """``all``, or ``p_bound<=q``: ``pairs`` holds only pairs that could be significant (large runs, --screen)."""
    p_bound_histogram: dict[str, list[float]] | None = None
    """Counts of every tested pair's p-value lower bound by log10 bin (edges), from the tiles."""
    construction: list[Finding] = field(default_factory=list)
    """Pairs related by construction (lake runs): listed apart, never counted as discoveries."""
    excluded: list[dict[str, Any]] = field(default_factory=list)
    """Pairs never tested because one series is derived from the other (lineage, roll-ups)."""
    levels: list[dict[str, Any]] = field(default_factory=list)
    """Lake runs: one entry per (frequency, time window) panel that was tested."""
    context: Any = field(default=None, repr=False, compare=False)
    """Internal: what :func:`findings_for` needs to diagnose rows of this result later (not serialised)."""

    @property
    def significant(self) -> list[Finding]:
        return [f for f in self.findings if f.significant]

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` document: ``{"tested": ..., "findings": [...]}`` plus run facts."""
        return {
            "tested": self.tested,
            "pairs": len(self.pairs),
            "series": self.n_series,
            "steps": self.n_steps,
            "significant": len(self.significant),
            "method": self.options.method,
            "null": self.null_label,
            "correction": self.options.correction,
            "fdr": self.options.fdr,
            "draws": self.draws,
            "adjustments": self.adjust_steps,
            "dropped": self.dropped,
            "seed": self.options.seed,
            "findings": [f.to_dict() for f in self.findings],
            "construction": [f.to_dict() for f in self.construction],
            "excluded": self.excluded,
            "levels": self.levels,
        }


def _prepare_panel(panel: Panel, options: DiscoveryOptions) -> tuple[Panel, dict[str, str]]:
    dropped: dict[str, str] = {}
    keep = []
    for i, name in enumerate(panel.names):
        col = panel.values[:, i]
        obs = int((~np.isnan(col)).sum())
        if obs < options.min_overlap:
            dropped[name] = f"only {obs} observations (< min_overlap {options.min_overlap})"
        elif np.nanstd(col) == 0:
            dropped[name] = "constant"
        else:
            keep.append(i)
    if len(keep) < 2:
        raise NotEnoughDataError(
            f"{len(keep)} usable series after alignment (need 2); dropped: {dropped}",
            hint="lower --min-overlap, choose a coarser --freq or add series",
        )
    return (
        Panel(
            [panel.names[i] for i in keep],
            panel.index,
            panel.values[:, keep],
            panel.freq,
            panel.aggregation,
            panel.sources,
        ),
        dropped,
    )


def prepare(panel: Panel, options: DiscoveryOptions) -> tuple[Prepared, dict[str, Any]]:
    """Adjust, rank (Spearman) and standardise the panel; compute autocorrelations for n_eff."""
    adjusted = adjust(panel.values, panel.index, panel.freq, options.adjust)
    primary, secondary = adjusted.values, panel.values
    if options.significance_on == "raw":
        primary, secondary = panel.values, adjusted.values
    if options.method == "spearman":
        primary, secondary = ranks(primary), ranks(secondary)
    dtype = options.dtype
    z, mask = standardise(primary, dtype)
    n = z.shape[0]
    max_lag = LIBRARY_MAX_LAG if options.max_lag is None else options.max_lag
    lags = np.arange(-max_lag, max_lag + 1)
    if n - max_lag < options.min_overlap:
        raise NotEnoughDataError(
            f"{n} aligned steps leave fewer than min_overlap={options.min_overlap} at lag {max_lag}",
            hint="lower --max-lag or --min-overlap",
        )
    fitted = 1 + int(options.adjust.detrend == "linear" and options.significance_on == "adjusted")
    acf = effective_acf(z, fitted=fitted)
    prep = Prepared(
        x=primary,
        z=z,
        mask=mask,
        xraw=secondary,
        acf=acf,
        complete=np.asarray(mask.all(axis=0)),
        lags=lags,
        min_overlap=options.min_overlap,
        var_factor=SPEARMAN_VAR if options.method == "spearman" else 1.0,
        iid_tail=options.null == "iid",
        backend=options.backend,
        device=options.device,
    )
    unranked = adjusted.values if options.significance_on == "adjusted" else panel.values
    extra = {
        "adjusted": adjusted,
        "unranked": unranked,
        "primary_index": adjusted.index if options.significance_on == "adjusted" else panel.index,
    }
    return prep, extra


def _norm_pairs(prep: Prepared, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if prep.complete[a].all() and prep.complete[b].all():
        return np.full(a.size, float(prep.z.shape[0]))
    return np.maximum((prep.mask[:, a] & prep.mask[:, b]).sum(axis=0).astype(float), 1.0)


def _choose_execution(options: DiscoveryOptions, n_blocks: int) -> str:
    if options.execution != "auto":
        return options.execution
    try:
        import ray

        return "ray" if ray.is_initialized() and n_blocks > 1 else "local"
    except ImportError:  # pragma: no cover - ray is a dependency
        return "local"


def discover(
    data: Any,
    *,
    options: DiscoveryOptions | None = None,
    time_col: str = "ts",
    series_col: str | None = None,
    value_col: str | None = None,
    freq: str | None = None,
    aggregation: str | Mapping[str, str] | None = None,
    include_all: bool = False,
    tiles: int | None = None,
    **overrides: Any,
) -> DiscoveryResult:
    """Test every pair of series at lags -K..K and return findings with honest p/q-values.

    ``data``: DataFrame (long or wide), mapping of name -> pandas Series, or a :class:`Panel`.
    ``overrides`` are :class:`DiscoveryOptions` fields (``max_lag=14, null="block"``).
    ``include_all`` returns a Finding for every tested pair (diagnostics only for the top ones).
    ``tiles`` forces blocks per Ray task (tests use it to show tiling cannot change results).
    """
    opts = (options or DiscoveryOptions()).with_(**overrides) if overrides else (options or DiscoveryOptions())
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    panel = to_panel(
        data, time_col=time_col, series_col=series_col, value_col=value_col, freq=freq, aggregation=aggregation
    )
    panel, dropped = _prepare_panel(panel, opts)
    if opts.max_lag is None:  # the Python API's fixed default; lake runs and the CLI choose by frequency
        opts = opts.with_(max_lag=LIBRARY_MAX_LAG)
    max_lag: int = LIBRARY_MAX_LAG if opts.max_lag is None else opts.max_lag
    prep, extra = prepare(panel, opts)
    n, n_series = prep.z.shape
    timings["prepare_s"] = time.perf_counter() - t0
    block_length = opts.block_length
    if opts.null == "block" and block_length is None:
        block_length = nulls.auto_block_length(prep.acf, n)
    total_pairs = n_series * (n_series - 1) // 2
    est_pairs = max(1, total_pairs)  # screening keeps the exhaustive run's draws: same p-values for survivors
    draws = opts.null_draws or nulls.choose_draws(
        kind=opts.null, pairs=est_pairs, n=n, max_lag=max_lag, flop_budget=opts.flop_budget
    )
    plan = nulls.make_plan(opts.null, n=n, max_lag=max_lag, draws=draws, seed=opts.seed, block_length=block_length)
    t1 = time.perf_counter()
    collect = screen.collect_for(opts, total_pairs, include_all=include_all)
    blocks = execute.block_pairs(n_series, opts.block_size)
    mode = _choose_execution(opts, len(blocks))
    run = execute.run_ray if mode == "ray" else execute.run_local
    extra_args: dict[str, Any] = {"per_task": tiles, "refs": execute.put_refs(prep, plan)} if mode == "ray" else {}
    res = screen.run_collected(
        lambda c: run(prep, plan, blocks, opts.block_size, progress=opts.progress, collect=c, **extra_args),
        collect,
        correction=opts.correction,
    )
    timings["null_pairs"] = float(res.nulls)
    timings["tasks"] = float(res.tasks)
    timings["kernel_s"] = time.perf_counter() - t1
    tail_n = res.n.astype(float) if prep.iid_tail else res.n_eff
    draws_arr = np.full(res.a.size, plan.draws, dtype=np.float64)
    pv = combine(
        stat=np.abs(res.r),
        n_eff=tail_n,
        exceed=res.exceed,
        sumlog=res.sumlog,
        draws=draws_arr,
        var_factor=prep.var_factor,
        n_lags=prep.lags.size,
        min_exceedances=opts.min_exceedances,
        tail=opts.tail,
    )
    family = res.seen if res.keep_p is not None else res.a.size  # BH family: every testable pair
    t2 = time.perf_counter()
    exceed, sumlog = res.exceed.copy(), res.sumlog.copy()
    if opts.refine_draws and res.a.size:
        cand = _refine_candidates(pv.p, exceed, opts, family)
        if cand.size:
            rplan = nulls.make_plan(
                opts.null,
                n=n,
                max_lag=max_lag,
                draws=opts.refine_draws,
                seed=opts.seed,
                stream=1,
                block_length=block_length,
            )
            ca, cb = res.a[cand], res.b[cand]
            maxima = null_maxima_pairs(prep.z, ca, cb, rplan, _norm_pairs(prep, ca, cb))
            e2, s2, _ = summarise_null(maxima, np.abs(res.r[cand]), tail_n[cand], prep.var_factor)
            exceed[cand] += e2
            sumlog[cand] += s2
            draws_arr[cand] += rplan.draws
            pv = combine(
                stat=np.abs(res.r),
                n_eff=tail_n,
                exceed=exceed,
                sumlog=sumlog,
                draws=draws_arr,
                var_factor=prep.var_factor,
                n_lags=prep.lags.size,
                min_exceedances=opts.min_exceedances,
                tail=opts.tail,
            )
        timings["refined_pairs"] = float(cand.size)
    timings["refine_s"] = time.perf_counter() - t2
    if opts.correction == "maxt":
        scores = standard_score(np.abs(res.r), tail_n, prep.var_factor)
        q = multitest.maxt(scores, res.umax)
    else:
        q = screen.step_up(pv.p, family, opts.correction)  # the family's unlisted pairs count as p = 1
    significant = q <= opts.fdr
    names = panel.names
    ci_half = 1.959963984540054 * np.sqrt(prep.var_factor / np.maximum(res.n_eff - 3.0, 1.0))
    z_r = np.arctanh(np.clip(res.r, -1 + 1e-12, 1 - 1e-12))
    pairs = pd.DataFrame(
        {
            "a": np.asarray(names, dtype=object)[res.a],
            "b": np.asarray(names, dtype=object)[res.b],
            "lag": res.lag.astype(int),
            "r": res.r,
            "r_raw": res.r_raw,
            "ci_low": np.tanh(z_r - ci_half),
            "ci_high": np.tanh(z_r + ci_half),
            "n": res.n.astype(int),
            "n_eff": res.n_eff,
            "p": pv.p,
            "q": q,
            "significant": significant,
            "p_source": pv.source,
            "m_eff": pv.m_eff,
            "draws": draws_arr.astype(int),
            "ia": res.a,
            "ib": res.b,
        }
    )
    t3 = time.perf_counter()
    findings = _findings(pairs, panel, prep, extra, opts, include_all, plan)
    timings["diagnostics_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0
    return DiscoveryResult(
        findings=findings,
        pairs=pairs.drop(columns=["ia", "ib"]),
        tested=int(family * prep.lags.size),
        n_series=n_series,
        n_steps=n,
        options=opts,
        draws=plan.draws,
        adjust_steps=extra["adjusted"].steps,
        dropped=dropped,
        timings={k: round(v, 4) for k, v in timings.items()},
        null_label=nulls.NULL_LABELS[opts.null] + (f", block length {block_length}" if opts.null == "block" else ""),
        freq=panel.freq,
        sources=list(panel.sources),
        flops=res.flops,
        pairs_scope="all" if res.keep_p is None else f"p_bound<={res.keep_p:.3g}",
        p_bound_histogram=None
        if res.hist is None
        else {"log10_edges": P_HIST_EDGES.tolist(), "counts": res.hist.astype(float).tolist()},
        context={"pairs": pairs, "panel": panel, "prep": prep, "extra": extra, "plan": plan},
    )


def findings_for(result: DiscoveryResult, rows: pd.DataFrame) -> list[Finding]:
    """Findings (with diagnostics) for ``rows`` of ``result.context['pairs']`` whose q/significance the caller
    set (lake runs correct several panels and the event tests in one family)."""
    ctx = result.context
    if ctx is None or rows.empty:
        return []
    return _findings(rows, ctx["panel"], ctx["prep"], ctx["extra"], result.options, True, ctx["plan"], keep_order=True)


def _refine_candidates(p: np.ndarray, exceed: np.ndarray, opts: DiscoveryOptions, family: int) -> np.ndarray:
    """Pairs whose p sits within a factor 20 of the likely BH threshold and is not settled by counts."""
    m = max(1, family)
    sorted_p = np.sort(p)
    k = np.arange(1, sorted_p.size + 1)
    passing = np.nonzero(sorted_p <= k * opts.fdr / m)[0]
    threshold = opts.fdr * (passing[-1] + 1) / m if passing.size else opts.fdr / m
    band = (p >= threshold / 20) & (p <= min(1.0, threshold * 20))
    return np.nonzero(band & (exceed < opts.min_exceedances))[0]


def _findings(
    pairs: pd.DataFrame,
    panel: Panel,
    prep: Prepared,
    extra: dict[str, Any],
    opts: DiscoveryOptions,
    include_all: bool,
    plan: nulls.NullPlan,
    *,
    keep_order: bool = False,
) -> list[Finding]:
    chosen = pairs if include_all else pairs[pairs["significant"]]
    if not keep_order:
        chosen = chosen.sort_values(["q", "p"], key=None).copy()
        chosen["_abs"] = -chosen["r"].abs()
        chosen = chosen.sort_values(["q", "p", "_abs"], kind="mergesort")
    adjusted = extra["adjusted"].values
    ctx = diagnostics.Context(
        names=panel.names,
        raw=panel.values,
        raw_index=panel.index,
        adjusted=adjusted,
        z=standardise(adjusted, "float64")[0],
        freq=panel.freq,
        method=opts.method,
    )
    null_name = nulls.NULL_LABELS[opts.null]
    out: list[Finding] = []
    for rank, row in enumerate(chosen.itertuples(index=False)):
        a, b, lag = int(row.ia), int(row.ib), int(row.lag)
        r = float(row.r)
        exact = diagnostics.exact_r(extra["unranked"][:, a], extra["unranked"][:, b], lag, opts.method)
        if np.isfinite(exact):
            if abs(exact - r) > 1e-3:
                log.warning("kernel r %.6f vs float64 r %.6f for %s~%s", r, exact, panel.names[a], panel.names[b])
            r = exact  # float64, exactly as scipy.stats.pearsonr/spearmanr compute it on the lag window
        finding = Finding(
            a=row.a,
            b=row.b,
            lag=lag,
            r=r,
            r_raw=float(row.r_raw),
            ci_low=float(row.ci_low),
            ci_high=float(row.ci_high),
            n=int(row.n),
            n_eff=float(row.n_eff),
            p=float(row.p),
            q=float(row.q),
            significant=bool(row.significant),
            method=opts.method,
            null=null_name,
            correction=opts.correction,
            p_source=str(row.p_source),
        )
        if rank < opts.diagnose_limit:
            diag = diagnostics.diagnose(ctx, a, b, lag, r=r, r_raw=finding.r_raw, n=finding.n, n_eff=finding.n_eff)
            finding.warnings = diag["warnings"]
            finding.partial_r_calendar = diag["partial_r_calendar"]
            finding.third_series = diag["third_series"]
            finding.partial_r_third = diag["partial_r_third"]
            finding.granger_p_ab = diag["granger_p_ab"]
            finding.granger_p_ba = diag["granger_p_ba"]
            finding.precedence = diag["precedence"]
        if finding.p_source == "fitted tail" and finding.significant:
            finding.warnings.append(f"p beyond the {int(row.draws)} null draws: from the n_eff-anchored fitted tail")
        if opts.null == "iid":
            finding.warnings.append("iid permutation null is anti-conservative for autocorrelated series")
        out.append(finding)
    return out


__all__ = ["DiscoveryResult", "Finding", "discover", "findings_for", "prepare"]
