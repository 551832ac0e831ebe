"""Monitoring that shows data: Debian's Prometheus scrapes Ray's metrics export (where the Serve app's and the
jobs' covary_* metrics and Ray's own land, as the chart's PodMonitor does) while a short real workload runs
(an ingest with faults, queries, a blocked SQL, a 401/403, jobs that succeed and one that fails); then every
PromQL expression of every Grafana dashboard is evaluated through Prometheus' HTTP API and must return data,
and the chart's alert rules pass ``promtool check rules`` and evaluate without errors."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    not (PROMETHEUS and PROMTOOL), reason="Prometheus not installed (.ci/run installs Debian's `prometheus`)"
)
RULES = Path(__file__).resolve().parents[2] / "helm" / "covary" / "files" / "prometheus" / "covary-rules.yaml"
# Grafana's built-in variables, substituted as Grafana would for a dashboard opened over the last 10 minutes
# (the whole test): $__rate_interval spans the workload so rates see every sample.
GRAFANA_VARS = {"$__rate_interval": "10m", "$__interval": "1s", "$__range": "10m"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) of every target of every exported dashboard."""
    from charts.grafana import models

    out = []
    for model in models():
        variables = {v["name"] for v in model["templating"]["list"]}
        assert variables == {"datasource"}, f"substitute the new template variables {variables} in this test"
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                out.append((model["uid"], panel["title"], target["expr"]))
    return out


def substitute(expr: str) -> str:
    for name, value in GRAFANA_VARS.items():
        expr = expr.replace(name, value)
    left = re.findall(r"\$\{?\w+", expr)
    assert not left, f"unsubstituted variable(s) {left} in {expr}"
    return expr


