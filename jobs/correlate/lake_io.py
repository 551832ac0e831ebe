"""Lakehouse side: read gold series, persist findings + run provenance, compare with the previous run."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from jobs.correlate.discover import DiscoveryResult, discover
from jobs.correlate.errors import FindingNotFoundError, NotEnoughDataError
from jobs.correlate.options import DiscoveryOptions

log = logging.getLogger(__name__)

FREQ_ORDER = {"D": 0, "W": 1, "M": 2, "Q": 3}
STRENGTH_DELTA = 0.05
RUNS, FINDINGS = "gold.correlation_runs", "gold.correlation_findings"


def finding_id(a: str, b: str, *, test: str = "correlation") -> str:
    """Stable id of an unordered pair and test kind (the same in every run; correlation ids predate events)."""
    lo, hi = sorted((a, b))
    tail = "" if test == "correlation" else f"\x1f{test}"
    return hashlib.sha256(f"{lo}\x1f{hi}{tail}".encode()).hexdigest()[:16]


def _version(lake: Any, name: str) -> int | None:
    return lake.table(name).version() if lake.exists(name) else None


def load_gold_series(
    lake: Any, *, series: list[str] | str | None = None, freq: str | None = None
) -> tuple[pd.DataFrame, dict[str, str], str | None, list[dict[str, Any]]]:
    """(long frame, aggregation per series, frequency, inputs with Delta versions) from the gold tables."""
    for name in ("gold.series_values", "gold.series_catalog"):
        if not lake.exists(name):
            raise NotEnoughDataError(
                f"{name} has no data yet", hint="run `covary demo` or a job that writes gold series first"
            )
    inputs = [{"table": t, "version": _version(lake, t)} for t in ("gold.series_values", "gold.series_catalog")]
    catalog = lake.read("gold.series_catalog", columns=["series_id", "frequency", "aggregation"]).to_pandas()
    if isinstance(series, str):
        catalog = catalog[catalog["series_id"].str.startswith(series)]
    elif series:
        catalog = catalog[catalog["series_id"].isin(series)]
    ids = sorted(catalog["series_id"].unique())
    if len(ids) < 2:
        raise NotEnoughDataError(f"{len(ids)} catalogued series match {series!r}", hint="check gold.series_catalog")
    values = lake.read("gold.series_values", columns=["series_id", "ts", "value"]).to_pandas()
    values = values[values["series_id"].isin(ids)]
    aggregation = dict(zip(catalog["series_id"], catalog["aggregation"], strict=False))
    if freq is None:
        freqs = [f for f in catalog["frequency"].unique() if f in FREQ_ORDER]
        freq = max(freqs, key=FREQ_ORDER.__getitem__) if freqs else None
    return values, aggregation, freq, inputs


def load_catalog_meta(lake: Any, *, series: list[str] | str | None = None) -> dict[str, Any]:
    """``{series_id: SeriesMeta}`` from gold.series_catalog (lineage columns optional: older lakes lack them)."""
    from jobs.correlate.plan import SeriesMeta

    catalog = lake.read("gold.series_catalog").to_pandas()
    if isinstance(series, str):
        catalog = catalog[catalog["series_id"].str.startswith(series)]
    elif series:
        catalog = catalog[catalog["series_id"].isin(series)]
    out = {}
    for row in catalog.to_dict(orient="records"):
        derived = row.get("derived_from")
        derived = tuple(str(x) for x in derived) if derived is not None and len(derived) else ()
        out[str(row["series_id"])] = SeriesMeta(
            series_id=str(row["series_id"]),
            freq=str(row["frequency"]),
            aggregation=str(row.get("aggregation") or "mean"),
            source=row.get("source"),
            domain=row.get("domain"),
            derived_from=derived,
        )
    return out


def run_on_lake(
    lake: Any,
    *,
    series: list[str] | str | None = None,
    freq: str | None = None,
    options: DiscoveryOptions | None = None,
    write: bool = True,
    include_all: bool = False,
    events: bool = True,
    **overrides: Any,
) -> tuple[DiscoveryResult, dict[str, Any]]:
    """Discover over gold series and persist the run.

    Each pair is aligned at the coarser of its two catalogue frequencies (``freq`` forces one), roll-ups
    and derivations are never paired with their sources, relations that hold by construction are
    listed apart, event tests join the correlation tests in one BH family (see :mod:`.plan`).
    """
    from jobs.correlate.plan import discover_lake

    started = datetime.now(UTC)
    values, _aggregation, _freq, inputs = load_gold_series(lake, series=series, freq=freq)
    meta = load_catalog_meta(lake, series=series)
    opts = (options or DiscoveryOptions()).with_(**overrides) if overrides else (options or DiscoveryOptions())
    scope = "lake:gold.series_values" + (f"[{series}]" if series else "")
    _, prev = _previous(lake, scope)
    previous = set(prev["finding_id"]) if not prev.empty else set()
    result = discover_lake(
        values,
        {k: v for k, v in meta.items() if k in set(values["series_id"].unique())},
        options=opts,
        freq=freq,
        events=events,
        previous=previous,
        include_all=include_all,
    )
    result.sources = inputs
    run = persist(lake, result, inputs=inputs, scope=scope, started_at=started) if write else {}
    return result, run


def discover_file(
    lake: Any | None,
    path: str,
    *,
    time_col: str = "ts",
    series_col: str | None = None,
    value_col: str | None = None,
    freq: str | None = None,
    options: DiscoveryOptions | None = None,
    write: bool = True,
    include_all: bool = False,
    **overrides: Any,
) -> tuple[DiscoveryResult, dict[str, Any]]:
    """Discover over a CSV/Parquet/Delta file; persist with the file (and Delta version) as provenance."""
    from jobs.correlate.align import read_table_file, to_panel
    from jobs.correlate.options import default_max_lag

    started = datetime.now(UTC)
    frame, source = read_table_file(path)
    panel = to_panel(frame, time_col=time_col, series_col=series_col, value_col=value_col, freq=freq)
    opts = (options or DiscoveryOptions()).with_(**overrides) if overrides else (options or DiscoveryOptions())
    if opts.max_lag is None:  # by frequency: 28 daily steps, 8 weekly, 3 otherwise
        opts = opts.with_(max_lag=default_max_lag(panel.freq, panel.n_steps, opts.min_overlap))
    result = discover(panel, options=opts, include_all=include_all)
    result.sources = [source]
    run = (
        persist(lake, result, inputs=[source], scope=f"file:{source['table']}", started_at=started)
        if (write and lake is not None)
        else {}
    )
    return result, run


def _previous(lake: Any, scope: str) -> tuple[str | None, pd.DataFrame]:
    if not lake.exists(RUNS):
        return None, pd.DataFrame()
    runs = lake.read(RUNS, columns=["run_id", "scope", "finished_at"]).to_pandas()
    runs = runs[runs["scope"] == scope]
    if runs.empty:
        return None, pd.DataFrame()
    prev = str(runs.sort_values("finished_at").iloc[-1]["run_id"])
    found = _findings_where(lake, "run_id", prev)
    found = found[found["significant"]] if not found.empty else found
    return prev, found


def _findings_where(lake: Any, column: str, value: str) -> pd.DataFrame:
    """Findings rows with ``column == value`` (filtered after reading: string_view columns defeat pushdown)."""
    if not lake.exists(FINDINGS):
        return pd.DataFrame()
    rows = lake.read(FINDINGS).to_pandas()
    return rows[rows[column] == value].reset_index(drop=True)


def classify(r_now: float, q_now: float, r_before: float, q_before: float) -> str:
    """strengthened / weakened / unchanged for a pair significant in both runs."""
    d = abs(r_now) - abs(r_before)
    ratio = (q_now + 1e-300) / (q_before + 1e-300)
    if d >= STRENGTH_DELTA or ratio <= 0.1:
        return "strengthened"
    if d <= -STRENGTH_DELTA or ratio >= 10:
        return "weakened"
    return "unchanged"


def persist(
    lake: Any, result: DiscoveryResult, *, inputs: list[dict[str, Any]], scope: str, started_at: datetime
) -> dict[str, Any]:
    """Write significant findings (+ vanished ones) and the run row in one load; return the run record."""
    from lakehouse import BatchKey

    params = result.options.to_dict()
    digest = hashlib.sha256(json.dumps([scope, params, inputs], sort_keys=True, default=str).encode()).hexdigest()[:8]
    run_id = f"{started_at:%Y%m%dT%H%M%S%f}-{digest}"
    prev_id, prev = _previous(lake, scope)
    before = {row.finding_id: row for row in prev.itertuples(index=False)} if not prev.empty else {}
    rows: list[dict[str, Any]] = []
    counts = {"baseline": 0, "new": 0, "strengthened": 0, "weakened": 0, "unchanged": 0, "vanished": 0}
    seen = set()
    for f in result.significant:
        fid = finding_id(f.a, f.b, test=f.test)
        seen.add(fid)
        old = before.get(fid)
        if prev_id is None:  # a first run sets the baseline: nothing is "new" yet
            change = "baseline"
        else:
            change = "new" if old is None else classify(f.r, f.q, float(old.r), float(old.q))
        counts[change] += 1
        rows.append(_row(run_id, fid, f.to_dict(), change, old))
    for f in result.construction:
        fid = finding_id(f.a, f.b)
        if fid not in seen:
            seen.add(fid)
            rows.append(_row(run_id, fid, f.to_dict(), "construction", None))
    if before:
        tests = result.pairs["test"] if "test" in result.pairs else ["correlation"] * len(result.pairs)
        pairs = result.pairs.assign(
            fid=[finding_id(a, b, test=t) for a, b, t in zip(result.pairs["a"], result.pairs["b"], tests, strict=True)]
        ).drop_duplicates("fid")
        by_id = pairs.set_index("fid")
        for fid, old in before.items():
            if fid in seen:
                continue
            counts["vanished"] += 1
            now = by_id.loc[fid].to_dict() if fid in by_id.index else {"a": old.a, "b": old.b, "lag": old.lag}
            now.update(
                significant=False,
                warnings=["vanished: no longer significant"],
                caveat=old.caveat,
                method=result.options.method,
                null=result.null_label,
                correction=result.options.correction,
            )
            rows.append(_row(run_id, fid, now, "vanished", old))
    finished = datetime.now(UTC)
    run_row = {
        "run_id": run_id,
        "scope": scope,
        "started_at": started_at,
        "finished_at": finished,
        "inputs": json.dumps(inputs, default=str),
        "parameters": json.dumps(params, default=str),
        "seed": int(result.options.seed),
        "series": result.n_series,
        "steps": result.n_steps,
        "pairs": len(result.pairs),
        "tested": result.tested,
        "draws": result.draws,
        "significant": len(result.significant),
        "compared_to": prev_id,
        "new": counts["new"],
        "strengthened": counts["strengthened"],
        "weakened": counts["weakened"],
        "vanished": counts["vanished"],
        "wall_s": (finished - started_at).total_seconds(),
    }
    with lake.load("correlate", load_id=f"correlate-{run_id}") as load:
        if rows:
            load.write(FINDINGS, rows, batch=BatchKey(f"correlate/{run_id}/findings"))
        load.write(RUNS, [run_row], batch=BatchKey(f"correlate/{run_id}/run"))
    try:
        from covary import metrics

        for state in ("new", "strengthened", "weakened", "vanished"):
            metrics.set_gauge("covary_findings", float(counts[state]), state=state)
        metrics.set_gauge("covary_findings", float(len(result.significant)), state="significant")
    except ImportError:  # pragma: no cover
        pass
    return run_row | {"comparison": counts}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _row(run_id: str, fid: str, d: dict[str, Any], change: str, old: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "finding_id": fid,
        "a": str(d["a"]),
        "b": str(d["b"]),
        "lag": int(d.get("lag", 0)),
        "r": _num(d.get("r")),
        "r_raw": _num(d.get("r_raw")),
        "ci_low": _num(d.get("ci_low")),
        "ci_high": _num(d.get("ci_high")),
        "n": int(d["n"]) if d.get("n") is not None else None,
        "n_eff": _num(d.get("n_eff")),
        "p": _num(d.get("p")),
        "q": _num(d.get("q")),
        "significant": bool(d.get("significant", False)),
        "method": d.get("method"),
        "null": d.get("null"),
        "correction": d.get("correction"),
        "warnings": list(d.get("warnings") or []),
        "partial_r_calendar": _num(d.get("partial_r_calendar")),
        "third_series": d.get("third_series"),
        "partial_r_third": _num(d.get("partial_r_third")),
        "granger_p_ab": _num(d.get("granger_p_ab")),
        "granger_p_ba": _num(d.get("granger_p_ba")),
        "precedence": d.get("precedence"),
        "caveat": d.get("caveat"),
        "change": change,
        "r_previous": _num(old.r) if old is not None else None,
        "q_previous": _num(old.q) if old is not None else None,
        "test": d.get("test") or "correlation",
        "relation": d.get("relation") or "discovery",
        "frequency": d.get("frequency"),
        "cross_domain": None if d.get("cross_domain") is None else bool(d.get("cross_domain")),
        "rank": int(d["rank"]) if d.get("rank") is not None else None,
    }


# ------------------------------------------------------------------------------------ reading back
def list_runs(lake: Any, *, limit: int = 20) -> list[dict[str, Any]]:
    if not lake.exists(RUNS):
        return []
    runs = lake.read(RUNS).to_pandas().sort_values("finished_at", ascending=False).head(limit)
    return runs.to_dict(orient="records")


def list_findings(lake: Any, *, run_id: str | None = None, include_vanished: bool = True) -> list[dict[str, Any]]:
    """Findings of ``run_id`` (default: the latest run), best q first."""
    runs = list_runs(lake, limit=1) if run_id is None else [{"run_id": run_id}]
    if not runs:
        raise FindingNotFoundError("no correlation runs yet", hint="run `covary correlate` first")
    rid = runs[0]["run_id"]
    rows = _findings_where(lake, "run_id", rid)
    if rows.empty:
        return []
    if not include_vanished:
        rows = rows[rows["change"] != "vanished"]
    order = ["significant", "rank", "q"] if "rank" in rows else ["significant", "q"]
    rows = rows.sort_values(order, ascending=[False] + [True] * (len(order) - 1), na_position="last")
    return [_plain(r) for r in rows.to_dict(orient="records")]


def show_finding(lake: Any, key: str, *, run_id: str | None = None) -> dict[str, Any]:
    """One finding by finding_id or ``a~b`` (latest run unless ``run_id``), with its history across runs."""
    if not lake.exists(FINDINGS):
        raise FindingNotFoundError("no findings yet", hint="run `covary correlate` first")
    fid = finding_id(*key.split("~", 1)) if "~" in key else key
    rows = _findings_where(lake, "finding_id", fid)
    if rows.empty:
        raise FindingNotFoundError(f"no finding {key!r}", hint="see `covary findings list` for ids")
    runs = {r["run_id"]: r for r in list_runs(lake, limit=10_000)}
    rows["finished_at"] = rows["run_id"].map(lambda r: runs.get(r, {}).get("finished_at"))
    rows = rows.sort_values("finished_at")
    current = rows[rows["run_id"] == run_id] if run_id else rows.tail(1)
    if current.empty:
        raise FindingNotFoundError(f"finding {key!r} not in run {run_id}")
    out = _plain(current.iloc[0].to_dict())
    out["history"] = [
        {"run_id": r["run_id"], "r": _num(r["r"]), "q": _num(r["q"]), "lag": int(r["lag"]), "change": r["change"]}
        for r in rows.to_dict(orient="records")
    ]
    run = runs.get(out["run_id"], {})
    out["provenance"] = {
        "inputs": json.loads(run.get("inputs", "[]")),
        "parameters": json.loads(run.get("parameters", "{}")),
        "seed": run.get("seed"),
    }
    return out


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, value in row.items():
        v = value.tolist() if isinstance(value, np.ndarray) else value
        v = v.item() if isinstance(v, np.generic) else v
        out[k] = None if isinstance(v, float) and not np.isfinite(v) else v
    return out


def job_main(config: dict[str, Any]) -> dict[str, Any]:
    """``covary job run correlate``: config keys ``input``/``time_col``/... or lake defaults + options."""
    from covary.settings import get_settings
    from lakehouse import Lakehouse

    config = dict(config)
    settings = get_settings()
    settings.ensure_home()
    lake = Lakehouse.from_settings(settings)
    io_keys = {
        k: config.pop(k)
        for k in ("input", "time_col", "series_col", "value_col", "freq", "series", "write")
        if k in config
    }
    options = DiscoveryOptions.from_dict(config.pop("options", config))
    started = time.perf_counter()
    if io_keys.get("input"):
        result, run = discover_file(
            lake,
            io_keys["input"],
            time_col=io_keys.get("time_col", "ts"),
            series_col=io_keys.get("series_col"),
            value_col=io_keys.get("value_col"),
            freq=io_keys.get("freq"),
            options=options,
            write=io_keys.get("write", True),
        )
    else:
        result, run = run_on_lake(
            lake,
            series=io_keys.get("series"),
            freq=io_keys.get("freq"),
            options=options,
            write=io_keys.get("write", True),
        )
    return {
        "run_id": run.get("run_id"),
        "tested": result.tested,
        "pairs": len(result.pairs),
        "significant": len(result.significant),
        "comparison": run.get("comparison"),
        "panels": result.levels,
        "related_by_construction": len(result.construction),
        "lineage_exclusions": len(result.excluded),
        "wall_s": round(time.perf_counter() - started, 2),
        "top": [
            {
                "rank": f.rank,
                "test": f.test,
                "a": f.a,
                "b": f.b,
                "lag": f.lag,
                "r": round(f.r, 3),
                "q": f.q,
                "cross_domain": f.cross_domain,
                "warnings": f.warnings,
            }
            for f in result.significant[:10]
        ],
    }


__all__ = [
    "classify",
    "discover_file",
    "finding_id",
    "job_main",
    "list_findings",
    "list_runs",
    "load_gold_series",
    "persist",
    "run_on_lake",
    "show_finding",
]
