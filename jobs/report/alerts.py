"""Correlation-change alerts: new, strengthened, weakened and vanished pairs vs the previous discovery run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from covary import metrics
from lakehouse import Lakehouse, get_spec

ALERTS = "gold.correlation_alerts"


def _r(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.2f}"


def alert_message(f: dict[str, Any]) -> str:
    a, b, change = f["a"], f["b"], f["change"]
    if change == "new":
        return f"New correlation: {a} ~ {b} (r {_r(f.get('r'))}, q {f.get('q') or 0:.2g}, lag {f.get('lag', 0)})."
    if change == "vanished":
        return f"Vanished: {a} ~ {b} is no longer significant (was r {_r(f.get('r_previous'))})."
    return (
        f"{change.capitalize()}: {a} ~ {b} r {_r(f.get('r_previous'))} -> {_r(f.get('r'))} (q {f.get('q') or 0:.2g})."
    )


def build_alerts(changes: list[dict[str, Any]], *, report_id: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "alert_id": f"{f['run_id']}:{f['finding_id']}",
            "run_id": f["run_id"],
            "finding_id": f["finding_id"],
            "a": f["a"],
            "b": f["b"],
            "change": f["change"],
            "r": None if f["change"] == "vanished" else f.get("r"),
            "r_previous": f.get("r_previous"),
            "q": None if f["change"] == "vanished" else f.get("q"),
            "message": alert_message(f),
            "report_id": report_id,
            "raised_at": now,
        }
        for f in changes
    ]


def raise_alerts(lake: Lakehouse, alerts: list[dict[str, Any]]) -> int:
    """Write the alerts (idempotent per run and pair) and count the ones not raised before in ``covary_alerts``."""
    if not alerts:
        return 0
    known: set[str] = set()
    if lake.exists(ALERTS):
        known = set(lake.read(ALERTS, columns=["alert_id"]).column("alert_id").to_pylist())
    fresh = [a for a in alerts if a["alert_id"] not in known]
    if fresh:
        with lake.load("report.alerts") as load:
            load.write(ALERTS, pa.Table.from_pylist(fresh, schema=_schema()))
        metrics.inc("covary_alerts", float(len(fresh)), kind="correlation")
    return len(fresh)


def _schema() -> pa.Schema:
    from lakehouse import LOAD_ID

    return pa.schema([f for f in get_spec(ALERTS).schema if f.name != LOAD_ID])


__all__ = ["ALERTS", "alert_message", "build_alerts", "raise_alerts"]
