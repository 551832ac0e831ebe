"""`covary deploy render|apply|status` against a local fake Kubernetes API server (no cluster here)."""

from __future__ import annotations

import json
import pickle

import pytest
import yaml

from charts.deploy import KubeClient, apply_objects, load_values, release_status, render
from charts.deploy.errors import (
    ChartFilesOutOfDateError,
    ChartRenderError,
    KubeAuthError,
    KubeRequestError,
    KubeUnavailableError,
    UnsupportedKindError,
)
from charts.deploy.render import CHART_DIR
from charts.grafana.errors import GrafanaAuthError, UnknownMetricError
from covary.cli import main

MINIMAL = str(CHART_DIR / "ci" / "minimal-values.yaml")


def test_cli_render_writes_one_file_per_object(tmp_path, capsys):
    out = tmp_path / "k8s"
    assert (
        main(["deploy", "render", "--values", MINIMAL, "--set", "jobs.enabled=false", "--out", str(out), "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    kinds = [o["kind"] for o in report["objects"]]
    assert "RayCronJob" not in kinds and kinds[0] == "ServiceAccount" and "RayService" in kinds
    files = sorted(out.glob("*.yaml"))
    assert len(files) == len(kinds)
    assert yaml.safe_load(files[0].read_text())["kind"] == "ServiceAccount"


def test_cli_render_refuses_bad_values_with_a_hint(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ray:\n  cpuWorkers:\n    maxReplicas: 0\n")
    assert main(["deploy", "render", "--values", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the chart refused the values") and "maxReplicas" in err and "hint:" in err


def test_apply_is_server_side_apply_in_dependency_order(fake_kube, capsys):
    fake, kubeconfig = fake_kube
    rendered = render(load_values([MINIMAL]))
    args = ["deploy", "apply", "--server-side", "--values", MINIMAL, "--kubeconfig", str(kubeconfig), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["applied"]) == len(rendered.objects)
    patches = [r for r in fake.requests if r["method"] == "PATCH"]
    assert all(r["content_type"] == "application/apply-patch+yaml" for r in patches)
    assert all(r["query"]["fieldManager"] == ["covary"] and r["query"]["force"] == ["true"] for r in patches)
    paths = [r["path"] for r in patches]
    assert paths[0] == "/api/v1/namespaces/covary/serviceaccounts/covary"
    assert "/apis/ray.io/v1/namespaces/covary/rayservices/covary" in paths
    assert paths.index("/apis/apps/v1/namespaces/covary/deployments/covary-mlflow") < paths.index(
        "/apis/ray.io/v1/namespaces/covary/rayclusters/covary"
    )
    stored = fake.objects["/apis/ray.io/v1/namespaces/covary/rayservices/covary"]
    assert stored["spec"]["serveConfigV2"] == rendered.by_kind("RayService")[0]["spec"]["serveConfigV2"]
    # Re-applying is idempotent: same objects, new resource versions, generation bumps.
    assert main(["deploy", "apply", "--server-side", "--values", MINIMAL, "--kubeconfig", str(kubeconfig)]) == 0
    assert "objects applied" in capsys.readouterr().out
    assert stored is not fake.objects["/apis/ray.io/v1/namespaces/covary/rayservices/covary"]
    assert fake.objects["/apis/ray.io/v1/namespaces/covary/rayservices/covary"]["metadata"]["generation"] == 2


def test_apply_from_rendered_manifests_and_dry_run(fake_kube, tmp_path, capsys):
    fake, kubeconfig = fake_kube
    out = tmp_path / "k8s"
    assert main(["deploy", "render", "-f", MINIMAL, "--out", str(out)]) == 0
    assert main(["deploy", "apply", "--manifests", str(out), "--kubeconfig", str(kubeconfig), "--dry-run"]) == 0
    assert "(dry run)" in capsys.readouterr().out
    assert fake.objects == {}
    assert all(r["query"].get("dryRun") == ["All"] for r in fake.requests)


def test_status_reports_ray_conditions(fake_kube, capsys):
    fake, kubeconfig = fake_kube
    client = KubeClient.from_config(kubeconfig=str(kubeconfig))
    apply_objects(client, render(load_values([MINIMAL])).objects, namespace="covary")
    # What the KubeRay operator would write.
    fake.objects["/apis/ray.io/v1/namespaces/covary/rayservices/covary"]["status"] = {
        "serviceStatus": "Running",
        "numServeEndpoints": 2,
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "UpgradeInProgress", "status": "False"}],
        "activeServiceStatus": {"applicationStatuses": {"query": {"status": "RUNNING"}}},
    }
    fake.objects["/apis/ray.io/v1/namespaces/covary/rayclusters/covary"]["status"] = {
        "state": "ready",
        "readyWorkerReplicas": 1,
        "desiredWorkerReplicas": 1,
        "conditions": [{"type": "HeadPodReady", "status": "True"}],
    }
    fake.objects["/apis/ray.io/v1/namespaces/covary/rayjobs/covary-ingest-manual"] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": "covary-ingest-manual", "labels": {"covary.io/release": "covary"}},
        "status": {"jobStatus": "SUCCEEDED", "jobDeploymentStatus": "Complete"},
    }
    report = release_status(client, namespace="covary", release="covary")
    by_kind = {}
    for row in report["objects"]:
        by_kind.setdefault(row["kind"], []).append(row)
    assert by_kind["RayService"][0]["state"] == "Running" and by_kind["RayService"][0]["applications"] == {
        "query": "RUNNING"
    }
    assert by_kind["RayCluster"][0]["workers"] == "1/1"
    assert len(by_kind["RayCronJob"]) == 6 and by_kind["RayJob"][0]["state"] == "SUCCEEDED"
    assert report["healthy"] is True
    assert main(["deploy", "status", "--kubeconfig", str(kubeconfig)]) == 0
    assert "RayService" in capsys.readouterr().out
    # A failed job makes the release unhealthy (exit 1) and says why.
    fake.objects["/apis/ray.io/v1/namespaces/covary/rayjobs/covary-ingest-manual"]["status"] = {
        "jobStatus": "FAILED",
        "jobDeploymentStatus": "Failed",
        "message": "job exited with code 1",
    }
    assert main(["deploy", "status", "--kubeconfig", str(kubeconfig), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failed = [r for r in report["objects"] if not r["healthy"]]
    assert [r["name"] for r in failed] == ["covary-ingest-manual"] and "code 1" in failed[0]["message"]
    # Other releases are not reported.
    assert release_status(client, namespace="covary", release="other")["objects"] == []


def test_api_errors_become_actionable(fake_kube, capsys):
    fake, kubeconfig = fake_kube
    client = KubeClient.from_config(kubeconfig=str(kubeconfig))
    objects = render(load_values([MINIMAL])).objects
    fake.missing_groups.add("ray.io")
    with pytest.raises(KubeRequestError) as info:
        apply_objects(client, objects, namespace="covary")
    assert "KubeRay operator" in info.value.hint
    fake.missing_groups.clear()
    fake.forbidden_kinds.add("NetworkPolicy")
    with pytest.raises(KubeAuthError, match="403"):
        apply_objects(client, objects, namespace="covary")
    assert main(["deploy", "apply", "--server-side", "-f", MINIMAL, "--kubeconfig", str(kubeconfig)]) == 2
    assert "error: the API server refused PATCH" in capsys.readouterr().err
    with pytest.raises(UnsupportedKindError):
        apply_objects(
            client, [{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}}], namespace="covary"
        )
    wrong = tmp_kubeconfig_with_token(kubeconfig, "nope")
    with pytest.raises(KubeAuthError):
        KubeClient.from_config(kubeconfig=str(wrong)).list("RayService", namespace="covary")
    unreachable = tmp_kubeconfig_with_server(kubeconfig, "http://127.0.0.1:9")
    with pytest.raises(KubeUnavailableError):
        KubeClient.from_config(kubeconfig=str(unreachable)).list("RayService", namespace="covary")


def tmp_kubeconfig_with_token(kubeconfig, token):
    data = yaml.safe_load(kubeconfig.read_text())
    data["users"][0]["user"]["token"] = token
    path = kubeconfig.with_name("kubeconfig-token")
    path.write_text(yaml.safe_dump(data))
    return path


def tmp_kubeconfig_with_server(kubeconfig, server):
    data = yaml.safe_load(kubeconfig.read_text())
    data["clusters"][0]["cluster"]["server"] = server
    path = kubeconfig.with_name("kubeconfig-server")
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "error",
    [
        ChartRenderError("bad", hint="fix"),
        ChartFilesOutOfDateError("stale"),
        KubeAuthError("no", hint="creds"),
        KubeRequestError("404"),
        KubeUnavailableError("down"),
        UnsupportedKindError("Job"),
        GrafanaAuthError("401", hint="token"),
        UnknownMetricError("ray_x"),
    ],
)
def test_errors_pickle(error):
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error) and clone.message == error.message and clone.hint == error.hint
