"""``covary deploy status``: conditions of the release's RayClusters, RayServices, RayJobs and RayCronJobs."""

from __future__ import annotations

from typing import Any

from charts.deploy.kube import KubeClient

KINDS = ("RayCluster", "RayService", "RayJob", "RayCronJob")


def _conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c.get("type", "?"): c.get("status", "?") for c in status.get("conditions", []) or []}


def summarize(obj: dict[str, Any]) -> dict[str, Any]:
    """One row per object: its state in a word, whether that is healthy, and the details behind it."""
    kind, status = obj["kind"], obj.get("status", {}) or {}
    conditions = _conditions(status)
    row: dict[str, Any] = {"kind": kind, "name": obj["metadata"]["name"], "conditions": conditions}
    if kind == "RayService":
        apps = (status.get("activeServiceStatus") or {}).get("applicationStatuses") or {}
        row["state"] = status.get("serviceStatus") or ("Ready" if conditions.get("Ready") == "True" else "Pending")
        row["applications"] = {name: (app or {}).get("status", "?") for name, app in apps.items()}
        row["endpoints"] = status.get("numServeEndpoints", 0)
        row["healthy"] = conditions.get("Ready") == "True" and all(s == "RUNNING" for s in row["applications"].values())
    elif kind == "RayJob":
        row["state"] = status.get("jobStatus") or status.get("jobDeploymentStatus") or "Pending"
        row["deployment"] = status.get("jobDeploymentStatus")
        row["message"] = status.get("message", "")
        row["healthy"] = row["state"] not in ("FAILED", "STOPPED") and status.get("jobDeploymentStatus") != "Failed"
    elif kind == "RayCronJob":
        spec = obj.get("spec", {})
        row["state"] = "Suspended" if spec.get("suspend") else "Scheduled"
        row["schedule"] = spec.get("schedule")
        row["lastScheduleTime"] = status.get("lastScheduleTime")
        row["healthy"] = True
    else:  # RayCluster
        row["state"] = status.get("state") or ("ready" if conditions.get("HeadPodReady") == "True" else "pending")
        row["workers"] = f"{status.get('readyWorkerReplicas', 0)}/{status.get('desiredWorkerReplicas', 0)}"
        row["healthy"] = row["state"] == "ready"
    return row


def release_status(client: KubeClient, *, namespace: str, release: str) -> dict[str, Any]:
    """Every Ray object of ``release`` in ``namespace``, summarized, with an overall ``healthy`` flag."""
    rows = []
    for kind in KINDS:
        for obj in client.list(kind, namespace=namespace, label_selector=f"covary.io/release={release}"):
            obj.setdefault("kind", kind)
            rows.append(summarize(obj))
    return {
        "namespace": namespace,
        "release": release,
        "healthy": bool(rows) and all(r["healthy"] for r in rows),
        "objects": rows,
    }


__all__ = ["KINDS", "release_status", "summarize"]
