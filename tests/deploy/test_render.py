"""The chart renders with every CI values file into objects the API server and KubeRay would accept."""

from __future__ import annotations

import json

import jsonschema
import kubernetes_validate
import pytest
import yaml

from charts.deploy import lint, load_values, render
from charts.deploy.errors import ChartRenderError
from charts.deploy.render import CHART_DIR

CI_VALUES = CHART_DIR / "ci"
VALUES_FILES = ("minimal", "gpu", "external-services", "production")

RAY_KINDS = {"RayCluster", "RayService", "RayJob", "RayCronJob"}
PROMETHEUS_OPERATOR_KINDS = {"PodMonitor", "ServiceMonitor"}
BASE = {"ray": {"auth": {"existingSecret": "ray-auth"}}, "mlflow": {"existingSecret": "mlflow"}}


def _with(**overrides: object) -> dict:
    values = json.loads(json.dumps(BASE))
    for dotted, value in overrides.items():
        node = values
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return values


@pytest.mark.parametrize("name", VALUES_FILES)
def test_core_objects_valid_per_kubernetes_schema(rendered_all, name):
    objects = [o for o in rendered_all[name].objects if o["kind"] not in RAY_KINDS | PROMETHEUS_OPERATOR_KINDS]
    assert {"ServiceAccount", "NetworkPolicy"} <= {o["kind"] for o in objects}
    for obj in objects:
        kubernetes_validate.validate(obj, "1.33.0", strict=True)


@pytest.mark.parametrize("name", VALUES_FILES)
def test_ray_objects_valid_per_kuberay_crds(rendered_all, crd_schemas, name):
    ray_objects = [o for o in rendered_all[name].objects if o["kind"] in RAY_KINDS]
    assert {"RayCluster", "RayService", "RayCronJob"} <= {o["kind"] for o in ray_objects}
    for obj in ray_objects:
        errors = list(jsonschema.Draft7Validator(crd_schemas[obj["kind"]]).iter_errors(obj))
        assert not errors, f"{obj['kind']}/{obj['metadata']['name']}: {[e.message for e in errors[:3]]}"


def test_crd_validation_catches_a_bad_field(rendered_all, crd_schemas):
    cluster = json.loads(json.dumps(rendered_all["minimal"].by_kind("RayCluster")[0]))
    cluster["spec"]["workerGroupSpecs"][0]["replicas"] = "two"
    assert list(jsonschema.Draft7Validator(crd_schemas["RayCluster"]).iter_errors(cluster))


@pytest.mark.parametrize("name", VALUES_FILES)
def test_serve_config_v2_is_a_ray_serve_deploy_config(rendered_all, name):
    from ray.serve.schema import ServeDeploySchema

    (service,) = rendered_all[name].by_kind("RayService")
    config = ServeDeploySchema.model_validate(yaml.safe_load(service["spec"]["serveConfigV2"]))
    apps = {app.name: app for app in config.applications}
    assert apps["query"].import_path == "serve.query.app:build_app"
    assert apps["query"].route_prefix == "/"
    assert ("llm" in apps) == (name in {"gpu", "production"})


def test_serve_config_comes_from_the_repository_file(rendered_all):
    from charts.deploy.chartfiles import SERVE_CONFIG_DIR

    source = yaml.safe_load((SERVE_CONFIG_DIR / "serve.yaml").read_text())
    (service,) = rendered_all["minimal"].by_kind("RayService")
    generated = yaml.safe_load(service["spec"]["serveConfigV2"])
    assert generated["applications"][0]["args"] == source["applications"][0]["args"]
    assert generated["http_options"] == source["http_options"]
    (prod,) = rendered_all["production"].by_kind("RayService")
    prod_args = yaml.safe_load(prod["spec"]["serveConfigV2"])["applications"][0]["args"]
    expected = json.loads(json.dumps(source["applications"][0]["args"]))
    expected["engine"]["max_rows"] = 50000  # deep merge: the other engine options stay
    assert prod_args == expected


@pytest.mark.parametrize("name", VALUES_FILES)
def test_query_app_args_match_build_app(rendered_all, name):
    from serve.query.app import QueryAppArgs

    (service,) = rendered_all[name].by_kind("RayService")
    args = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"][0]["args"]
    QueryAppArgs.model_validate(args)  # extra="forbid": a misspelt arg fails here, not at deploy time


