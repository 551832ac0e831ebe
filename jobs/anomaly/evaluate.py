"""Scoring detections against planted truth (gold.synth_truth): precision and recall with a day tolerance."""

from __future__ import annotations

from datetime import date
from typing import Any


def precision_recall(
    detected: list[dict[str, Any]],
    truth: list[dict[str, Any]],
    *,
    point_tolerance: int = 1,
    shift_tolerance: int = 3,
) -> dict[str, Any]:
    """Match detections (series_id, ts, kind) to truth rows (series_a, ts, kind anomaly/level_shift).

    A detection is a true positive if a planted event of the same series lies within the tolerance
    (a level shift may also be reported as a point anomaly on its first day).
    """
    events = [t for t in truth if t["kind"] in ("anomaly", "level_shift")]

    def hit(d: dict[str, Any], t: dict[str, Any]) -> bool:
        if d["series_id"] != t["series_a"]:
            return False
        tol = shift_tolerance if t["kind"] == "level_shift" else point_tolerance
        gap = abs((_day(d["ts"]) - _day(t["ts"])).days)
        return gap <= tol

    tp_det = [d for d in detected if any(hit(d, t) for t in events)]
    found = [t for t in events if any(hit(d, t) for d in detected)]
    fp = [d for d in detected if d not in tp_det]
    missed = [t for t in events if t not in found]
    return {
        "precision": len(tp_det) / len(detected) if detected else 0.0,
        "recall": len(found) / len(events) if events else 1.0,
        "detected": len(detected),
        "planted": len(events),
        "false_positives": [(d["series_id"], str(d["ts"]), d["kind"], round(d["score"], 1)) for d in fp],
        "missed": [(t["series_a"], str(t["ts"]), t["kind"]) for t in missed],
    }


def _day(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


__all__ = ["precision_recall"]
