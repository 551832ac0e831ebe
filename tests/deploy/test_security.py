"""Security properties of every rendered manifest: restricted pods, resources, no secret literals, deny-by-default."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

VALUES_FILES = ("minimal", "gpu", "external-services", "production")


def pod_specs(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every pod spec inside an object, with a readable location."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    spec = obj.get("spec", {})
    if kind == "Deployment":
        yield f"{kind}/{name}", spec["template"]["spec"]
    cluster_specs = []
    if kind == "RayCluster":
        cluster_specs.append(spec)
    if kind == "RayService":
        cluster_specs.append(spec["rayClusterConfig"])
    job_specs = [spec] if kind == "RayJob" else [spec["jobTemplate"]] if kind == "RayCronJob" else []
    for job in job_specs:
        yield f"{kind}/{name}/submitter", job["submitterPodTemplate"]["spec"]
        if "rayClusterSpec" in job:
            cluster_specs.append(job["rayClusterSpec"])
    for cluster in cluster_specs:
        yield f"{kind}/{name}/head", cluster["headGroupSpec"]["template"]["spec"]
        for group in cluster.get("workerGroupSpecs", []):
            yield f"{kind}/{name}/{group['groupName']}", group["template"]["spec"]


def containers(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, pod in pod_specs(obj):
        for c in pod.get("initContainers", []) + pod["containers"]:
            yield f"{where}/{c['name']}", c
    for cluster in _cluster_specs(obj):
        if cluster.get("enableInTreeAutoscaling"):
            yield f"{obj['kind']}/autoscaler", cluster["autoscalerOptions"]


def _cluster_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {})
    return {
        "RayCluster": [spec],
        "RayService": [spec.get("rayClusterConfig", {})],
        "RayJob": [spec["rayClusterSpec"]] if "rayClusterSpec" in spec else [],
        "RayCronJob": [spec["jobTemplate"]["rayClusterSpec"]]
        if "rayClusterSpec" in spec.get("jobTemplate", {})
        else [],
    }.get(obj["kind"], [])


@pytest.mark.parametrize("name", VALUES_FILES)
def test_pods_and_containers_are_restricted(rendered_all, name):
    seen = 0
    for obj in rendered_all[name].objects:
        for where, pod in pod_specs(obj):
            ctx = pod["securityContext"]
            assert ctx["runAsNonRoot"] is True, where
            assert ctx["seccompProfile"]["type"] == "RuntimeDefault", where
            assert pod.get("automountServiceAccountToken") is False, where
            assert not pod.get("hostNetwork") and not pod.get("hostPID"), where
        for where, c in containers(obj):
            seen += 1
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert not sc["capabilities"].get("add"), where
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc.get("privileged") is not True, where
    assert seen >= 10


@pytest.mark.parametrize("name", VALUES_FILES)
def test_every_container_has_requests_and_limits(rendered_all, name):
    for obj in rendered_all[name].objects:
        for where, c in containers(obj):
            resources = c["resources"]
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[section]), f"{where} {section}"


@pytest.mark.parametrize("name", VALUES_FILES)
def test_ray_pods_have_writable_tmp_ray_emptydir(rendered_all, name):
    for obj in rendered_all[name].objects:
        for where, pod in pod_specs(obj):
            if where.endswith("/submitter") or obj["kind"] == "Deployment":
                continue
            volumes = {v["name"]: v for v in pod["volumes"]}
            mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp/ray"]], where
            assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory", where


SECRET_NAMES = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY$|ACCESS_KEY)", re.IGNORECASE)
SECRET_VALUES = re.compile(r"(postgres(ql)?://[^:]+:[^@]+@|AKIA[0-9A-Z]{16}|-----BEGIN|hf_[A-Za-z0-9]{20,})")


@pytest.mark.parametrize("name", VALUES_FILES)
def test_no_secret_literals(rendered_all, name):
    assert not rendered_all[name].by_kind("Secret")
    for obj in rendered_all[name].objects:
        text = json.dumps(obj)
        assert not SECRET_VALUES.search(text), obj["metadata"]["name"]
        for where, c in containers(obj):
            for env in c.get("env", []):
                if SECRET_NAMES.search(env["name"]) and env["name"] not in {"RAY_AUTH_MODE"}:
                    assert "value" not in env and "secretKeyRef" in env["valueFrom"], f"{where} {env['name']}"


@pytest.mark.parametrize("name", VALUES_FILES)
def test_default_deny_network_policy(rendered_all, name):
    policies = {p["metadata"]["name"]: p for p in rendered_all[name].by_kind("NetworkPolicy")}
    deny = policies["covary-default-deny"]["spec"]
    assert deny["podSelector"] == {"matchLabels": {"covary.io/release": "covary"}}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    # The Ray head's dashboard/Jobs API is only open to the operator namespace and job submitters.
    head = policies["covary-ray-head"]["spec"]["ingress"][0]
    assert {p["port"] for p in head["ports"]} == {8265, 52365}
    assert all("ipBlock" not in peer for peer in head["from"])
    # Nothing allows ingress from everywhere.
    for policy in policies.values():
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), policy["metadata"]["name"]


def test_every_ray_pod_is_selected_by_the_default_deny(rendered_all):
    deny_labels = {"covary.io/release": "covary"}
    for obj in rendered_all["production"].objects:
        for where, pod_spec in pod_specs(obj):
            del pod_spec
            labels = _pod_labels(obj, where)
            assert deny_labels.items() <= labels.items(), where


def _pod_labels(obj: dict[str, Any], where: str) -> dict[str, str]:
    spec = obj["spec"]
    if obj["kind"] == "Deployment":
        return spec["template"]["metadata"]["labels"]
    if where.endswith("/submitter"):
        job = spec if obj["kind"] == "RayJob" else spec["jobTemplate"]
        return job["submitterPodTemplate"]["metadata"]["labels"]
    cluster = _cluster_specs(obj)[0]
    group = where.rsplit("/", 1)[1]
    if group == "head":
        return cluster["headGroupSpec"]["template"]["metadata"]["labels"]
    return next(g for g in cluster["workerGroupSpecs"] if g["groupName"] == group)["template"]["metadata"]["labels"]


@pytest.mark.parametrize("name", VALUES_FILES)
def test_pdbs_never_block_or_allow_everything(rendered_all, name):
    pdbs = rendered_all[name].by_kind("PodDisruptionBudget")
    assert pdbs
    for pdb in pdbs:
        spec = pdb["spec"]
        assert "minAvailable" not in spec
        value = spec["maxUnavailable"]
        if isinstance(value, str):
            assert re.fullmatch(r"([1-9]|[1-9][0-9])%", value), value
        else:
            assert value >= 1
        assert spec["selector"]["matchLabels"]["covary.io/release"] == "covary"
