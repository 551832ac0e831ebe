"""Helm releases through helm-python-sdk (Helm's Go library, no helm binary): install or upgrade, history,
rollback, uninstall. Releases are stored the way the helm CLI stores them (Secrets ``sh.helm.release.v1.*``
in the release namespace), so ``helm list``, ``helm rollback`` and ``helm uninstall`` see them too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charts.deploy.errors import ChartRenderError, DeployError, KubeRequestError, KubeUnavailableError
from charts.deploy.render import CHART_DIR


def _config(*, namespace: str, kubeconfig: str | None, context: str | None, storage: str | None = None) -> Any:
    import helm_python

    helm_python.disable_logging()
    return helm_python.Config(
        kubeconfig_path=kubeconfig, kube_context=context, namespace=namespace, storage_driver=storage
    )


def _translate(exc: Exception, what: str) -> DeployError:
    import helm_python

    text = " ".join(str(exc).split())
    if isinstance(exc, helm_python.HelmKubeError) or "cluster unreachable" in text or "connection refused" in text:
        return KubeUnavailableError(
            f"{what}: the Kubernetes API server is unreachable ({text})",
            hint="check --kubeconfig/--context (default: KUBECONFIG, ~/.kube/config, in-cluster) and the network",
        )
    if isinstance(exc, helm_python.HelmValuesError | helm_python.HelmRenderError):
        return ChartRenderError(f"{what}: the chart refused the values: {text}", hint="see helm/covary/README.md")
    if isinstance(exc, helm_python.HelmNotFoundError):
        return KubeRequestError(f"{what}: {text}", hint="`covary deploy history` lists the release's revisions")
    return KubeRequestError(f"{what}: {text}")


def _summary(release: dict[str, Any], action: str) -> dict[str, Any]:
    keys = ("name", "namespace", "revision", "status", "chart_name", "chart_version", "app_version", "deployed_at")
    return {"action": action, **{k: release.get(k) for k in keys}}


def install_or_upgrade(
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kubeconfig: str | None = None,
    context: str | None = None,
    dry_run: bool | str = False,
    wait: bool = False,
    timeout_s: int = 600,
    chart_dir: str | Path = CHART_DIR,
    storage: str | None = None,
) -> dict[str, Any]:
    """``helm upgrade --install``: a new release, or a new revision of an existing one.

    ``dry_run=True`` renders against the API server without changing anything (Helm's ``--dry-run=server``);
    ``"client"`` does not contact it. A dry run's answer carries the release ``manifest``. ``storage``:
    Helm's release storage driver (default ``secret``, as the helm CLI).
    """
    import helm_python

    cfg = _config(namespace=namespace, kubeconfig=kubeconfig, context=context, storage=storage)
    try:
        offline = dry_run == "client"  # no API server: an install as Helm would render it, nothing looked up
        try:
            revisions = [] if offline else cfg.history(release)
        except helm_python.HelmNotFoundError:
            revisions = []
        common: dict[str, Any] = {
            "namespace": namespace,
            "timeout": timeout_s,
            "wait": "watcher" if wait else None,
            "dry_run": ("server" if dry_run is True else dry_run) or None,
            "description": "covary deploy apply",
        }
        if revisions:
            answer = cfg.upgrade(str(chart_dir), release, values, **common)
            action = "upgraded"
        else:
            answer = cfg.install(str(chart_dir), release, values, create_namespace=not offline, **common)
            action = "installed"
    except helm_python.HelmError as exc:
        raise _translate(exc, f"helm install/upgrade of release {release!r}") from exc
    finally:
        cfg.close()
    row = _summary(answer, action + (" (dry run)" if dry_run else ""))
    if dry_run:
        row["manifest"] = answer.get("manifest", "")
    return row


def history(
    *, release: str, namespace: str, kubeconfig: str | None = None, context: str | None = None
) -> list[dict[str, Any]]:
    """The release's revisions, oldest first (``helm history``)."""
    import helm_python

    cfg = _config(namespace=namespace, kubeconfig=kubeconfig, context=context)
    try:
        return [_summary(r, "revision") for r in cfg.history(release)]
    except helm_python.HelmError as exc:
        raise _translate(exc, f"helm history of release {release!r}") from exc
    finally:
        cfg.close()


def rollback(
    *,
    release: str,
    namespace: str,
    revision: int | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
) -> None:
    """``helm rollback RELEASE [REVISION]`` (default: the previous revision); creates a new revision."""
    import helm_python

    cfg = _config(namespace=namespace, kubeconfig=kubeconfig, context=context)
    try:
        cfg.rollback(release, version=revision)
    except helm_python.HelmError as exc:
        raise _translate(exc, f"helm rollback of release {release!r}") from exc
    finally:
        cfg.close()


def uninstall(
    *, release: str, namespace: str, kubeconfig: str | None = None, context: str | None = None
) -> dict[str, Any]:
    """``helm uninstall``: delete the release's objects and its history."""
    import helm_python

    cfg = _config(namespace=namespace, kubeconfig=kubeconfig, context=context)
    try:
        answer = cfg.uninstall(release)
    except helm_python.HelmError as exc:
        raise _translate(exc, f"helm uninstall of release {release!r}") from exc
    finally:
        cfg.close()
    return {"release": release, "namespace": namespace, "info": answer.get("info", "")}


__all__ = ["history", "install_or_upgrade", "rollback", "uninstall"]