def test_llm_application_runs_on_the_gpu_group(rendered_all):
    (service,) = rendered_all["gpu"].by_kind("RayService")
    apps = {a["name"]: a for a in yaml.safe_load(service["spec"]["serveConfigV2"])["applications"]}
    llm = apps["llm"]
    assert llm["import_path"] == "ray.serve.llm:build_openai_app"
    model = llm["args"]["llm_configs"][0]
    assert model["model_loading_config"] == {"model_id": "covary-llm", "model_source": "Qwen/Qwen2.5-7B-Instruct"}
    assert model["accelerator_type"] == "L4"
    assert model["engine_kwargs"]["max_model_len"] == 16384
    groups = {g["groupName"]: g for g in service["spec"]["rayClusterConfig"]["workerGroupSpecs"]}
    gpu_container = groups["gpu"]["template"]["spec"]["containers"][0]
    assert gpu_container["resources"]["limits"]["nvidia.com/gpu"] == 1
    env = {e["name"]: e for e in gpu_container["env"]}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "covary-hf"
    assert env["COVARY_LLM__BASE_URL"]["value"] == "http://127.0.0.1:8000/llm/v1"
    assert "HF_TOKEN" not in {e["name"] for e in groups["cpu"]["template"]["spec"]["containers"][0]["env"]}


def test_s3_lakehouse_uses_conditional_put_and_secret_credentials(rendered_all):
    (cluster,) = rendered_all["external-services"].by_kind("RayCluster")
    env = {e["name"]: e for e in cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["COVARY_LAKE__ROOT"]["value"] == "s3://covary-lake/lake"
    options = json.loads(env["COVARY_LAKE__STORAGE_OPTIONS"]["value"])
    assert options["aws_conditional_put"] == "etag"
    assert options["AWS_ENDPOINT_URL"] == "http://minio.minio.svc:9000"
    assert options["AWS_ALLOW_HTTP"] == "true"
    assert "AWS_S3_ALLOW_UNSAFE_RENAME" not in options
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "covary-minio",
        "key": "AWS_SECRET_ACCESS_KEY",
    }
    assert env["COVARY_MLFLOW__TRACKING_URI"]["value"] == "http://mlflow.mlops.svc:5000"
    assert env["COVARY_MILVUS__URI"]["value"] == "http://milvus.milvus.svc:19530"


def test_storage_options_parse_as_covary_settings(rendered_all, monkeypatch):
    from covary.settings import load_settings

    (cluster,) = rendered_all["external-services"].by_kind("RayCluster")
    container = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    for item in container["env"]:
        if item["name"].startswith("COVARY_") and "value" in item:
            monkeypatch.setenv(item["name"], item["value"])
    settings = load_settings()
    assert settings.lake_root == "s3://covary-lake/lake"
    assert settings.lake.storage_options["aws_conditional_put"] == "etag"
    assert settings.milvus_uri == "http://milvus.milvus.svc:19530"


def test_dynamodb_and_unsafe_rename_modes():
    s3 = {"storage": "s3", "s3": {"uri": "s3://b/lake", "commitCoordination": "dynamodb", "dynamodbTable": "locks"}}
    rendered = render({**BASE, "lakehouse": s3})
    env = {
        e["name"]: e
        for e in rendered.by_kind("RayCluster")[0]["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]
    }
    options = json.loads(env["COVARY_LAKE__STORAGE_OPTIONS"]["value"])
    assert options["AWS_S3_LOCKING_PROVIDER"] == "dynamodb"
    assert options["DELTA_DYNAMO_TABLE_NAME"] == "locks"
    unsafe = {"storage": "s3", "s3": {"uri": "s3://b/lake", "commitCoordination": "unsafeRename"}}
    with pytest.raises(ChartRenderError, match=r"lakehouse\.s3\.commitCoordination=unsafeRename"):
        render({**BASE, "lakehouse": unsafe})
    unsafe["s3"]["acknowledgeSingleWriter"] = True
    rendered = render({**BASE, "lakehouse": unsafe})
    assert "AWS_S3_ALLOW_UNSAFE_RENAME" in json.dumps(rendered.by_kind("RayCluster")[0])


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"mlflow": {"existingSecret": "m"}}, "ray.auth.existingSecret"),
        (_with(mlflow__existingSecret=""), "mlflow.existingSecret"),
        (_with(ray__cpuWorkers={"minReplicas": 5, "maxReplicas": 2, "replicas": 2}), "ray.cpuWorkers.minReplicas=5"),
        (_with(llm__enabled=True), "ray.gpuWorkers.enabled"),
        (_with(ingress__enabled=True), "ingress.host"),
        (_with(lakehouse__storage="s3"), "lakehouse.s3.uri"),
        (_with(lakehouse__pvc={"accessModes": ["ReadWriteOnce"]}), "lakehouse.pvc.accessModes"),
        (
            _with(
                ray__head={
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": None}}
                }
            ),
            "ray.head.resources.limits must set cpu and memory",
        ),
        (_with(jobs__schedules={"Bad_Name": {"job": "ingest", "schedule": "0 * * * *"}}), "jobs.schedules.Bad_Name"),
        (_with(pdb__maxUnavailable=0), "/pdb/maxUnavailable"),
        (_with(pdb__maxUnavailable="100%"), "/pdb/maxUnavailable"),
        (_with(lakehouse__storage="nfs"), "/lakehouse/storage"),
        (_with(unknownKey=1), "unknownKey"),
    ],
)
def test_invalid_values_fail_naming_the_value(values, names):
    with pytest.raises(ChartRenderError) as info:
        render(values)
    assert names in info.value.message