@pytest.fixture
def prometheus(tmp_path: Path, ray_local: None) -> Iterator[dict[str, Any]]:
    """Prometheus on loopback scraping this Ray node's metrics export every second, with covary's rules."""
    import ray

    port = _free_port()
    metrics_port = ray._private.worker.global_worker.node.metrics_export_port
    config = {
        # Ray's agent can take seconds to answer on a loaded machine; a timed-out scrape marks series stale
        "global": {"scrape_interval": "4s", "evaluation_interval": "2s", "scrape_timeout": "4s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "ray", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text()
            time.sleep(0.3)
        yield {"url": url, "metrics_port": metrics_port}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def query(url: str, expr: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    return r.json()


def _ingest(lake: Any, tmp_path: Path) -> None:
    """A source with transient faults (retries), bad records (quarantine) and a missing endpoint (an error)."""
    from connectors.core import FakeClock, RunOptions, make_client, parse_spec, run_endpoint
    from connectors.errors import ConnectorError
    from connectors.replay import FaultPlan, ReplayServer
    from tests.connectors.conftest import items, write_fixtures

    data = items(60)
    data[5]["score"] = "not a number"
    fixtures = write_fixtures(
        tmp_path / "fx",
        [
            {
                "path": "/things",
                "records": "t.json",
                "paginate": {"style": "page_number", "page_size": 20, "envelope": "results"},
            }
        ],
        {"t.json": data},
    )
    server = ReplayServer({"api": fixtures}, faults=FaultPlan(rate=0.3, seed=1, retry_after_s=(1, 2))).start()
    try:
        fields = {"id": "int", "name": "str", "score": "float", "updated_at": "datetime"}
        endpoints = [
            {"name": "things", "path": "/things", "paginator": {"type": "page_number", "size": 20}},
            {"name": "gone", "path": "/gone", "paginator": {"type": "page_number", "size": 20}},
        ]
        spec = parse_spec(
            {
                "name": "monitored",
                "base_url": server.base_url("api"),
                "retry": {"max_attempts": 8},
                "endpoints": [e | {"records": "results", "primary_key": "id", "fields": fields} for e in endpoints],
            }
        )
        options = RunOptions(clock=FakeClock(), seed=1, retry_budget=200)
        client = make_client(spec, options)
        summary = run_endpoint(lake, spec, "things", options=options, client=client)
        assert summary.rows == 59 and summary.quarantined == 1
        with pytest.raises(ConnectorError):
            run_endpoint(lake, spec, "gone", options=options, client=client)
    finally:
        server.stop()


def _serve_workload(lake: Any, tmp_path: Path) -> None:
    """The query app on real Serve: queries, rows, a blocked SQL, 401 and 403."""
    from ray import serve

    from serve.auth import KeyStore
    from serve.query.app import build_app
    from tests._serve import start_fresh_serve

    keys = KeyStore(tmp_path / "keys.yaml")
    tokens = {role: keys.create(role, name=f"m {role}")[1] for role in ("viewer", "analyst")}
    port = _free_port()
    start_fresh_serve(port)
    args = {
        "lake_root": lake.root,
        "api_keys_path": str(tmp_path / "keys.yaml"),
        "audit": False,
        "engine": {"timeout_s": 10.0, "max_rows": 500, "threads": 1},
        "rate_limits": {"viewer": 0, "analyst": 0},
    }
    serve.run(build_app(args), name="monitoring", route_prefix="/")
    url = f"http://127.0.0.1:{port}"
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/v1/series", headers=viewer).status_code == 200
        for _ in range(3):
            r = http.post("/v1/sql", json={"sql": "SELECT series_id FROM gold.series_catalog"}, headers=analyst)
            assert r.status_code == 200 and r.json()["row_count"] > 0, r.text
        blocked = http.post("/v1/sql", json={"sql": "DROP TABLE gold.series_values"}, headers=analyst)
        assert blocked.status_code == 400 and blocked.json()["blocked"], blocked.text
        assert http.get("/v1/tables").status_code == 401
        assert http.post("/v1/sql", json={"sql": "SELECT 1"}, headers=viewer).status_code == 403


@pytest.mark.timeout(600)
def test_every_dashboard_query_returns_data_and_alert_rules_check(
    prometheus: dict[str, Any], covary_home: Path, tmp_path: Path
) -> None:
    from connectors.synth import run_synth
    from covary.settings import get_settings
    from jobs.runtime import run_job
    from lakehouse import Lakehouse
    from tests._serve import stop_serve

    t0 = time.perf_counter()
    checked = subprocess.run([str(PROMTOOL), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    settings = get_settings()
    settings.ensure_home()
    lake = Lakehouse.from_settings(settings)
    run_synth(lake, days=120, seed=2, with_entities=False)
    try:
        _ingest(lake, tmp_path)
        _serve_workload(lake, tmp_path)
        run_job("anomaly", {"series": ["synth.support.tickets", "synth.operations.output_units"]})
        run_job("correlate", {})
        with pytest.raises(Exception, match="unknown forecast mode"):
            run_job("forecast", {"mode": "nope"})
        workload_s = time.perf_counter() - t0
        queries = dashboard_queries()
        assert len(queries) >= 20
        deadline = time.monotonic() + 90
        while True:  # Ray's agent exports every few seconds; Prometheus scrapes every 4 s
            empty, errors = [], []
            for uid, title, expr in queries:
                answer = query(prometheus["url"], substitute(expr))
                if answer.get("status") != "success":
                    errors.append((uid, title, expr, answer.get("error")))
                elif not answer["data"]["result"]:
                    empty.append((uid, title, expr))
            assert not errors, f"PromQL that does not evaluate: {errors}"
            if not empty or time.monotonic() > deadline:
                break
            time.sleep(2)
    finally:
        stop_serve()
    targets = httpx.get(f"{prometheus['url']}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    health = [(t["scrapeUrl"], t["health"], t["lastError"], t["lastScrapeDuration"]) for t in targets]
    assert not empty, (
        "dashboard queries with no data:\n" + "\n".join(f"  {t}: {e}" for _, t, e in empty) + (f"\ntargets: {health}")
    )
    # what the panels show is what the workload did
    by = {e: query(prometheus["url"], substitute(e))["data"]["result"] for _, _, e in queries}
    statuses = {r["metric"].get("status") for e, res in by.items() if "auth_failures" in e for r in res}
    assert {"401", "403"} <= statuses
    blocked = query(prometheus["url"], "sum by (reason) (ray_covary_blocked_queries_total)")["data"]["result"]
    assert blocked and all(float(r["value"][1]) >= 1 for r in blocked), blocked
    runs = [r["metric"] for e, res in by.items() if "sum by (job_name, status)" in e for r in res]
    assert {("anomaly", "succeeded"), ("correlate", "succeeded"), ("forecast", "failed")} <= {
        (m["job_name"], m["status"]) for m in runs
    }
    failed = next(res for e, res in by.items() if "status=~" in e and "job_runs" in e)
    assert float(failed[0]["value"][1]) == 1, failed  # the stat counts the one failed run
    # the alert rules loaded, evaluate on this data without errors, and the failed job fires its alert
    deadline = time.monotonic() + 20
    while True:
        groups = httpx.get(f"{prometheus['url']}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = {r["name"]: r for g in groups for r in g["rules"]}
        if rules.get("CovaryJobFailed", {}).get("state") == "firing" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(rules) == 6 and all(r["health"] == "ok" for r in rules.values()), rules
    assert rules["CovaryJobFailed"]["state"] == "firing"
    assert rules["CovaryIngestFailing"]["state"] == "firing"
    print(f"monitoring: workload {workload_s:.0f} s, whole test {time.perf_counter() - t0:.0f} s")
