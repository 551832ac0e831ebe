"""MLflow plumbing: settings-driven tracking URI and artifact root, experiments, registry and aliases."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.common.errors import ModelNotFoundError, TrackingUnavailableError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from covary.settings import Settings

log = logging.getLogger(__name__)
CHAMPION = "champion"


def configure(settings: Settings | None = None) -> str:
    """Point MLflow at ``settings.mlflow_tracking_uri`` (sqlite under COVARY_HOME by default); return it."""
    import mlflow

    if settings is None:
        from covary.settings import get_settings

        settings = get_settings()
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(settings.mlflow.registry_uri or uri)
    return uri


def client(settings: Settings | None = None) -> MlflowClient:
    from mlflow import MlflowClient

    configure(settings)
    return MlflowClient()


def experiment(name: str, settings: Settings | None = None) -> str:
    """Id of experiment ``<prefix>-<name>``, created with its artifacts under ``mlflow_artifact_root``."""
    import mlflow

    if settings is None:
        from covary.settings import get_settings

        settings = get_settings()
    configure(settings)
    full = f"{settings.mlflow.experiment_prefix}-{name}"
    try:
        found = mlflow.get_experiment_by_name(full)
        if found is not None:
            mlflow.set_experiment(experiment_id=found.experiment_id)
            return str(found.experiment_id)
        root = settings.mlflow_artifact_root
        location: str | None = root if "://" in root else Path(root).resolve().joinpath(full).as_uri()
        if settings.mlflow.artifact_root is None and settings.mlflow_tracking_uri.startswith(("http://", "https://")):
            location = None  # a tracking server stores (or proxies) artifacts where it was configured to
        exp_id = mlflow.create_experiment(full, artifact_location=location)
    except Exception as exc:
        if _unreachable(exc):
            raise TrackingUnavailableError(
                f"MLflow tracking at {mlflow.get_tracking_uri()} is unreachable: {exc}",
                hint="start the server or unset COVARY_MLFLOW__TRACKING_URI to use the local sqlite store",
            ) from exc
        raise
    mlflow.set_experiment(experiment_id=exp_id)
    return str(exp_id)


def _unreachable(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("connection refused", "max retries", "failed to establish", "timed out"))


def model_name(kind: str, series_id: str, settings: Settings | None = None) -> str:
    """Registered-model name, e.g. ``covary.forecast.synth.marketing.spend``."""
    if settings is None:
        from covary.settings import get_settings

        settings = get_settings()
    return f"{settings.mlflow.experiment_prefix}.{kind}.{series_id}"


def set_champion_if_better(name: str, version: str, score: float, *, metric: str, lower_is_better: bool = True) -> bool:
    """Point alias ``champion`` at ``version`` unless the current champion scored better on ``metric``."""
    c = client()
    c.set_model_version_tag(name, version, metric, f"{score:.6g}")
    try:
        current = c.get_model_version_by_alias(name, CHAMPION)
        best = float(current.tags.get(metric, "nan"))
    except Exception:
        current, best = None, float("nan")
    better = math.isnan(best) or (score <= best if lower_is_better else score >= best)  # NaN: no score yet
    if current is None or better:
        c.set_registered_model_alias(name, CHAMPION, version)
        return True
    return False


def list_models(prefix: str | None = None) -> list[dict[str, Any]]:
    """Registered models (optionally only names starting with ``prefix``) with latest version and aliases."""
    c = client()
    out = []
    for m in c.search_registered_models(max_results=1000):
        if prefix and not m.name.startswith(prefix):
            continue
        versions = c.search_model_versions(f"name = '{m.name}'")
        latest = max((int(v.version) for v in versions), default=None)
        out.append(
            {
                "name": m.name,
                "latest_version": latest,
                "aliases": {k: str(v) for k, v in (m.aliases or {}).items()},
                "updated": _ts(m.last_updated_timestamp),
                "description": m.description or "",
            }
        )
    return sorted(out, key=lambda r: r["name"])


def show_model(name: str) -> dict[str, Any]:
    """One registered model: its versions (run, tags, metrics) and aliases."""
    c = client()
    try:
        m = c.get_registered_model(name)
    except Exception as exc:
        raise ModelNotFoundError(f"no registered model {name!r}", hint="list them with `covary model list`") from exc
    versions = []
    for v in sorted(c.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version)):
        metrics: dict[str, float] = {}
        params: dict[str, str] = {}
        if v.run_id:
            try:
                run = c.get_run(v.run_id)
                metrics, params = dict(run.data.metrics), dict(run.data.params)
            except Exception as exc:  # the run may have been deleted; the version is still worth showing
                log.warning("run %s of %s v%s unreadable: %s", v.run_id, name, v.version, exc)
        versions.append(
            {
                "version": v.version,
                "run_id": v.run_id,
                "source": v.source,
                "created": _ts(v.creation_timestamp),
                "tags": dict(v.tags or {}),
                "aliases": list(v.aliases or []),
                "metrics": metrics,
                "params": params,
            }
        )
    return {
        "name": m.name,
        "description": m.description or "",
        "aliases": {k: str(v) for k, v in (m.aliases or {}).items()},
        "tags": dict(m.tags or {}),
        "versions": versions,
    }


def promote(name: str, version: str | int, alias: str = CHAMPION) -> dict[str, Any]:
    """Point ``alias`` of model ``name`` at ``version``."""
    c = client()
    try:
        c.get_model_version(name, str(version))
    except Exception as exc:
        raise ModelNotFoundError(
            f"model {name!r} has no version {version}", hint=f"see the versions with `covary model show {name}`"
        ) from exc
    previous = None
    try:
        previous = c.get_model_version_by_alias(name, alias).version
    except Exception:
        previous = None
    c.set_registered_model_alias(name, alias, str(version))
    return {"name": name, "alias": alias, "version": str(version), "previous_version": previous}


def champion_uri(name: str) -> str:
    return f"models:/{name}@{CHAMPION}"


def _ts(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else None


__all__ = [
    "CHAMPION",
    "champion_uri",
    "client",
    "configure",
    "experiment",
    "list_models",
    "model_name",
    "promote",
    "set_champion_if_better",
    "show_model",
]