@pytest.mark.parametrize("name", VALUES_FILES)
def test_helm_lint_is_clean(name):
    report = lint(load_values([CI_VALUES / f"{name}-values.yaml"]))
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_reports_a_broken_template(tmp_path):
    import shutil

    from charts.deploy.render import CHART_DIR

    broken = tmp_path / "covary"
    shutil.copytree(CHART_DIR, broken)
    (broken / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }\n")
    report = lint(load_values([CI_VALUES / "minimal-values.yaml"]), chart_dir=broken)
    assert report["errors"] or [m for m in report["messages"] if m["severity"] >= 2]


def test_jobs_run_python_m_jobs_against_the_shared_cluster(rendered_all):
    crons = {c["metadata"]["name"]: c for c in rendered_all["minimal"].by_kind("RayCronJob")}
    assert set(crons) == {f"covary-{n}" for n in ("ingest", "correlate", "forecast", "anomaly", "index", "report")}
    for name, cron in crons.items():
        template = cron["spec"]["jobTemplate"]
        assert template["entrypoint"] == f"python -m jobs.{name.removeprefix('covary-')}"
        assert template["clusterSelector"] == {"ray.io/cluster": "covary"}
        assert template["submitterPodTemplate"]["spec"]["restartPolicy"] == "Never"
    (job,) = rendered_all["production"].by_kind("RayJob")
    assert job["spec"]["entrypoint"] == "python -m jobs.ingest --config-json '{\"full_refresh\":true}'"
    ephemeral = rendered_all["external-services"].by_kind("RayCronJob")[0]["spec"]["jobTemplate"]
    assert ephemeral["shutdownAfterJobFinishes"] is True and "rayClusterSpec" in ephemeral


def test_ray_token_auth_from_existing_secret(rendered_all):
    (cluster,) = rendered_all["minimal"].by_kind("RayCluster")
    env = {e["name"]: e for e in cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RAY_AUTH_MODE"]["value"] == "token"
    assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "covary-ray-auth", "key": "auth_token"}
    (gpu_cluster,) = rendered_all["gpu"].by_kind("RayCluster")
    assert gpu_cluster["spec"]["authOptions"] == {"mode": "token", "secretName": "covary-ray-auth"}


def test_ingress_exposes_only_the_serve_app(rendered_all):
    (ingress,) = rendered_all["production"].by_kind("Ingress")
    backends = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert backends == [{"name": "covary-serve-svc", "port": {"number": 8000}}]
    for name in VALUES_FILES:
        for ing in rendered_all[name].by_kind("Ingress"):
            assert "8265" not in json.dumps(ing) and "head-svc" not in json.dumps(ing)


def test_dashboards_are_configmaps_for_the_grafana_sidecar(rendered_all):
    from charts.grafana import dashboards, render_json

    (cm,) = rendered_all["minimal"].by_kind("ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    expected = {f"{d.uid}.json": render_json(d) for d in dashboards()}
    assert {k: v + "\n" if not v.endswith("\n") else v for k, v in cm["data"].items()} == expected


def test_monitors_select_covary_pods(rendered_all):
    (pod_monitor,) = rendered_all["production"].by_kind("PodMonitor")
    assert pod_monitor["spec"]["selector"]["matchLabels"] == {"covary.io/release": "covary", "covary.io/ray": "true"}
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert pod_monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (service_monitor,) = rendered_all["production"].by_kind("ServiceMonitor")
    assert service_monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert not rendered_all["minimal"].by_kind("PodMonitor")
