"""The weekly insights report: HTML + Markdown with charts, correlation-change alerts, optional Notion export."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jobs.report.alerts import build_alerts, raise_alerts
from jobs.report.data import ReportData, load_report_data, series_history
from jobs.report.errors import NotionExportError, ReportError
from jobs.report.render import Report, build_sections, to_html, to_markdown, write_files
from lakehouse import Lakehouse


def make_report(lake: Lakehouse, *, as_of: date | None = None) -> tuple[Report, ReportData]:
    """Read the lakehouse and compose the report (no files written, no alerts raised).

    The report covers the week containing ``as_of``; by default that is the data's last complete week
    (dated by the data's own time, not the wall clock), and headline KPIs come from complete weeks only.
    """
    data = load_report_data(lake)
    if as_of is None:
        end = data.data_end or datetime.now(UTC).date()
        as_of = end if end.weekday() == 6 else end - timedelta(days=end.weekday() + 1)  # last complete week's Sunday
    monday = as_of - timedelta(days=as_of.weekday())
    iso = monday.isocalendar()
    suffix = data.run["run_id"][-8:] if data.run else "norun"
    report_id = f"{iso.year}-W{iso.week:02d}-{suffix}"
    alerts = build_alerts(data.changes, report_id=report_id)
    wanted = sorted(
        {s for f in data.significant[:3] for s in (f["a"], f["b"])} | set(data.forecasts) | set(data.anomalies)
    )
    history = series_history(lake, wanted)
    summary, sections = build_sections(data, history, alerts)
    report = Report(
        report_id, f"covary weekly insights, week of {monday.isoformat()}", monday, summary, sections, alerts
    )
    return report, data


def write_report(
    lake: Lakehouse,
    *,
    out_dir: Path | None = None,
    as_of: date | None = None,
    notion_database_id: str | None = None,
    notion_client: Any = None,
    alert_settings: Any = None,
) -> dict[str, Any]:
    """Write the report files, raise the alerts, deliver new ones (webhook/e-mail), record the run, export to Notion."""
    from covary.settings import get_settings

    started = time.perf_counter()
    out_dir = out_dir or get_settings().reports_dir
    report, data = make_report(lake, as_of=as_of)
    html_path, md_path = write_files(report, out_dir)
    raised = raise_alerts(lake, report.alerts)
    delivery = deliver_new(report, data, out_dir=out_dir, html_path=html_path, settings=alert_settings)
    notion: dict[str, Any] | None = None
    if notion_database_id:
        from jobs.report.notion import export_report

        client = notion_client
        if client is None:
            from connectors.notion.client import notion_client as make_client

            client = make_client()
        notion = export_report(report, out_dir / report.report_id, database_id=notion_database_id, client=client)
    row = {
        "report_id": report.report_id,
        "created_at": datetime.now(UTC),
        "period_start": report.period_start,
        "correlation_run": data.run["run_id"] if data.run else None,
        "compared_to": data.run.get("compared_to") if data.run else None,
        "html_path": str(html_path),
        "markdown_path": str(md_path),
        "alerts": len(report.alerts),
        "notion_page": notion["page_id"] if notion else None,
    }
    with lake.load("report") as load:
        load.write("gold.report_runs", [row])
    return {
        "report_id": report.report_id,
        "html": str(html_path),
        "markdown": str(md_path),
        "alerts": len(report.alerts),
        "alerts_new": raised,
        "delivery": delivery,
        "sections": [s.title for s in report.sections],
        "notion": notion,
        "seconds": round(time.perf_counter() - started, 2),
    }


def deliver_new(
    report: Report, data: ReportData, *, out_dir: Path, html_path: Path, settings: Any = None
) -> dict[str, Any]:
    """Send correlation-change alerts and the report week's anomaly alerts not delivered before.

    Delivered alert ids are remembered in ``out_dir/.delivered.json`` so a rerun sends nothing twice.
    """
    import json

    from jobs.report.deliver import deliver

    ledger = out_dir / ".delivered.json"
    sent: set[str] = set(json.loads(ledger.read_text())) if ledger.exists() else set()
    week_end = report.period_start + timedelta(days=6)
    pending = [
        {"id": f"correlation:{a['alert_id']}", "kind": "correlation", "ts": None, "message": a["message"]}
        for a in report.alerts
    ]
    pending += [
        {"id": f"anomaly:{a['alert_id']}", "kind": "anomaly", "ts": a["target_ts"], "message": a["message"]}
        for a in data.anomaly_alerts
        if report.period_start <= a["target_ts"] <= week_end
    ]
    fresh = [a for a in pending if a["id"] not in sent]
    result = deliver(fresh, title=report.title, settings=settings, link=str(html_path))
    if any(result.get(ch) == "sent" for ch in ("webhook", "email")):
        ledger.write_text(json.dumps(sorted(sent | {a["id"] for a in fresh})))
    return result


def main(config: dict[str, Any]) -> dict[str, Any]:
    """``covary job run report``: config ``as_of`` (YYYY-MM-DD), ``out_dir``, ``notion_database_id``."""
    from jobs.report.config import ReportConfig

    config = ReportConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    lake = Lakehouse.from_settings()
    as_of = date.fromisoformat(config["as_of"]) if config.get("as_of") else None
    out = Path(config["out_dir"]) if config.get("out_dir") else None
    return write_report(lake, out_dir=out, as_of=as_of, notion_database_id=config.get("notion_database_id"))


def demo_step(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    """Demo: write this week's report and print where it is."""
    result = write_report(lake)
    return {
        "lines": [
            f"report {result['report_id']}: {result['html']}",
            f"markdown: {result['markdown']}",
            f"{result['alerts']} correlation-change alerts ({result['alerts_new']} new) in gold.correlation_alerts",
            f"alert delivery: webhook {result['delivery'].get('webhook')}, e-mail {result['delivery'].get('email')}",
        ]
    }


__all__ = [
    "NotionExportError",
    "Report",
    "ReportError",
    "demo_step",
    "main",
    "make_report",
    "to_html",
    "to_markdown",
    "write_report",
]
