"""Render a report as self-contained HTML (plotly.js inlined) and Markdown (PNG charts beside it)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from charts import figures
from jobs.report.data import CHANGES, ReportData
from jobs.report.images import render_images
from jobs.report.model import Report, Section

CAVEAT = (
    "Correlation is not causation. These findings say which series move together (after adjusting for trend "
    "and seasonality, with multiple-testing control) and which tends to move first; they do not say why. "
    "Check the listed confounders and warnings before acting."
)


def _r(v: float | None, d: int = 2) -> str:
    return "n/a" if v is None else f"{v:+.{d}f}"


def _q(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2g}"


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    def esc(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def build_sections(
    data: ReportData, history: dict[str, list[Any]], alerts: list[dict[str, Any]], *, top_pairs: int = 3
) -> tuple[list[str], list[Section]]:
    summary: list[str] = []
    sections: list[Section] = []
    run = data.run
    if data.data_end is not None:
        summary.append(f"Data through {data.data_end.isoformat()} (dated by the data, not by when the report ran).")
    if run:
        counts = {c: sum(1 for f in data.findings if f.get("change") == c) for c in CHANGES}
        summary.append(
            f"Correlation run {run['run_id']}: {run.get('significant')} significant of {run.get('tested')} pair-lags "
            f"tested over {run.get('series')} series (gold.correlation_findings v"
            f"{data.versions.get('gold.correlation_findings', '?')})."
        )
        if run.get("compared_to"):
            summary.append(
                f"Changes vs run {run.get('compared_to')}: " + ", ".join(f"{n} {c}" for c, n in counts.items())
            )
        else:
            summary.append("First correlation run: it sets the baseline, so nothing is reported as new.")
    else:
        summary.append("No correlation run yet: run `covary job run correlate` (or `covary demo`).")
    # correlation changes (alerts)
    rows = [
        [a["change"], f"{a['a']} ~ {a['b']}", _r(a.get("r")), _r(a.get("r_previous")), _q(a.get("q")), a["message"]]
        for a in alerts
    ]
    sections.append(
        Section(
            "Correlation changes since the previous run",
            md_table(["change", "pair", "r now", "r before", "q", "alert"], rows)
            if rows
            else "No new, strengthened, weakened or vanished correlations.",
        )
    )
    # significant correlations
    sig = data.significant
    if sig:
        rows = [
            [
                f.get("rank") or "",
                f"{f['a']} ~ {f['b']}",
                f.get("test") or "correlation",
                "yes" if f.get("cross_domain") else "no",
                _r(f.get("r")),
                f"[{_r(f.get('ci_low'))}, {_r(f.get('ci_high'))}]",
                _q(f.get("q")),
                f.get("lag", 0),
                f.get("third_series") or "",
                "; ".join(f.get("warnings") or []),
            ]
            for f in sig[:25]
        ]
        corr_only = [f for f in sig if (f.get("test") or "correlation") == "correlation"]
        figs = [figures.correlation_heatmap(corr_only or sig), figures.correlation_network(corr_only or sig)]
        sections.append(
            Section(
                "Significant correlations",
                md_table(
                    [
                        "rank",
                        "pair",
                        "test",
                        "cross-domain",
                        "r",
                        "95% CI",
                        "q",
                        "lag",
                        "possible confounder",
                        "warnings",
                    ],
                    rows,
                )
                + ("\n\n" + f"... and {len(sig) - 25} more." if len(sig) > 25 else ""),
                figs,
                ["heatmap.png"],
            )
        )
        cross = [f for f in sig if f.get("cross_domain")]
        shown = (cross + [f for f in sig if not f.get("cross_domain")])[:top_pairs]  # cross-domain first
        for i, f in enumerate(shown):
            a, b = f["a"], f["b"]
            ha, hb = dict(history.get(a, [])), dict(history.get(b, []))
            steps = sorted(set(ha) & set(hb))
            x = np.array([np.nan if ha[t] is None else ha[t] for t in steps], dtype=float)
            y = np.array([np.nan if hb[t] is None else hb[t] for t in steps], dtype=float)
            lags, rs = figures.cross_correlation(x, y, 8) if len(steps) > 3 else ([], [])
            text = (
                f"r = {_r(f.get('r'))} (raw {_r(f.get('r_raw'))}), q = {_q(f.get('q'))}, best lag {f.get('lag', 0)} "
                f"(positive: {a} leads). {(f.get('precedence') or '').capitalize()}."
            )
            if f.get("third_series"):
                text += f" Possible confounder: {f['third_series']} (partial r {_r(f.get('partial_r_third'))})."
            figs = [figures.series_overlay(a, list(ha), list(ha.values()), b, list(hb), list(hb.values()))]
            if lags:
                figs.append(figures.lag_plot(lags, rs, a=a, b=b, best_lag=int(f.get("lag", 0))))
            label = "Top cross-domain finding" if f.get("cross_domain") else "Pair"
            if f.get("test") == "event":
                text += " Found by the event test (co-occurring peaks/troughs): " + "; ".join(f.get("warnings") or [])
            sections.append(Section(f"{label} {i + 1}: {a} ~ {b}", text.strip(), figs, [f"pair{i + 1}.png"]))
    if data.construction:
        rows = [
            [f"{f['a']} ~ {f['b']}", _r(f.get("r")), "; ".join(f.get("warnings") or [])] for f in data.construction[:30]
        ]
        sections.append(
            Section(
                "Related by construction (not discoveries)",
                "These pairs hold by definition (identities, components of a total, the same quantity from two "
                "sources); they are listed for completeness and never alerted.\n\n"
                + md_table(["pair", "r", "why"], rows),
            )
        )
    # KPIs
    if data.kpis:
        rows = [
            [
                r["metric"],
                str(r["period_start"]),
                _num(r.get("value")),
                _num(r.get("previous_value")),
                _pct(r.get("previous_change_pct")),
                _pct(r.get("year_ago_change_pct")),
            ]
            for r in data.kpis
        ]
        sections.append(
            Section(
                "KPIs, week over week",
                md_table(["KPI", "week", "value", "previous week", "change", "vs a year ago"], rows),
                [figures.kpi_table(data.kpis, title="KPIs, latest week vs the previous week")],
            )
        )
        moves = sorted(
            (r for r in data.kpis if r.get("previous_change_pct") is not None),
            key=lambda r: -abs(r["previous_change_pct"]),
        )[:2]
        summary += [
            f"KPI {r['metric']}, week of {r['period_start']}: {_num(r.get('value'))} "
            f"({_pct(r['previous_change_pct'])} vs the previous week)."
            for r in moves
        ]
    if data.partial_kpis:
        first = data.partial_kpis[0]
        summary.append(
            f"The week of {first['period_start']} is still incomplete ({first['days']} of 7 days): "
            "its KPIs are not compared."
        )
    # anomaly alerts (cross-source)
    if data.anomaly_alerts:
        shown = data.anomaly_alerts[:15]
        rows = [
            [str(a["target_ts"]), a["source_series"], a["target_series"], a["lag_days"], a["message"]] for a in shown
        ]
        summary.append(
            f"Anomaly alerts: {len(data.anomaly_alerts)} cross-source alerts (latest {shown[0]['target_ts']})."
        )
        sections.append(
            Section(
                "Anomaly alerts",
                md_table(["day", "first anomaly in", "followed in", "lag (days)", "alert"], rows)
                + (f"\n\n... and {len(data.anomaly_alerts) - 15} more." if len(data.anomaly_alerts) > 15 else ""),
            )
        )
    # forecasts
    for sid, rows_f in data.forecasts.items():
        hist = history.get(sid, [])[-120:]
        sections.append(
            Section(
                f"Forecast: {sid}",
                f"{len(rows_f)}-step forecast by the {rows_f[0]['model']} model from {rows_f[0]['origin']}: last step "
                f"{_num(rows_f[-1].get('mean'))} (80% interval {_num(rows_f[-1].get('lo80'))} to "
                f"{_num(rows_f[-1].get('hi80'))}).",
                [figures.forecast_fan(sid, [t for t, _ in hist], [v for _, v in hist], rows_f)],
            )
        )
    # anomalies
    for sid, rows_a in data.anomalies.items():
        hist = history.get(sid, [])
        recent = sorted(rows_a, key=lambda r: r["ts"])[-5:]
        text = f"{len(rows_a)} anomalies; latest: " + "; ".join(
            f"{r['ts']} {r['kind']} {r['direction']} (score {r.get('score') or 0:.1f})" for r in recent
        )
        summary.append(f"Anomalies in {sid}: {len(rows_a)} (latest {recent[-1]['ts']}).")
        sections.append(
            Section(
                f"Anomalies: {sid}",
                text,
                [figures.anomaly_chart(sid, [t for t, _ in hist], [v for _, v in hist], rows_a)],
            )
        )
    # data quality
    if data.dq:
        bad = [r for r in data.dq if r["status"] != "pass"]
        rows = [
            [r["table_name"], r["check"], r.get("column_name") or "", r["status"], r.get("detail") or ""]
            for r in bad[:30]
        ]
        summary.append(
            f"Data quality: {len(data.dq)} checks, {sum(r['status'] == 'fail' for r in data.dq)} failed, "
            f"{sum(r['status'] == 'warn' for r in data.dq)} warnings."
        )
        sections.append(
            Section(
                "Data quality",
                md_table(["table", "check", "column", "status", "detail"], rows) if rows else "Every check passed.",
                [figures.dq_summary(data.dq)],
            )
        )
    sections.append(Section("Caveats", CAVEAT))
    return summary, sections


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.2f}"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.1f}%"


def to_markdown(report: Report) -> str:
    parts = [f"# {report.title}", "", *[f"- {s}" for s in report.summary], ""]
    for sec in report.sections:
        parts += [f"## {sec.title}", "", sec.markdown, ""]
        parts += [f"![{sec.title}]({report.report_id}/{img})" for img in sec.images]
        if sec.images:
            parts.append("")
    return "\n".join(parts)


def to_html(report: Report, plotly_js: str) -> str:
    """One self-contained HTML file: plotly.js inlined once, every figure a div (no CDN, no network)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    body = [f"<h1>{html.escape(report.title)}</h1>", "<ul class='summary'>"]
    body += [f"<li>{html.escape(s)}</li>" for s in report.summary]
    body.append("</ul>")
    for sec in report.sections:
        body.append(f"<section><h2>{html.escape(sec.title)}</h2>{md.render(sec.markdown)}")
        for fig in sec.figures:
            body.append(
                fig.to_html(
                    full_html=False, include_plotlyjs=False, config={"displaylogo": False}, default_width="100%"
                )
            )
        body.append("</section>")
    style = (
        "body{font:14px/1.5 Inter,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:24px auto;"
        "color:#0f172a;padding:0 16px}table{border-collapse:collapse;margin:8px 0}th,td{border-bottom:1px solid "
        "#e2e8f0;padding:4px 8px;text-align:left;font-size:13px}h2{margin-top:32px;border-bottom:2px solid "
        "#e2e8f0}.summary li{margin:2px 0}"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(report.title)}</title><style>{style}</style>"
        f"<script>{plotly_js}</script></head><body>{''.join(body)}</body></html>"
    )


def write_files(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    render_images(report, out_dir / report.report_id)
    md_path = out_dir / f"{report.report_id}.md"
    html_path = out_dir / f"{report.report_id}.html"
    md_path.write_text(to_markdown(report), encoding="utf-8")
    html_path.write_text(to_html(report, figures.plotly_js_path().read_text(encoding="utf-8")), encoding="utf-8")
    return html_path, md_path


__all__ = ["CAVEAT", "Report", "Section", "build_sections", "md_table", "to_html", "to_markdown", "write_files"]
