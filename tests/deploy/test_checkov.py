"""checkov (PyPI) on the rendered production manifests: 0 failed checks; every suppression is a
``checkov.io/skipN`` annotation in the chart with its reason. checkov does not know KubeRay's kinds, so the
pod templates of RayCluster/RayService/RayJob/RayCronJob are also scanned as Pods (their annotations kept)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from charts.deploy import load_values, render, write_manifests
from charts.deploy.render import CHART_DIR

REPO = Path(__file__).resolve().parents[2]
CHECKOV = shutil.which("checkov") or str(REPO / ".venv" / "tools" / "checkov" / "bin" / "checkov")
pytestmark = pytest.mark.skipif(
    not Path(CHECKOV).is_file(), reason="checkov not installed (.ci/run installs it in .venv/tools/checkov)"
)


def pod_templates(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, pod template) of every pod a KubeRay object makes."""
    kind, spec, name = obj["kind"], obj.get("spec", {}), obj["metadata"]["name"]

    def cluster(cspec: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        yield f"{prefix}-head", cspec["headGroupSpec"]["template"]
        for group in cspec.get("workerGroupSpecs", []):
            yield f"{prefix}-{group['groupName']}", group["template"]

    if kind == "RayCluster":
        yield from cluster(spec, name)
    elif kind == "RayService":
        yield from cluster(spec["rayClusterConfig"], name)
    elif kind in ("RayJob", "RayCronJob"):
        job = spec["jobTemplate"] if kind == "RayCronJob" else spec
        if "rayClusterSpec" in job:
            yield from cluster(job["rayClusterSpec"], name)
        if "submitterPodTemplate" in job:
            yield f"{name}-submitter", job["submitterPodTemplate"]


def test_production_manifests_pass_checkov(tmp_path: Path) -> None:
    rendered = render(load_values([CHART_DIR / "ci" / "production-values.yaml"]))
    out = tmp_path / "k8s"
    write_manifests(rendered, out)
    pods = 0
    for obj in rendered.objects:
        for name, template in pod_templates(obj):
            meta = {k: v for k, v in (template.get("metadata") or {}).items() if k in ("labels", "annotations")}
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": obj["metadata"]["namespace"], **meta},
                "spec": template["spec"],
            }
            (out / f"pod-{name}.yaml").write_text(yaml.safe_dump(pod))
            pods += 1
    assert pods >= 10  # head + worker groups of the cluster, the service, the one-off job and each schedule
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_"))} | {"LOG_LEVEL": "ERROR"}
    done = subprocess.run(
        [CHECKOV, "-d", str(out), "--framework", "kubernetes", "-o", "json", "--skip-download"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    summary, results = report["summary"], report["results"]
    failed = [(f["check_id"], f["check_name"], f["resource"]) for f in results["failed_checks"]]
    assert summary["parsing_errors"] == 0 and not failed, failed
    assert summary["resource_count"] >= len(rendered.objects) + pods - 2 and summary["passed"] > 500
    # every suppression is an annotation of the chart carrying its reason (checkov's JSON drops the reasons)
    skipped = {s["check_id"] for s in results["skipped_checks"]}
    assert skipped == {"CKV_K8S_35", "CKV_K8S_40", "CKV_K8S_8", "CKV_K8S_9"}, skipped
    reasons: dict[str, set[str]] = {}
    for path in out.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        for key, value in ((doc.get("metadata") or {}).get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                reasons.setdefault(check, set()).add(reason)
    assert set(reasons) == skipped
    assert all(len(r) > 40 for rs in reasons.values() for r in rs), reasons
