"""The weekly report: self-contained HTML, Markdown with PNGs, correlation-change alerts, Notion export."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from scipy import stats

from charts import figures
from jobs.report import make_report, write_report

FIXTURES = Path(__file__).parent / "fixtures" / "notion"


def test_report_files_sections_and_alerts(report_lake, tmp_path, artifacts_dir):
    lake, runs = report_lake["lake"], report_lake["runs"]
    out = tmp_path / "reports"
    result = write_report(lake, out_dir=out, as_of=date(2026, 11, 18))
    html = Path(result["html"]).read_text()
    md = Path(result["markdown"]).read_text()
    assert result["report_id"].startswith("2026-W47-")
    # self-contained: plotly.js inlined, no external script or CDN
    plotly_js = figures.plotly_js_path().read_text()
    assert html.count(plotly_js) == 1  # plotly.js inlined once
    rest = html.replace(plotly_js, "")
    assert "<script src" not in rest and "cdn.plot.ly" not in rest and "https://" not in rest
    assert rest.count("Plotly.newPlot") >= 5
    findings = lake.read("gold.correlation_findings", filter=pc.field("run_id") == runs[-1]["run_id"]).to_pylist()
    changed = {
        (f["a"], f["b"], f["change"])
        for f in findings
        if f["change"] in ("new", "vanished", "weakened", "strengthened")
    }
    assert runs[-1]["comparison"]["new"] == 2 and runs[-1]["comparison"]["vanished"] == 2
    assert result["alerts"] == len(changed) == 4 and result["alerts_new"] == 4
    alerts = lake.read("gold.correlation_alerts").to_pylist()
    assert {(a["a"], a["b"], a["change"]) for a in alerts} == changed
    for a, b, change in changed:
        assert f"| {change} | {a} ~ {b} |" in md
    assert "## Significant correlations" in md and "Correlation is not causation" in md
    for img in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (out / img).stat().st_size > 5_000
    again = write_report(lake, out_dir=out, as_of=date(2026, 11, 18))
    assert again["alerts_new"] == 0 and lake.read("gold.correlation_alerts").num_rows == 4  # idempotent
    assert lake.read("gold.report_runs").num_rows >= 1
    shutil.copy(result["html"], artifacts_dir / "report.html")
    shutil.copy(result["markdown"], artifacts_dir / "report.md")


def test_report_without_any_data_says_what_to_run(tmp_path):
    from lakehouse import Lakehouse

    result = write_report(Lakehouse(tmp_path / "empty"), out_dir=tmp_path / "r")
    md = Path(result["markdown"]).read_text()
    assert "No correlation run yet" in md and result["alerts"] == 0


def test_cross_correlation_matches_scipy_and_finds_the_planted_lag():
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    y = np.roll(x, 3) + 0.3 * rng.normal(size=300)
    y[:3] = rng.normal(size=3)
    lags, r = figures.cross_correlation(x, y, 6)
    assert lags[int(np.nanargmax(np.array(r, dtype=float)))] == 3
    for lag in (-2, 0, 3):
        a, b = (x[: 300 - lag], y[lag:]) if lag >= 0 else (x[-lag:], y[: 300 + lag])
        assert r[lags.index(lag)] == pytest.approx(stats.pearsonr(a, b).statistic, abs=1e-12)
    x[10] = np.nan
    _, r2 = figures.cross_correlation(x, y, 1)
    assert all(v is not None and np.isfinite(v) for v in r2)


def test_heatmap_is_symmetric_and_filters_by_q():
    findings = [
        {"a": "x", "b": "y", "r": 0.8, "q": 0.001, "lag": 1, "change": "new"},
        {"a": "y", "b": "z", "r": -0.5, "q": 0.04, "lag": 0, "change": "unchanged"},
        {"a": "x", "b": "z", "r": 0.3, "q": 0.2, "lag": 0, "change": "unchanged"},
        {"a": "w", "b": "x", "r": 0.9, "q": 0.001, "lag": 0, "change": "vanished"},
    ]
    heat = figures.correlation_heatmap(findings, q_max=0.05).data[0]
    assert list(heat.x) == ["x", "y", "z"]
    z = np.array([[np.nan if v is None else v for v in row] for row in heat.z], dtype=float)
    assert np.allclose(z, z.T, equal_nan=True) and z[0, 1] == 0.8 and np.isnan(z[0, 2])
    strict = figures.correlation_heatmap(findings, q_max=0.01).data[0]
    assert list(strict.x) == ["x", "y"]


def test_notion_export_against_the_replay_server(report_lake, tmp_path):
    import httpx

    from connectors.core import RunOptions
    from connectors.notion.client import notion_client
    from connectors.notion.source import REPLAY_AUTH
    from connectors.replay import ReplayServer
    from jobs.report.notion import report_blocks

    sent: list[httpx.Request] = []
    upstream = httpx.HTTPTransport()

    def route(request: httpx.Request) -> httpx.Response:
        # The replay server parses every POST body as JSON, so the multipart "send" step is answered here with
        # the recorded payload; file-upload creation and page creation go to the replay server.
        if request.url.path.endswith("/send"):
            request.read()
            sent.append(request)
            return httpx.Response(200, content=(FIXTURES / "responses" / "file_upload_sent.json").read_bytes())
        return upstream.handle_request(request)

    with ReplayServer({"notion": FIXTURES}) as replay:
        options = RunOptions(base_url=replay.base_url("notion"), transport=httpx.MockTransport(route))
        with notion_client(options, auth=REPLAY_AUTH) as client:
            result = write_report(
                report_lake["lake"], out_dir=tmp_path, notion_database_id="db-1", notion_client=client
            )
        paths = [(m, p) for m, p, _ in replay.requests]
    notion = result["notion"]
    assert notion["page_id"] == "{created-page-id}" and notion["images"] == 4
    assert paths.count(("POST", "/notion/v1/file_uploads")) == 4 and paths[-1] == ("POST", "/notion/v1/pages")
    assert len(sent) == 4
    for request in sent:
        assert request.headers["content-type"].startswith("multipart/form-data")
        assert request.headers["authorization"] == "Bearer replay-notion-token"
        assert b"\x89PNG" in request.content and b'name="file"' in request.content
    report, _ = make_report(report_lake["lake"])
    blocks = report_blocks(report, {"heatmap.png": "fu-1"})
    images = [b for b in blocks if b["type"] == "image"]
    assert images == [
        {"object": "block", "type": "image", "image": {"type": "file_upload", "file_upload": {"id": "fu-1"}}}
    ]
    assert len(blocks) <= 100 and any(b["type"] == "heading_2" for b in blocks)
    assert any(
        "New correlation"
        in b.get("bulleted_list_item", {}).get("rich_text", [{}])[0].get("text", {}).get("content", "")
        for b in blocks
    )


def test_notion_refusal_is_a_clear_error(report_lake, tmp_path):
    import httpx

    from connectors.core import RunOptions
    from connectors.errors import TerminalHTTPError
    from connectors.notion.client import notion_client
    from connectors.notion.source import REPLAY_AUTH

    transport = httpx.MockTransport(lambda r: httpx.Response(401, json={"message": "API token is invalid."}))
    options = RunOptions(base_url="http://notion.test", transport=transport)
    with notion_client(options, auth=REPLAY_AUTH) as client, pytest.raises(TerminalHTTPError):
        write_report(report_lake["lake"], out_dir=tmp_path, notion_database_id="db-1", notion_client=client)


def _kpi_rows() -> list[dict]:
    """Three complete weeks of conversions, then a 2-day partial week that looks like a -69 % collapse."""
    weeks = [(date(2024, 12, 2), 7, 700.0), (date(2024, 12, 9), 7, 720.0), (date(2024, 12, 16), 7, 740.0)]
    weeks.append((date(2024, 12, 23), 2, 230.0))
    rows, prev = [], None
    for start, days, value in weeks:
        rows.append(
            {"metric": "conversions", "period": "week", "period_start": start, "platform": "*", "country": "*",
             "value": value, "numerator": value, "denominator": None, "days": days, "previous_value": prev,
             "previous_change": None if prev is None else value - prev,
             "previous_change_pct": None if prev is None else 100 * (value - prev) / prev}
        )  # fmt: skip
        prev = value
    return rows


def test_headlines_use_complete_weeks_dated_by_the_data_and_show_anomaly_alerts(tmp_path) -> None:
    from lakehouse import BatchKey, Lakehouse

    lake = Lakehouse(tmp_path / "lake")
    alert = {
        "alert_id": "a:2024-12-10->b:2024-12-12", "source_series": "synth.support.tickets",
        "source_ts": date(2024, 12, 10), "target_series": "synth.operations.equipment_failures",
        "target_ts": date(2024, 12, 12), "lag_days": 2, "expected_lag_days": 2, "correlation": 0.5,
        "message": "failures anomaly on 2024-12-12 followed a tickets anomaly on 2024-12-10", "run_id": "r1",
    }  # fmt: skip
    from datetime import UTC, datetime

    with lake.load("tests.report") as load:
        load.write("gold.marketing_kpis", _kpi_rows(), batch=BatchKey("tests/report/kpis"))
        load.write("gold.anomaly_alerts", [alert | {"detected_at": datetime.now(UTC)}], batch=BatchKey("t/a"))
    report, data = make_report(lake)
    assert data.data_end == date(2024, 12, 24)
    assert report.period_start == date(2024, 12, 16)  # the last complete week, not the wall clock's week
    assert "week of 2024-12-16" in report.title
    text = "\n".join(report.summary)
    assert "KPI conversions, week of 2024-12-16: 740.00 (+2.8% vs the previous week)" in text
    assert "-68.9%" not in text and "still incomplete (2 of 7 days)" in text
    assert "Data through 2024-12-24" in text and "Anomaly alerts: 1" in text
    section = next(s for s in report.sections if s.title == "Anomaly alerts")
    assert "followed a tickets anomaly" in section.markdown


def test_first_correlation_run_is_a_baseline_without_alerts(tmp_path) -> None:
    from lakehouse import Lakehouse
    from tests.rag.planted import build

    lake = Lakehouse(tmp_path / "lake")
    (run,) = build(lake, runs=1)
    assert run["comparison"]["new"] == 0 and run["comparison"]["baseline"] >= 1
    result = write_report(lake, out_dir=tmp_path / "r")
    assert result["alerts"] == 0 and result["alerts_new"] == 0
    assert result["delivery"]["webhook"] == "nothing to send"
    md = Path(result["markdown"]).read_text()
    assert "sets the baseline" in md


def test_report_delivers_new_alerts_once_to_a_local_webhook(report_lake, tmp_path) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from pydantic import SecretStr

    from covary.settings import AlertSettings

    got: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = AlertSettings(webhook_url=SecretStr(f"http://127.0.0.1:{server.server_address[1]}/hook"))
        out = tmp_path / "reports"
        first = write_report(report_lake["lake"], out_dir=out, as_of=date(2026, 11, 18), alert_settings=settings)
        assert first["delivery"]["webhook"] == "sent" and first["delivery"]["alerts"] == first["alerts"] == 4
        assert len(got) == 1 and "4 alerts" in got[0]["text"] and got[0]["blocks"][0]["type"] == "header"
        again = write_report(report_lake["lake"], out_dir=out, as_of=date(2026, 11, 18), alert_settings=settings)
        assert again["delivery"]["webhook"] == "nothing to send" and len(got) == 1  # nothing sent twice
    finally:
        server.shutdown()
        server.server_close()
