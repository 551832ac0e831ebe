"""Dashboards as code: valid JSON models whose every metric is emitted; export; provision against a fake Grafana."""

from __future__ import annotations

import json

import pytest

from charts.grafana import Dashboard, Panel, Query, Row, check_metrics, dashboards, export, known_metrics, models
from charts.grafana.builtin_metrics import RAY_BUILTIN_METRICS
from charts.grafana.errors import GrafanaAuthError, GrafanaUnavailableError, UnknownMetricError
from charts.grafana.overview import series
from charts.grafana.promql import metric_names
from covary.cli import main
from covary.metrics import CATALOGUE, exported_names
from deploy.conftest import TOKEN


def test_promql_metric_extraction():
    expr = (
        "histogram_quantile(0.95, sum by (job, le) "
        '(rate(ray_covary_job_duration_s_bucket{job=~"a|b"}[$__rate_interval])))'
    )
    assert metric_names(expr) == {"ray_covary_job_duration_s_bucket"}
    assert metric_names("sum(ray_node_mem_used) / sum without (ip) (ray_node_mem_total) > bool 0") == {
        "ray_node_mem_used",
        "ray_node_mem_total",
    }
    assert metric_names('increase(ray_covary_auth_failures_total{status=~"401|403"}[1h]) offset 1d') == {
        "ray_covary_auth_failures_total"
    }


def test_dashboard_json_models_are_valid():
    for model in models():
        assert model["uid"] and model["title"] and model["schemaVersion"] >= 36
        assert "id" not in model
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids))
        for panel in model["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0
            if panel["type"] == "row":
                continue
            assert panel["type"] in {"timeseries", "stat"}
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])
        json.loads(json.dumps(model))  # JSON-serialisable


def test_every_panel_metric_exists():
    allowed = known_metrics()
    used = set()
    for dashboard in dashboards():
        for row in dashboard.rows:
            for panel in row.panels:
                for query in panel.queries:
                    names = query.metrics()
                    assert names, f"{panel.title}: no metric in {query.expr}"
                    assert names <= allowed, f"{panel.title}: {names - allowed}"
                    used |= names
    # Everything the issue asks for is on the overview.
    for metric in (
        "covary_ingest_records",
        "covary_ingest_errors",
        "covary_quarantined_records",
        "covary_job_runs",
        "covary_findings",
        "covary_alerts",
        "covary_blocked_queries",
        "covary_auth_failures",
    ):
        assert used & set(exported_names(metric)), metric
    assert "ray_covary_request_latency_ms_bucket" in used and "ray_covary_job_duration_s_bucket" in used
    assert {"ray_serve_deployment_replica_healthy", "ray_node_cpu_utilization"} <= used
    assert used & set(RAY_BUILTIN_METRICS) <= set(RAY_BUILTIN_METRICS)


def test_builtin_allow_list_names_are_in_the_installed_ray():
    """Each allow-listed Ray metric is really defined in the installed Ray (the source we checked)."""
    from pathlib import Path

    import ray

    root = Path(ray.__file__).parent
    sources = {
        "deployment_state.py": (root / "serve/_private/deployment_state.py").read_text(),
        "replica.py": (root / "serve/_private/replica.py").read_text(),
        "reporter_agent.py": (root / "dashboard/modules/reporter/reporter_agent.py").read_text(),
    }
    for name, source in RAY_BUILTIN_METRICS.items():
        base = name.removeprefix("ray_")
        candidates = {base, base.removesuffix("_total")}  # Ray adds _total to counters on export
        file = next(f for f in sources if f in source)
        assert any(f'"{c}"' in sources[file] for c in candidates), f"{name} not defined in {file}"


def test_unknown_metrics_are_refused():
    bogus = Dashboard("x", "x", "x", rows=[Row("r", (Panel("p", (Query("rate(ray_made_up_total[5m])"),)),))])
    with pytest.raises(UnknownMetricError, match="ray_made_up_total"):
        check_metrics(bogus)
    with pytest.raises(UnknownMetricError):
        series("covary_not_in_catalogue")
    with pytest.raises(UnknownMetricError):
        series("covary_findings", "_total")  # a gauge has no _total series
    assert set(CATALOGUE)  # the catalogue itself is the source


def test_export_writes_the_chart_files(tmp_path):
    from charts.deploy.render import CHART_DIR

    paths = export(tmp_path)
    assert [p.name for p in paths] == ["covary-overview.json"]
    for path in paths:
        assert path.read_text() == (CHART_DIR / "files" / "dashboards" / path.name).read_text()
        assert json.loads(path.read_text())["uid"] == "covary-overview"


def test_provision_creates_folder_and_upserts(fake_grafana):
    from charts.grafana import provision

    fake, url = fake_grafana
    first = provision(url, TOKEN)
    assert fake.folders["covary"]["title"] == "covary"
    assert first == [
        {
            "uid": "covary-overview",
            "title": "covary overview",
            "status": "success",
            "version": 1,
            "url": f"{url}/d/covary-overview/covary-overview",
        }
    ]
    stored = fake.dashboards["covary-overview"]
    assert stored["folderUid"] == "covary" and stored["dashboard"] == models()[0]
    second = provision(url, TOKEN)
    assert second[0]["version"] == 2
    assert ("POST", "/api/folders") in fake.requests and fake.requests.count(("POST", "/api/folders")) == 1


def test_provision_errors_say_what_to_fix(fake_grafana):
    from charts.grafana import provision

    _, url = fake_grafana
    with pytest.raises(GrafanaAuthError, match="refused the token") as info:
        provision(url, "wrong")
    assert "Editor" in info.value.hint
    with pytest.raises(GrafanaUnavailableError):
        provision("http://127.0.0.1:9", TOKEN, timeout_s=2)


def test_cli_provision_and_export(fake_grafana, tmp_path, monkeypatch, capsys):
    fake, url = fake_grafana
    monkeypatch.setenv("COVARY_TEST_GRAFANA", TOKEN)
    assert main(["grafana", "provision", "--url", url, "--token-env", "COVARY_TEST_GRAFANA", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "success"
    assert "covary-overview" in fake.dashboards
    monkeypatch.delenv("COVARY_TEST_GRAFANA")
    assert main(["grafana", "provision", "--url", url, "--token-env", "COVARY_TEST_GRAFANA"]) == 2
    assert "COVARY_TEST_GRAFANA is empty" in capsys.readouterr().err
    assert main(["grafana", "export", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "covary-overview.json").is_file()
