"""A thin Kubernetes API client for covary's objects: server-side apply and custom-resource reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from charts.deploy.errors import KubeAuthError, KubeRequestError, KubeUnavailableError, UnsupportedKindError

FIELD_MANAGER = "covary"


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str

    def path(self, namespace: str, name: str | None = None) -> str:
        prefix = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        path = f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{path}/{name}" if name else path


# Every kind the chart renders (all namespaced). No discovery round trips: the chart is the contract.
RESOURCES: dict[str, Resource] = {
    "ServiceAccount": Resource("", "v1", "serviceaccounts"),
    "ConfigMap": Resource("", "v1", "configmaps"),
    "Secret": Resource("", "v1", "secrets"),
    "Service": Resource("", "v1", "services"),
    "PersistentVolumeClaim": Resource("", "v1", "persistentvolumeclaims"),
    "Deployment": Resource("apps", "v1", "deployments"),
    "NetworkPolicy": Resource("networking.k8s.io", "v1", "networkpolicies"),
    "Ingress": Resource("networking.k8s.io", "v1", "ingresses"),
    "PodDisruptionBudget": Resource("policy", "v1", "poddisruptionbudgets"),
    "RayCluster": Resource("ray.io", "v1", "rayclusters"),
    "RayService": Resource("ray.io", "v1", "rayservices"),
    "RayJob": Resource("ray.io", "v1", "rayjobs"),
    "RayCronJob": Resource("ray.io", "v1", "raycronjobs"),
    "ServiceMonitor": Resource("monitoring.coreos.com", "v1", "servicemonitors"),
    "PodMonitor": Resource("monitoring.coreos.com", "v1", "podmonitors"),
    "PrometheusRule": Resource("monitoring.coreos.com", "v1", "prometheusrules"),
}

_CRD_HINTS = {
    "ray.io": "install the KubeRay operator (helm install kuberay-operator kuberay/kuberay-operator) first",
    "monitoring.coreos.com": "install the Prometheus operator, or set monitoring.podMonitor/serviceMonitor=false",
}


def resource_for(obj: dict[str, Any]) -> Resource:
    kind = obj.get("kind", "")
    if kind not in RESOURCES:
        raise UnsupportedKindError(f"cannot apply kind {kind!r}", hint=f"known kinds: {', '.join(sorted(RESOURCES))}")
    res = RESOURCES[kind]
    group = obj.get("apiVersion", "").rpartition("/")[0]
    if group != res.group:
        raise UnsupportedKindError(f"{kind} has apiVersion {obj.get('apiVersion')!r}; expected group {res.group!r}")
    return res


class KubeClient:
    """Wraps ``kubernetes.client.ApiClient``; every call maps API errors to covary errors."""

    def __init__(self, api_client: Any) -> None:
        self.api = api_client

    @classmethod
    def from_config(cls, *, kubeconfig: str | None = None, context: str | None = None) -> KubeClient:
        """From a kubeconfig (KUBECONFIG, ~/.kube/config) or, inside a pod, the service account."""
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
        except (config.ConfigException, FileNotFoundError, TypeError) as exc:
            try:
                config.load_incluster_config(client_configuration=configuration)
            except config.ConfigException as inner:
                raise KubeUnavailableError(
                    f"no Kubernetes configuration: {exc}",
                    hint="pass --kubeconfig, set KUBECONFIG, or run inside a pod with a service account",
                ) from inner
        return cls(client.ApiClient(configuration))

    @property
    def host(self) -> str:
        return str(self.api.configuration.host)

    def _call(
        self, method: str, path: str, *, query: list[tuple[str, str]], body: Any = None, headers: dict[str, str]
    ) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        params = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query,
            header_params={"Accept": "application/json", **headers},
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(*params, _request_timeout=30)
            response.read()
            return self.api.response_deserialize(response, {"200": "object", "201": "object"}).data
        except ApiException as exc:
            raise self._translate(exc, method, path) from exc
        except (HTTPError, OSError) as exc:
            raise KubeUnavailableError(
                f"cannot reach the Kubernetes API at {self.host}: {exc}",
                hint="check the kubeconfig context and network",
            ) from exc

    def _translate(self, exc: Any, method: str, path: str) -> Exception:
        status = int(getattr(exc, "status", 0) or 0)
        try:
            detail = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, AttributeError):
            detail = str(exc.body or exc.reason or "")
        where = f"{method} {path}"
        if status in (401, 403):
            return KubeAuthError(
                f"the API server refused {where} ({status}): {detail}",
                hint="check the kubeconfig user; covary deploy needs create/patch/get on these kinds in the namespace",
            )
        if status >= 500 or status == 0:
            return KubeUnavailableError(f"the API server failed {where} ({status}): {detail}", hint="retry shortly")
        if status == 404:
            group = path.split("/")[2] if path.startswith("/apis/") else ""
            hint = _CRD_HINTS.get(group, "does the namespace exist? (kubectl create namespace ...)")
            return KubeRequestError(f"{where} not found: {detail or 'no such resource type or namespace'}", hint=hint)
        return KubeRequestError(f"the API server rejected {where} ({status}): {detail}")

    def apply(
        self, obj: dict[str, Any], *, namespace: str, force: bool = True, dry_run: bool = False
    ) -> dict[str, Any]:
        """Server-side apply (PATCH application/apply-patch+yaml, fieldManager=covary)."""
        res = resource_for(obj)
        name = obj["metadata"]["name"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        body = dict(obj)
        body["metadata"] = {**obj["metadata"], "namespace": namespace}
        return dict(
            self._call(
                "PATCH",
                res.path(namespace, name),
                query=query,
                body=body,
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
            or {}
        )

    def list(self, kind: str, *, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        res = RESOURCES[kind]
        query = [("labelSelector", label_selector)] if label_selector else []
        answer = self._call("GET", res.path(namespace), query=query, headers={}) or {}
        return list(answer.get("items", []))


__all__ = ["FIELD_MANAGER", "RESOURCES", "KubeClient", "Resource", "resource_for"]
