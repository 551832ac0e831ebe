"""Score a discovery run against planted truth (``gold.synth_truth``): lead-lag and event recall, top-10 precision.

Truth rows are read by kind, never by series name: ``lead_lag`` rows must come back as significant correlation
findings at their lag; rows that pair two lake series on a date (a burst in ``series_a`` at ``ts`` and one in
``series_b`` ``lag_days`` later, e.g. ``cascade``) must come back as significant event findings at their lag;
every row pairing two lake series (and each member of a confounded pair with its common cause) counts as
planted when it shows up in the top findings. A top finding is trivial when it pairs a series with itself at
another frequency, holds by construction, or pairs a series with something it is derived from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SUFFIXES = (".daily", ".weekly", ".monthly", ".quarterly")
PAIR_KINDS_LINEAR = ("lead_lag",)


def stem(series_id: str) -> str:
    """The series id without its frequency suffix (``x.daily`` and ``x.weekly`` are the same quantity)."""
    for suffix in SUFFIXES:
        if series_id.endswith(suffix):
            return series_id[: -len(suffix)]
    return series_id


def load_truth(lake: Any) -> list[dict[str, Any]]:
    """Rows of ``gold.synth_truth`` (none when the lake has no planted truth)."""
    if not lake.exists("gold.synth_truth"):
        return []
    return list(lake.read("gold.synth_truth").to_pylist())


def _lag_ab(f: Mapping[str, Any], a: str, b: str) -> int | None:
    """The finding's lag read as "a leads b by lag", or None when it is another pair."""
    if (f["a"], f["b"]) == (a, b):
        return int(f["lag"])
    if (f["a"], f["b"]) == (b, a):
        return -int(f["lag"])
    return None


def _found(findings: list[Mapping[str, Any]], a: str, b: str, lag: int) -> dict[str, Any]:
    lags = [x for x in (_lag_ab(f, a, b) for f in findings) if x is not None]
    return {"a": a, "b": b, "lag": lag, "found_lag": lags[0] if lags else None, "found": lag in lags}


def score(run: Mapping[str, Any], truth: Iterable[Mapping[str, Any]], *, series: Iterable[str], top: int = 10) -> dict:
    """Figures of one run (``DiscoveryResult.to_json()`` or ``covary correlate --json``) against ``truth``.

    ``series``: the lake's series ids; truth rows naming anything else (segments, releases) are not scored.
    """
    known = set(series)
    rows = [dict(t) for t in truth if t.get("series_b")]
    in_lake = [t for t in rows if t["series_a"] in known and t["series_b"] in known]
    sig = [f for f in run.get("findings", []) if f.get("significant")]
    sig.sort(key=lambda f: f.get("rank") or 10**9)
    corr = [f for f in sig if f.get("test", "correlation") == "correlation"]
    events = [f for f in sig if f.get("test") == "event"]
    lead_lag = [
        _found(corr, t["series_a"], t["series_b"], int(t["lag_days"] or 0))
        for t in in_lake
        if t["kind"] in PAIR_KINDS_LINEAR
    ]
    dated = sorted({(t["series_a"], t["series_b"], int(t["lag_days"] or 0), t["kind"]) for t in in_lake if t.get("ts")})
    event = [_found(events, a, b, lag) | {"kind": kind} for a, b, lag, kind in dated]
    planted = {frozenset((t["series_a"], t["series_b"])) for t in in_lake}
    causes = {
        frozenset((t["confounder"], m))
        for t in in_lake
        if t["kind"] == "confounded" and t.get("confounder") in known
        for m in (t["series_a"], t["series_b"])
    }
    construction = {frozenset((f["a"], f["b"])) for f in run.get("construction", [])}
    derived = {frozenset((e["a"], e["b"])) for e in run.get("excluded", []) if "a" in e and "b" in e}
    top_rows = []
    for f in sig[:top]:
        key = frozenset((f["a"], f["b"]))
        trivial = (
            "self/roll-up" if stem(f["a"]) == stem(f["b"]) else
            "construction" if key in construction else
            "derivation" if key in derived else None
        )  # fmt: skip
        top_rows.append(
            {"rank": f.get("rank"), "a": f["a"], "b": f["b"], "test": f.get("test", "correlation"), "lag": f["lag"],
             "r": round(float(f["r"]), 3), "q": f["q"], "cross_domain": bool(f.get("cross_domain")),
             "planted": key in planted, "common_cause": key in causes, "trivial": trivial}
        )  # fmt: skip
    n_top = max(1, len(top_rows))
    cross = sum(r["planted"] and r["cross_domain"] for r in top_rows)
    cross_cc = sum((r["planted"] or r["common_cause"]) and r["cross_domain"] for r in top_rows)
    return {
        "lead_lag": lead_lag,
        "recall_lead_lag_right_lag": _share(r["found"] for r in lead_lag),
        "event_coupled": event,
        "recall_event_coupled_right_lag": _share(r["found"] for r in event),
        "top": top_rows,
        "top_precision_non_trivial": round(sum(r["trivial"] is None for r in top_rows) / n_top, 3),
        "top_precision_planted": round(sum(r["planted"] or r["common_cause"] for r in top_rows) / n_top, 3),
        "top_planted_cross_domain": cross,
        "top_planted_incl_common_cause_cross_domain": cross_cc,
        "top_trivial": sum(r["trivial"] is not None for r in top_rows),
        "truth_rows_not_in_lake": len(rows) - len(in_lake),
        "acceptance": {  # issue 15, on the demo lake with defaults
            "every_lead_lag_at_its_lag": bool(lead_lag) and all(r["found"] for r in lead_lag),
            "every_event_coupled_pair_by_the_event_test": bool(event) and all(r["found"] for r in event),
            "top_ge_4_planted_cross_domain": cross >= 4,
            "top_no_self_rollup_identity": all(r["trivial"] is None for r in top_rows),
        },
    }


def _share(hits: Iterable[bool]) -> float | None:
    got = list(hits)
    return round(sum(got) / len(got), 3) if got else None


__all__ = ["load_truth", "score", "stem"]
