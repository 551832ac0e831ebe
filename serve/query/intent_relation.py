"""'How does X relate to Y': correlation findings and the lagged cross-correlation of named series."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serve.query.errors import CannotAnswerError
from serve.query.intent_answers import CrossCorrelation, FindingOut, LagCorrelation, RelationAnswer
from serve.query.intent_common import (
    CAUSATION,
    FINDINGS,
    MAX_LAG,
    PRODUCER,
    RUNS,
    _catalog,
    _need,
    _num,
    _rows,
    _series_or_refuse,
    fmt,
)
from serve.query.plan import QueryPlan, q
from serve.query.semantic import SERIES_VALUES

if TYPE_CHECKING:
    from serve.query.service import QueryService


# ------------------------------------------------------------------------------------- relation
def _series_frame(service: QueryService, ids: list[str]) -> Any:
    import pandas as pd

    rows = _rows(
        service, f"SELECT series_id, ts, value FROM {SERIES_VALUES} WHERE series_id IN ({', '.join(q(i) for i in ids)})"
    )
    return pd.DataFrame(rows, columns=["series_id", "ts", "value"])


def cross_correlation(frame: Any, x: str, y: str, meta: dict[str, dict[str, Any]]) -> CrossCorrelation:
    """Lagged cross-correlation of ``x`` and ``y`` with jobs.correlate: the adjusted r at every lag, and the
    best-lag test (p under the shift null, n_eff, warnings, Granger precedence) for this one pair."""
    import numpy as np

    from jobs.correlate import discover
    from jobs.correlate.align import to_panel
    from jobs.correlate.discover import prepare
    from jobs.correlate.kernel import lagged_correlations
    from jobs.correlate.lake_io import FREQ_ORDER
    from jobs.correlate.options import DiscoveryOptions

    freqs = [str(meta[s].get("frequency")) for s in (x, y) if meta.get(s, {}).get("frequency") in FREQ_ORDER]
    freq = max(freqs, key=FREQ_ORDER.__getitem__) if freqs else None
    aggregation = {s: str(meta.get(s, {}).get("aggregation") or "mean") for s in (x, y)}
    n_obs = int(frame.groupby("series_id").size().min()) if len(frame) else 0
    max_lag = max(1, min(MAX_LAG.get(freq or "", 7), max(1, (n_obs - 30) // 2)))
    options = DiscoveryOptions(
        max_lag=max_lag, seed=0, execution="local", refine_draws=0, min_overlap=min(30, max(8, n_obs // 2))
    )
    try:
        result = discover(
            frame,
            time_col="ts",
            series_col="series_id",
            value_col="value",
            freq=freq,
            aggregation=aggregation,
            options=options,
            include_all=True,
        )
        panel = to_panel(
            frame, time_col="ts", series_col="series_id", value_col="value", freq=freq, aggregation=aggregation
        )
        prep, _ = prepare(panel, options)
    except Exception as exc:  # NotEnoughDataError, InputShapeError ... from jobs.correlate
        from covary.errors import CovaryError

        if not isinstance(exc, CovaryError):
            raise
        raise CannotAnswerError(f"cannot correlate {x} and {y}: {exc}", hint=getattr(exc, "hint", None)) from exc
    ix, iy = panel.names.index(x), panel.names.index(y)
    r, n = lagged_correlations(
        prep.x[:, [ix]], prep.x[:, [iy]], prep.lags, dtype=np.float64, min_overlap=options.min_overlap
    )
    lags = [
        LagCorrelation(lag=int(lag), r=None if np.isnan(r[i, 0, 0]) else float(r[i, 0, 0]), n=int(n[i, 0, 0]))
        for i, lag in enumerate(prep.lags)
    ]
    f = result.findings[0]
    flip = f.a != x  # findings are ordered (a, b): turn the lag so that positive means x leads y
    return CrossCorrelation(
        x=x,
        y=y,
        freq=result.freq,
        adjustments=list(result.adjust_steps),
        lags=lags,
        best_lag=-f.lag if flip else f.lag,
        r=_num(f.r),
        r_raw=_num(f.r_raw),
        n=int(f.n),
        n_eff=_num(f.n_eff),
        p=_num(f.p),
        null=result.null_label,
        warnings=list(f.warnings or []),
        precedence=f.precedence,
    )


def _relation(plan: QueryPlan, service: QueryService) -> RelationAnswer:
    layer = service.layer()
    if not plan.measure:
        raise CannotAnswerError("which series? a relation question needs at least one", hint="GET /v1/series")
    x = _series_or_refuse(service, plan.measure, layer, plan.table, "correlation")
    y = _series_or_refuse(service, plan.other_measures[0], layer, None, "correlation") if plan.other_measures else None
    if y == x:
        raise CannotAnswerError(f"{x} is the same series twice", hint="name two different series")
    notes: list[str] = []
    findings: list[FindingOut] = []
    run_id = None
    present = set(service.snapshots.present_tables)
    if FINDINGS in present:
        latest = ""
        if RUNS in present:
            latest = f" AND run_id = (SELECT run_id FROM {RUNS} ORDER BY finished_at DESC LIMIT 1)"
        if y:
            cond = f"((a = {q(x)} AND b = {q(y)}) OR (a = {q(y)} AND b = {q(x)}))"
        else:
            cond = f"(a = {q(x)} OR b = {q(x)}) AND significant"
        rows = _rows(
            service, f"SELECT * FROM {FINDINGS} WHERE {cond}{latest} ORDER BY q NULLS LAST, ABS(r) DESC LIMIT 10"
        )
        findings = [_finding(r) for r in rows]
        if findings:
            run_id = findings[0].run_id
    else:
        notes.append(f"{FINDINGS} has no data yet: run `{PRODUCER[FINDINGS]}` for tested findings")
    cc = None
    if y:
        catalog = {str(r["series_id"]): r for r in _catalog(service)}
        _need(service, SERIES_VALUES)
        cc = cross_correlation(_series_frame(service, [x, y]), x, y, catalog)
    if not findings and cc is None and FINDINGS not in present:
        raise CannotAnswerError(
            f"no correlation findings yet, so nothing is known to move with {x}",
            hint=f"run `{PRODUCER[FINDINGS]}`, or name a second series to correlate with",
        )
    text = _relation_sentence(x, y, findings, cc)
    return RelationAnswer(x=x, y=y, run_id=run_id, findings=findings, cross_correlation=cc, answer=text, notes=notes)


def _finding(r: dict[str, Any]) -> FindingOut:
    data = {k: r.get(k) for k in FindingOut.model_fields}
    data["warnings"] = [str(w) for w in (r.get("warnings") or []) if w]
    data["lag"] = int(r.get("lag") or 0)
    data["significant"] = bool(r.get("significant"))
    for k in ("r", "r_raw", "ci_low", "ci_high", "n_eff", "p", "q", "partial_r_third", "granger_p_ab", "granger_p_ba"):
        data[k] = _num(data.get(k))
    return FindingOut(**data)


def _lead_text(a: str, b: str, lag: int) -> str:
    if lag > 0:
        return f"{a} leads {b} by {lag} step(s)"
    if lag < 0:
        return f"{b} leads {a} by {-lag} step(s)"
    return "neither leads (same period)"


def _relation_sentence(x: str, y: str | None, findings: list[FindingOut], cc: CrossCorrelation | None) -> str:
    parts = []
    if y:
        f = next((f for f in findings if {f.a, f.b} == {x, y}), None)
        if f is not None and f.significant:
            parts.append(
                f"Tested finding {f.finding_id}: {f.a} and {f.b} correlate with r = {fmt(f.r)} at lag {f.lag} "
                f"({_lead_text(f.a, f.b, f.lag)}), q = {fmt(f.q)}, n = {fmt(f.n)}, effective n = {fmt(f.n_eff)}."
            )
        elif f is not None:
            parts.append(f"The latest discovery run tested {x} and {y}: not significant (q = {fmt(f.q)}).")
        else:
            parts.append(f"No tested finding links {x} and {y} in the latest discovery run.")
        if cc is not None:
            sig = "significant" if cc.p is not None and cc.p <= 0.05 else "not significant"
            parts.append(
                f"Their lagged cross-correlation (adjusted: {', '.join(cc.adjustments) or 'none'}) peaks at lag "
                f"{cc.best_lag} ({_lead_text(x, y, cc.best_lag)}) with r = {fmt(cc.r)}, n = {cc.n}, effective n = "
                f"{fmt(cc.n_eff)}, single-pair p = {fmt(cc.p)} ({sig} on its own; not corrected for other pairs)."
            )
    elif not findings:
        parts.append(
            f"No significant finding involves {x} in the latest discovery run: nothing is known to move with it."
        )
    else:
        items = [
            f"{f.b if f.a == x else f.a} (r = {fmt(f.r)}, lag {f.lag}: {_lead_text(f.a, f.b, f.lag)}, q = {fmt(f.q)})"
            for f in findings[:5]
        ]
        parts.append(f"{len(findings)} significant finding(s) involve {x}: " + "; ".join(items) + ".")
    return " ".join(parts) + " " + CAUSATION
