"""Run DQ checks over lake tables (whole table and per load), store them in gold.dq_results, raise alerts."""

from __future__ import annotations

import html
import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from covary import metrics
from jobs.dq import checks, rules
from jobs.dq.errors import NoDQResultsError
from lakehouse import LOAD_ID, BatchKey, Lakehouse, all_specs, get_spec

RESULTS = "gold.dq_results"
SKIP = {RESULTS, "ops.loads"}


def _read(lake: Lakehouse, name: str, version: int | None = None) -> pa.Table:
    """Rows of finished loads (load ids filtered here; see jobs.reconcile.pipeline.read_finished)."""
    spec = get_spec(name)
    table = lake.read(name, version=version, include_unfinished=True, include_system=True)
    if spec.track_loads and LOAD_ID in table.column_names:
        finished = pa.array(sorted(lake.loads.finished_ids()), pa.string())
        table = table.filter(pc.is_in(table[LOAD_ID].cast(pa.string()), value_set=finished))
    return table


def check_table(lake: Lakehouse, name: str, *, loads: int = 3, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every check of one table at its latest version, plus per-load checks of its last ``loads`` loads."""
    spec = get_spec(name)
    now = now or datetime.now(UTC)
    version = lake.table(name).version()
    full = _read(lake, name)
    data = full.drop_columns([LOAD_ID]) if LOAD_ID in full.column_names else full
    nullable = {c.name: c.nullable for c in spec.columns}
    results = [(("table"), r) for r in checks.profile_checks(data, keys=spec.keys, nullable=nullable, now=now)]
    results += [("table", r) for r in checks.rule_checks(data, rules.rules_for(name), now=now)]
    if version > 0:
        try:
            previous = _read(lake, name, version=version - 1)
            previous = previous.drop_columns([LOAD_ID]) if LOAD_ID in previous.column_names else previous
            results += [("table", r) for r in checks.drift_checks(previous, data, skip=set(spec.keys))]
        except Exception as exc:  # an unreadable old version (vacuumed) only skips drift
            results.append(
                ("table", checks.CheckResult("drift_psi", None, None, "warn", f"previous version unreadable: {exc}"))
            )
    if spec.track_loads and LOAD_ID in full.column_names and full.num_rows:
        ids = [k for k, _ in Counter(full[LOAD_ID].cast(pa.string()).to_pylist()).most_common()]
        order = {r["load_id"]: r["started_at"] for r in lake.loads.list()}
        for load_id in sorted(ids, key=lambda k: order.get(k) or now, reverse=True)[:loads]:
            part = data.filter(pc.equal(full[LOAD_ID].cast(pa.string()), load_id))
            for r in checks.profile_checks(part, keys=spec.keys, nullable=nullable, now=now):
                if r.check in ("row_count", "null_rate", "key_uniqueness", "type_violations"):
                    results.append((f"load:{load_id}", r))
    return [{"table_name": name, "table_version": version, "scope": scope, **r.row()} for scope, r in results]


def run(lake: Lakehouse, tables: list[str] | None = None, *, store: bool = True, loads: int = 3) -> dict[str, Any]:
    """Check ``tables`` (default: every table with data), store results, count failures as alerts."""
    now = datetime.now(UTC)
    run_id = f"dq-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    names = tables or [s.name for s in all_specs() if s.name not in SKIP and lake.exists(s.name)]
    if not names:
        raise NoDQResultsError("no table has data yet", hint="run `covary demo` or load a source first")
    rows: list[dict[str, Any]] = []
    for name in names:
        rows.extend(check_table(lake, name, loads=loads, now=now))
    for row in rows:
        row["run_id"], row["checked_at"] = run_id, now
    failures = [r for r in rows if r["status"] == "fail"]
    for _r in failures:
        metrics.inc("covary_alerts", 1.0, kind="dq")
    if store and rows:
        with lake.load("dq", load_id=run_id) as load:
            load.write(RESULTS, rows, batch=BatchKey(f"dq/{run_id}"))
    return {"run_id": run_id, "checked_at": now, "tables": names, "results": rows, "summary": summarise(rows)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_table: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = by_table.setdefault(r["table_name"], {"pass": 0, "warn": 0, "fail": 0})
        counts[r["status"]] += 1
    return {
        "checks": len(rows),
        "fail": sum(c["fail"] for c in by_table.values()),
        "warn": sum(c["warn"] for c in by_table.values()),
        "tables": by_table,
        "alerts": [
            f"{r['table_name']} [{r['scope']}] {r['check']}({r['column_name'] or '-'}): {r['detail']}"
            for r in rows
            if r["status"] == "fail"
        ],
    }


def latest_alerts(lake: Lakehouse) -> list[dict[str, Any]]:
    """Failing checks of the most recent DQ run (for reports and dashboards)."""
    if not lake.exists(RESULTS):
        return []
    table = _read(lake, RESULTS)
    if not table.num_rows:
        return []
    last = pc.max(table["checked_at"])
    recent = table.filter(pc.and_(pc.equal(table["checked_at"], last), pc.equal(table["status"], "fail")))
    return recent.drop_columns([c for c in (LOAD_ID,) if c in recent.column_names]).to_pylist()


def render_html(report: dict[str, Any], path: Path) -> Path:
    """A standalone HTML page of a DQ run (status-coloured table per table)."""
    colour = {"pass": "#e6f4ea", "warn": "#fff4ce", "fail": "#fde7e9"}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>covary data quality</title>",
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px;border-bottom:1px solid #ddd;"
        "text-align:left}table{border-collapse:collapse;margin-bottom:2em}</style></head><body>",
        f"<h1>Data quality — {html.escape(report['run_id'])}</h1>",
        f"<p>{report['summary']['checks']} checks, {report['summary']['fail']} failing, "
        f"{report['summary']['warn']} warnings.</p>",
    ]
    for table in report["tables"]:
        parts.append(
            f"<h2>{html.escape(table)}</h2><table><tr><th>scope</th><th>check</th><th>column</th>"
            "<th>value</th><th>status</th><th>detail</th></tr>"
        )
        for r in (x for x in report["results"] if x["table_name"] == table):
            value = "" if r["value"] is None else f"{r['value']:.4g}"
            parts.append(
                f"<tr style='background:{colour[r['status']]}'><td>{html.escape(r['scope'])}</td>"
                f"<td>{r['check']}</td><td>{html.escape(r['column_name'] or '')}</td><td>{value}</td>"
                f"<td>{r['status']}</td><td>{html.escape(r['detail'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))
    return path


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, default=str, indent=2)


__all__ = ["check_table", "latest_alerts", "render_html", "run", "summarise", "to_json"]
