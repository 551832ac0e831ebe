"""Lake-wide discovery: each pair at the coarser of its own two frequencies, lineage and construction kept apart,
event tests beside the correlation tests, one Benjamini-Hochberg family over all of them, ranked for people."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jobs.correlate import diagnostics, multitest
from jobs.correlate.align import FREQ_RULES, Panel, to_panel
from jobs.correlate.discover import DiscoveryResult, Finding, discover, findings_for
from jobs.correlate.errors import NotEnoughDataError
from jobs.correlate.events import detect_tiers, event_tests, wilson_interval
from jobs.correlate.options import DEFAULT_LAGS, DiscoveryOptions, default_max_lag

log = logging.getLogger(__name__)

FREQ_ORDER = {"D": 0, "W": 1, "M": 2, "Q": 3}
SAME_QUANTITY_R = 0.995
"""Pairs at lag 0 with |r| and |raw r| at least this are the same quantity (another source or a copy)."""
IDENTITY_R2 = 0.999
"""T ~ a*A + b*B + c with R^2 at least this (and both terms needed) is an accounting identity / component of a total."""
EVENT_NULL = "circular shift of event trains (keeps each train's clustering)"


@dataclass(frozen=True)
class SeriesMeta:
    series_id: str
    freq: str
    aggregation: str = "mean"
    source: str | None = None
    domain: str | None = None
    derived_from: tuple[str, ...] = ()

    @property
    def system(self) -> str:
        """What 'same system' means for ranking: the domain, else the source, else the id's first part."""
        return self.domain or self.source or self.series_id.split(".", 1)[0]


@dataclass
class LakePlan:
    """What will be tested: series kept, roll-ups skipped, pairs excluded by lineage."""

    meta: dict[str, SeriesMeta]
    kept: list[str]
    rollups: dict[str, str] = field(default_factory=dict)
    excluded: dict[frozenset[str], str] = field(default_factory=dict)


def _rule(freq: str) -> str:
    return FREQ_RULES[freq]


def _resample(series: pd.Series, freq: str, agg: str) -> pd.Series:
    r = series.resample(_rule(freq), label="left", closed="left")
    return r.sum(min_count=1) if agg == "sum" else r.last() if agg == "last" else r.mean()


def infer_rollups(native: dict[str, pd.Series], meta: dict[str, SeriesMeta]) -> dict[str, str]:
    """``{coarse id: finer id}`` for series that equal a finer series resampled with its own aggregation.

    Declared ``derived_from`` parents count first; otherwise the data decide (same source and aggregation,
    every common period equal to 1e-6 relative). Lakes written before lineage was recorded are covered.
    """
    out: dict[str, str] = {}
    for sid, m in meta.items():
        for parent in m.derived_from:
            pm = meta.get(parent)
            if pm is not None and FREQ_ORDER.get(pm.freq, 9) < FREQ_ORDER.get(m.freq, 9):
                out[sid] = parent
    cache: dict[tuple[str, str], pd.Series] = {}
    for sid, m in meta.items():
        if sid in out or m.freq not in FREQ_ORDER or FREQ_ORDER[m.freq] == 0 or sid not in native:
            continue
        target = native[sid].dropna()
        if len(target) < 3:
            continue
        for fid, fm in meta.items():
            if (
                fid == sid
                or fid not in native
                or fm.source != m.source
                or fm.aggregation != m.aggregation
                or FREQ_ORDER.get(fm.freq, 9) >= FREQ_ORDER[m.freq]
            ):
                continue
            key = (fid, m.freq)
            if key not in cache:
                cache[key] = _resample(native[fid].dropna(), m.freq, fm.aggregation).dropna()
            rolled = cache[key]
            common = target.index.intersection(rolled.index)
            if len(common) < max(3, int(0.8 * len(target))):
                continue
            a, b = target.loc[common].to_numpy(), rolled.loc[common].to_numpy()
            if np.all(np.abs(a - b) <= 1e-6 * (1.0 + np.abs(a))):
                out[sid] = fid
                break
    return out


def lineage_exclusions(meta: dict[str, SeriesMeta]) -> dict[frozenset[str], str]:
    """Pairs never tested: a series and anything it is (transitively) derived from."""
    parents = {sid: set(m.derived_from) for sid, m in meta.items()}
    out: dict[frozenset[str], str] = {}
    for sid in meta:
        seen: set[str] = set()
        stack = list(parents.get(sid, ()))
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            stack.extend(parents.get(p, ()))
        for p in seen:
            if p in meta and p != sid:
                out[frozenset((sid, p))] = f"{sid} is derived from {p} (gold.series_catalog.derived_from)"
    return out


def make_plan(native: dict[str, pd.Series], meta: dict[str, SeriesMeta]) -> LakePlan:
    rollups = infer_rollups(native, meta)
    kept = sorted(s for s in meta if s not in rollups and s in native and meta[s].freq in FREQ_ORDER)
    return LakePlan(meta=meta, kept=kept, rollups=rollups, excluded=lineage_exclusions(meta))


def _components(names: list[str], edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(len(names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    touched: set[int] = set()
    for i, j in edges:
        touched |= {i, j}
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in sorted(touched):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) >= 2]


def identities(panel: Panel, pairs: set[frozenset[str]]) -> dict[frozenset[str], str]:
    """Accounting identities among a panel's raw series: T ~ a*A + b*B + c with R^2 >= IDENTITY_R2.

    Both terms must matter (each alone explains clearly less), so a copy is not read as a sum. Computed
    on the steps where every series is observed; with fewer than 30 such steps nothing is claimed.
    """
    x = panel.values
    rows = ~np.isnan(x).any(axis=1)
    if rows.sum() < 30 or x.shape[1] < 3:
        return {}
    xc = x[rows] - x[rows].mean(axis=0)
    sd = np.sqrt((xc**2).sum(axis=0))
    ok = sd > 0
    z = np.divide(xc, sd, out=np.zeros_like(xc), where=ok)
    g = z.T @ z  # correlation matrix
    names = panel.names
    k = len(names)
    out: dict[frozenset[str], str] = {}
    jj, kk = np.triu_indices(k, 1)
    for t in range(k):
        if not ok[t]:
            continue
        sel = (jj != t) & (kk != t) & ok[jj] & ok[kk]
        j, m = jj[sel], kk[sel]
        gjj, gmm, gjm = g[j, j], g[m, m], g[j, m]
        gtj, gtm = g[t, j], g[t, m]
        det = gjj * gmm - gjm**2
        good = det > 1e-9
        with np.errstate(invalid="ignore", divide="ignore"):
            b1 = (gtj * gmm - gtm * gjm) / det
            b2 = (gtm * gjj - gtj * gjm) / det
            r2 = b1 * gtj + b2 * gtm
        single = np.maximum(gtj**2, gtm**2)
        hit = good & (r2 >= IDENTITY_R2) & (single <= r2 - 1e-4)
        for idx in np.nonzero(hit)[0]:
            a_name, b_name, t_name = names[j[idx]], names[m[idx]], names[t]
            s1 = b1[idx] * sd[t] / sd[j[idx]]
            s2 = b2[idx] * sd[t] / sd[m[idx]]
            # the total is the series the other two add up to with positive weights; the two components of
            # a total are not related by construction with each other
            if s1 > 0 and s2 > 0:
                total, parts = t_name, (a_name, b_name)
                text = f"component of a total: {t_name} = {s1:.3g} x {a_name} + {s2:.3g} x {b_name} + c"
            elif s1 > 0 > s2:
                total, parts = a_name, (t_name, b_name)
                text = f"component of a total: {a_name} = {1 / s1:.3g} x {t_name} + {-s2 / s1:.3g} x {b_name} + c"
            elif s2 > 0 > s1:
                total, parts = b_name, (t_name, a_name)
                text = f"component of a total: {b_name} = {1 / s2:.3g} x {t_name} + {-s1 / s2:.3g} x {a_name} + c"
            else:
                continue
            text += f" (R² {r2[idx]:.4f})"
            for other in parts:
                key = frozenset((total, other))
                if key in pairs and key not in out:
                    out[key] = text
    return out


def common_mode_steps(events: np.ndarray, *, share: float = 0.2, observed: np.ndarray | None = None) -> np.ndarray:
    """Steps where many series have an event at once (holidays, outages, panel-wide shocks).

    Such dates are a shared calendar, not a relation between two series; a step counts as common-mode when
    at least ``max(3, share * series)`` of the series observed on it (every series without ``observed``) have
    an event on it, and at least 5 are observed.
    """
    present = np.full(events.shape[0], events.shape[1]) if observed is None else observed.sum(axis=1)
    hits = (events != 0).sum(axis=1)
    return np.asarray((present >= 5) & (hits >= np.maximum(3, np.ceil(share * present))))


def common_mode_removed(events: np.ndarray, *, share: float = 0.2, observed: np.ndarray | None = None) -> np.ndarray:
    """``events`` with the :func:`common_mode_steps` cleared."""
    out = events.copy()
    out[common_mode_steps(events, share=share, observed=observed)] = 0
    return out


def _long_to_native(values: pd.DataFrame, meta: dict[str, SeriesMeta]) -> dict[str, pd.Series]:
    frame = values.copy()
    frame["ts"] = pd.to_datetime(frame["ts"])
    out = {}
    for sid, group in frame.groupby("series_id", sort=True):
        s = group.set_index("ts")["value"].astype(float).sort_index()
        if s.index.has_duplicates:
            s = (
                s.groupby(level=0).sum(min_count=1)
                if meta[str(sid)].aggregation == "sum"
                else s.groupby(level=0).mean()
            )
        out[str(sid)] = s
    return out


def _rank_key(f: Finding, novel: set[str]) -> tuple[Any, ...]:
    from jobs.correlate.lake_io import finding_id

    fid = finding_id(f.a, f.b, test=f.test)
    strength = _strength(f)
    return (not f.cross_domain, -round(strength, 1), fid not in novel, -strength, f.q)


def _strength(f: Finding) -> float:
    """The conservative strength: the end of the 95 % interval nearest zero (|r| for correlations, the matched
    share of events for event findings), so a strong-looking r from a few points does not outrank solid ones."""
    lo, hi = f.ci_low, f.ci_high
    if np.isfinite(lo) and np.isfinite(hi):
        return 0.0 if lo <= 0 <= hi else float(min(abs(lo), abs(hi)))
    return abs(f.r) if np.isfinite(f.r) else 0.0


def discover_lake(
    values: pd.DataFrame,
    meta: dict[str, SeriesMeta],
    *,
    options: DiscoveryOptions | None = None,
    freq: str | None = None,
    events: bool = True,
    previous: set[str] | None = None,
    include_all: bool = False,
) -> DiscoveryResult:
    """Discover over long ``values`` (series_id, ts, value) described by ``meta``.

    Without ``freq`` every pair is aligned at the coarser of its two catalogue frequencies; with ``freq``
    everything is resampled to it. ``previous``: finding ids significant in the previous run (novelty
    ranks new findings first among equally strong ones).
    """
    opts = options or DiscoveryOptions()
    started = time.perf_counter()
    native = _long_to_native(values, meta)
    plan = make_plan(native, meta)
    if freq is not None:
        meta = {
            k: SeriesMeta(m.series_id, freq, m.aggregation, m.source, m.domain, m.derived_from) for k, m in meta.items()
        }
    excluded = [
        {"series": c, "reason": f"roll-up of {p}; tested at {meta[p].freq} through {p}"}
        for c, p in sorted(plan.rollups.items())
    ]
    excluded += [
        {"a": sorted(k)[0], "b": sorted(k)[1], "reason": why}
        for k, why in sorted(plan.excluded.items(), key=lambda kv: sorted(kv[0]))
        if all(s in plan.kept for s in k)
    ]
    levels_present = sorted({meta[s].freq for s in plan.kept}, key=FREQ_ORDER.__getitem__)
    corr_rows: list[pd.DataFrame] = []
    event_rows: list[pd.DataFrame] = []
    construction: list[Finding] = []
    results: list[DiscoveryResult] = []
    levels: list[dict[str, Any]] = []
    dropped: dict[str, str] = {}
    for level in levels_present:
        order = FREQ_ORDER[level]
        members = [s for s in plan.kept if FREQ_ORDER[meta[s].freq] <= order]
        if len(members) < 2:
            continue
        long = values[values["series_id"].isin(members)]
        try:
            panel = to_panel(
                long,
                time_col="ts",
                series_col="series_id",
                value_col="value",
                freq=level,
                aggregation={s: meta[s].aggregation for s in members},
            )
        except NotEnoughDataError:
            continue
        lag_default = opts.max_lag if opts.max_lag is not None else DEFAULT_LAGS.get(level, 3)
        mask = ~np.isnan(panel.values)
        overlap = mask.T.astype(np.int64) @ mask.astype(np.int64)
        names = panel.names
        eligible: set[frozenset[str]] = set()
        edges = []
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                a, b = names[i], names[j]
                if max(FREQ_ORDER[meta[a].freq], FREQ_ORDER[meta[b].freq]) != order:
                    continue
                if frozenset((a, b)) in plan.excluded:
                    continue
                if overlap[i, j] < opts.min_overlap + min(lag_default, 3):
                    continue
                eligible.add(frozenset((a, b)))
                edges.append((i, j))
        for comp in _components(names, edges):
            cols = comp
            sub = panel.values[:, cols]
            rows = np.nonzero(~np.isnan(sub).all(axis=1))[0]
            window = slice(int(rows.min()), int(rows.max()) + 1)
            cpanel = Panel(
                [names[c] for c in cols],
                panel.index[window],
                sub[window],
                level,
                {names[c]: meta[names[c]].aggregation for c in cols},
            )
            lag = opts.max_lag if opts.max_lag is not None else default_max_lag(level, cpanel.n_steps, opts.min_overlap)
            copts = opts.with_(max_lag=lag, diagnose_limit=0)
            try:
                res = discover(cpanel, options=copts)
                if getattr(res, "pairs_scope", "all") != "all":  # large panels keep only candidates: need every p
                    res = discover(cpanel, options=copts, include_all=True)
            except NotEnoughDataError as exc:
                log.info("skipping %s panel of %d series: %s", level, len(cols), exc)
                continue
            dropped.update(res.dropped)
            ctx_pairs = res.context["pairs"].copy()
            key = [frozenset(p) for p in zip(ctx_pairs["a"], ctx_pairs["b"], strict=True)]
            ctx_pairs = ctx_pairs[[k in eligible for k in key]].copy()
            if ctx_pairs.empty:
                continue
            tested_panel = res.context["panel"]
            ident = identities(tested_panel, {frozenset(p) for p in zip(ctx_pairs["a"], ctx_pairs["b"], strict=True)})
            relation, reason = [], []
            for row in ctx_pairs.itertuples(index=False):
                k = frozenset((row.a, row.b))
                same = int(row.lag) == 0 and min(abs(row.r), abs(row.r_raw)) >= SAME_QUANTITY_R
                if k in ident:
                    relation.append("construction")
                    reason.append(ident[k])
                elif same:
                    relation.append("construction")
                    reason.append(f"same quantity: r = {row.r:+.4f} (raw {row.r_raw:+.4f}) at lag 0")
                else:
                    relation.append("discovery")
                    reason.append("")
            ctx_pairs["relation"] = relation
            ctx_pairs["reason"] = reason
            ctx_pairs["result"] = len(results)
            ctx_pairs["frequency"] = level
            corr_rows.append(ctx_pairs)
            results.append(res)
            level_info = {
                "frequency": level,
                "series": len(tested_panel.names),
                "steps": tested_panel.n_steps,
                "start": str(tested_panel.index[0].date()),
                "end": str(tested_panel.index[-1].date()),
                "max_lag": lag,
                "pairs": len(ctx_pairs),
                "draws": res.draws,
            }
            if events:
                seen = ~np.isnan(tested_panel.values)
                salient, extreme = detect_tiers(tested_panel.values, tested_panel.index, level)
                common = common_mode_steps(salient, observed=seen)
                ev, ex = np.where(common[:, None], 0, salient), np.where(common[:, None], 0, extreme)
                tpos = {n: i for i, n in enumerate(tested_panel.names)}
                disc = ctx_pairs[ctx_pairs["relation"] == "discovery"]
                ia = np.array([tpos[a] for a in disc["a"]], dtype=np.int64)
                ib = np.array([tpos[b] for b in disc["b"]], dtype=np.int64)
                et = event_tests(ev, ia, ib, max_lag=lag, observed=seen, extreme=ex)
                if not et.empty:
                    et["a"] = [tested_panel.names[i] for i in et["ia"]]
                    et["b"] = [tested_panel.names[i] for i in et["ib"]]
                    et["result"] = len(results) - 1
                    et["frequency"] = level
                    event_rows.append(et)
                level_info["event_pairs"] = len(et)
                level_info["events"] = int((ev != 0).sum())
            levels.append(level_info)
    if not corr_rows:
        raise NotEnoughDataError(
            f"no pair of the {len(plan.kept)} series overlaps in time for at least {opts.min_overlap} periods "
            "at the coarser of its two frequencies",
            hint="add series covering the same period, or lower --min-overlap",
        )
    corr = pd.concat(corr_rows, ignore_index=True)
    evt = pd.concat(event_rows, ignore_index=True) if event_rows else pd.DataFrame(columns=["p"])
    disc_mask = corr["relation"] == "discovery"
    p_all = np.concatenate([corr.loc[disc_mask, "p"].to_numpy(float), evt["p"].to_numpy(float)])
    correction = opts.correction if opts.correction in ("bh", "by") else "bh"
    q_all = multitest.adjust(p_all, correction) if p_all.size else p_all
    n_disc = int(disc_mask.sum())
    corr["q"] = np.nan
    corr.loc[disc_mask, "q"] = q_all[:n_disc]
    corr["significant"] = disc_mask & (corr["q"] <= opts.fdr)
    if not evt.empty:
        evt["q"] = q_all[n_disc:]
        evt["significant"] = evt["q"] <= opts.fdr
    # findings: correlation rows through their panel's diagnostics, event rows built here
    findings: list[Finding] = []
    chosen = corr if include_all else corr[corr["significant"]]
    chosen = chosen[chosen["relation"] == "discovery"].sort_values(["q", "p"])
    budget = opts.diagnose_limit
    for ridx, group in chosen.groupby("result", sort=False):
        res = results[int(ridx)]
        diag_rows = group.head(max(0, budget))
        rest = group.iloc[len(diag_rows) :]
        budget -= len(diag_rows)
        res.options = res.options.with_(diagnose_limit=len(diag_rows))
        made = findings_for(res, pd.concat([diag_rows, rest]))
        for f, freq_ in zip(made, pd.concat([diag_rows, rest])["frequency"], strict=True):
            f.frequency = str(freq_)
        findings += made
    if not evt.empty:
        erows = evt if include_all else evt[evt["significant"]]
        for row in erows.itertuples(index=False):
            findings.append(_event_finding(row, results[int(row.result)], opts))
    for row in corr[corr["relation"] == "construction"].itertuples(index=False):
        construction.append(
            Finding(
                a=row.a,
                b=row.b,
                lag=int(row.lag),
                r=float(row.r),
                r_raw=float(row.r_raw),
                ci_low=float(row.ci_low),
                ci_high=float(row.ci_high),
                n=int(row.n),
                n_eff=float(row.n_eff),
                p=float(row.p),
                q=float("nan"),
                significant=False,
                method=opts.method,
                null=results[int(row.result)].null_label,
                correction=correction,
                p_source=str(row.p_source),
                warnings=[f"related by construction: {row.reason}"],
                relation="construction",
                frequency=str(row.frequency),
            )
        )
    for f in [*findings, *construction]:
        f.cross_domain = meta[f.a].system != meta[f.b].system if f.a in meta and f.b in meta else None
    novel = set() if previous is None else {k for k in _all_ids(findings) if k not in previous}
    findings.sort(key=lambda f: (not f.significant, *_rank_key(f, novel)))
    for i, f in enumerate(findings):
        f.rank = i + 1 if f.significant else None
    public = corr.drop(columns=["ia", "ib", "result"], errors="ignore").assign(test="correlation")
    if not evt.empty:
        ev_public = (
            evt.drop(columns=["ia", "ib", "result"])
            .rename(columns={"score": "r"})
            .assign(test="event", relation="discovery")
        )
        public = pd.concat([public, ev_public], ignore_index=True)
    lags_tested = sum(2 * lv["max_lag"] + 1 for lv in levels)
    tested = int(
        sum(lv["pairs"] * (2 * lv["max_lag"] + 1) + lv.get("event_pairs", 0) * (2 * lv["max_lag"] + 1) for lv in levels)
    )
    first = results[0]
    names_tested = sorted(set(corr["a"]) | set(corr["b"]))
    return DiscoveryResult(
        findings=findings,
        pairs=public,
        tested=tested,
        n_series=len(names_tested),
        n_steps=max(lv["steps"] for lv in levels),
        options=opts,
        draws=max(r.draws for r in results),
        adjust_steps=first.adjust_steps,
        dropped=dropped,
        timings={"total_s": round(time.perf_counter() - started, 3), "lags_tested": float(lags_tested)},
        null_label=first.null_label + ("; events: " + EVENT_NULL if events else ""),
        freq=levels_present[0] if len(levels_present) == 1 else "pairwise (" + ", ".join(levels_present) + ")",
        construction=construction,
        excluded=excluded,
        levels=levels,
    )


def _all_ids(findings: list[Finding]) -> set[str]:
    from jobs.correlate.lake_io import finding_id

    return {finding_id(f.a, f.b, test=f.test) for f in findings}


def _event_finding(row: Any, res: DiscoveryResult, opts: DiscoveryOptions) -> Finding:
    panel = res.context["panel"]
    ia, ib = int(row.ia), int(row.ib)
    lag = int(row.lag)
    r_lin = diagnostics.exact_r(panel.values[:, ia], panel.values[:, ib], lag, "pearson")
    n = int((~np.isnan(panel.values[:, ia]) & ~np.isnan(panel.values[:, ib])).sum())
    lead = f"{row.a} leads by {lag}" if lag > 0 else f"{row.b} leads by {-lag}" if lag < 0 else "same period"
    lo, hi = wilson_interval(float(row.co_events), float(min(row.events_a, row.events_b)))
    sign = 1.0 if row.score >= 0 else -1.0
    return Finding(
        a=row.a,
        b=row.b,
        lag=lag,
        r=float(row.score),
        r_raw=float(r_lin) if np.isfinite(r_lin) else float("nan"),
        ci_low=lo if sign > 0 else -hi,
        ci_high=hi if sign > 0 else -lo,
        n=n,
        n_eff=float("nan"),
        p=float(row.p),
        q=float(row.q),
        significant=bool(row.significant),
        method="events",
        null=EVENT_NULL,
        correction=opts.correction if opts.correction in ("bh", "by") else "bh",
        p_source=str(row.p_source),
        warnings=[
            f"event test: {int(row.co_events)} {row.direction}-direction co-occurrences of "
            f"{int(row.events_a)} and {int(row.events_b)} peaks/troughs at lag {lag} ({lead}); r is the matched "
            f"share of the rarer series' events (95% CI by Wilson); linear r at that lag {r_lin:+.2f}"
        ],
        test="event",
        frequency=str(row.frequency),
    )


__all__ = [
    "FREQ_ORDER",
    "IDENTITY_R2",
    "SAME_QUANTITY_R",
    "LakePlan",
    "SeriesMeta",
    "common_mode_removed",
    "common_mode_steps",
    "discover_lake",
    "identities",
    "infer_rollups",
    "lineage_exclusions",
    "make_plan",
]
