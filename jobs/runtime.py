"""Run covary jobs on a local Ray (started on demand) or submit them to a cluster's Jobs API."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import pkgutil
import re
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from covary.errors import ConfigError, TransientError
from covary.settings import Settings, get_settings
from jobs.common.config import validate_config
from jobs.errors import JobFailedError, RayUnavailableError, UnknownJobError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
_NOT_JOBS = {"runtime", "errors", "common"}
# Never uploaded with a job's working dir (gitignore syntax): environments, caches, local state, artefacts.
WORKING_DIR_EXCLUDES = [
    ".venv/",
    "venv/",
    ".covary/",
    ".git/",
    "test-artifacts/",
    "node_modules/",
    "__pycache__/",
    "*.pyc",
    ".pytest_cache/",
    ".ruff_cache/",
    ".mypy_cache/",
    "*.egg-info/",
    "build/",
    "dist/",
    ".whl/",
    ".gl/",
    "mlruns/",
    "mlartifacts/",
    "*.db",
]
_SECRET_ENV = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|_KEY$|CLIENT_ID|CREDENTIAL", re.IGNORECASE)


def _secret_setting_envs() -> set[str]:
    """COVARY_* names of every SecretStr setting (``COVARY_LLM__API_KEY`` ...)."""
    from pydantic import SecretStr

    from covary.settings import Settings, env_name, setting_paths

    out: set[str] = set()
    for path in setting_paths():
        model: Any = Settings
        annotation: Any = None
        for part in path:
            field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
            if field is None:
                break
            annotation = field.annotation
            model = annotation
        if (annotation is not None and "SecretStr" in str(annotation)) or annotation is SecretStr:
            out.add(env_name(path))
    return out


def is_secret_env(name: str) -> bool:
    """True for variables that hold a secret: SecretStr settings, secret storage options, tokens, keys."""
    upper = name.upper()
    if upper in {"COVARY_SECRETS_FILE", "RAY_AUTH_TOKEN_PATH"}:
        return False  # paths, not secrets
    return (
        upper in _secret_setting_envs()
        or upper.startswith("COVARY_LAKE__SECRET_STORAGE_OPTIONS")
        or bool(_SECRET_ENV.search(upper))
    )


def public_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The COVARY_* settings a Ray runtime env may carry: every secret dropped (workers read secrets from the
    secrets file or their pod's Secret-backed environment), secret keys removed from the storage options."""
    from lakehouse.storage import public_storage_options

    out: dict[str, str] = {}
    for key, value in (os.environ if environ is None else environ).items():
        if not key.upper().startswith("COVARY_") or is_secret_env(key):
            continue
        if key.upper() == "COVARY_LAKE__STORAGE_OPTIONS":
            with contextlib.suppress(ValueError, AttributeError):  # malformed: settings validation reports it
                out[key] = json.dumps(public_storage_options(json.loads(value)))
            continue
        out[key] = value
    return out


def available_jobs() -> list[str]:
    """Jobs are the packages ``jobs/<name>/`` that define ``main(config) -> dict``."""
    import jobs

    return sorted(m.name for m in pkgutil.iter_modules(jobs.__path__) if m.ispkg and m.name not in _NOT_JOBS)


def job_main(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    if name not in available_jobs():
        raise UnknownJobError(f"unknown job {name!r}", hint=f"available: {', '.join(available_jobs())}")
    module = importlib.import_module(f"jobs.{name}")
    main = getattr(module, "main", None)
    if main is None:
        raise UnknownJobError(f"jobs.{name} has no main(config)")
    return main  # type: ignore[no-any-return]


def ensure_ray(settings: Settings | None = None) -> None:
    """Connect to ``COVARY_RAY__ADDRESS`` or start a local Ray once per process."""
    import ray

    if ray.is_initialized():
        return
    settings = settings or get_settings()
    env_vars = public_env()  # never a secret: Ray writes runtime envs into its logs
    env_vars.setdefault("COVARY_HOME", str(settings.home.resolve()))
    env_vars["HF_HUB_OFFLINE"] = os.environ.get("HF_HUB_OFFLINE", "1")
    kwargs: dict[str, Any] = {
        "namespace": settings.ray.namespace,
        "ignore_reinit_error": True,
        "log_to_driver": True,
        "runtime_env": {"env_vars": env_vars},
    }
    if os.environ.get("RAY_JOB_ID") or (os.environ.get("RAY_ADDRESS") and not settings.ray.address):
        # Inside a submitted job (or pointed at a cluster by Ray's own variable): the job's runtime env
        # already applies, and Ray refuses to merge a second one.
        kwargs.pop("runtime_env")
        kwargs["address"] = os.environ.get("RAY_ADDRESS", "auto")
    elif settings.ray.address:
        kwargs["address"] = settings.ray.address
    elif (cluster := _local_cluster(settings)) is not None:  # `covary up`: attach instead of starting Ray
        kwargs["address"] = cluster["gcs_address"]
    else:
        kwargs["num_cpus"] = settings.ray.num_cpus or os.cpu_count() or 2
        kwargs["include_dashboard"] = settings.ray.include_dashboard
    try:
        ray.init(**kwargs)
    except ConnectionError as exc:
        raise RayUnavailableError(
            f"cannot reach Ray at {settings.ray.address}: {exc}",
            hint="check COVARY_RAY__ADDRESS, or unset it to use a local Ray",
        ) from exc


# Jobs whose main never starts a Ray task: ``covary job run NAME --local`` runs them without Ray at all.
LOCAL_JOBS = frozenset({"kpi", "dq"})


def _local_cluster(settings: Settings) -> dict[str, Any] | None:
    from jobs import local_cluster

    info = local_cluster.current(settings)
    if info is not None:
        local_cluster.attach_env(info)
    return info


def run_job(
    name: str, config: dict[str, Any] | None = None, *, settings: Settings | None = None, local: bool = False
) -> dict[str, Any]:
    """Run job ``name`` in this process as the Ray driver (local Ray or COVARY_RAY__ADDRESS).

    ``local``: run a small job (:data:`LOCAL_JOBS`) in this process without starting or joining Ray.
    Before a job runs on a cluster of several nodes, a local-path lake must be shared storage.
    """
    main = job_main(name)
    config = validate_config(name, config)  # an unknown key or a bad value fails before Ray starts
    settings = settings or get_settings()
    if local:
        if name not in LOCAL_JOBS:
            raise ConfigError(
                f"job {name!r} runs Ray tasks and cannot run with --local",
                hint=f"jobs that can: {', '.join(sorted(LOCAL_JOBS))}; drop --local for the others",
            )
    else:
        ensure_ray(settings)
        from lakehouse.storage import check_shared_storage

        check_shared_storage(settings.lake_root, shared=settings.lake.shared_storage)
    from covary import metrics  # job runs and wall time feed the Grafana "Jobs" row

    started, status = time.perf_counter(), "failed"
    try:
        result = main(config)
        status = "succeeded"
        return result
    finally:
        metrics.inc("covary_job_runs", job_name=name, status=status)
        metrics.observe("covary_job_duration_s", time.perf_counter() - started, job_name=name)


def ray_retry_options() -> dict[str, Any]:
    """Ray task options: retry transient errors (and crashed workers), never terminal ones."""
    return {"max_retries": 3, "retry_exceptions": [TransientError]}


# ------------------------------------------------------------------------------- Ray Jobs API
def _client(address: str | None, settings: Settings) -> Any:
    from ray.job_submission import JobSubmissionClient

    address = address or settings.ray.dashboard_url or os.environ.get("RAY_ADDRESS")
    if not address and (cluster := _local_cluster(settings)) is not None:
        address = cluster["dashboard_url"]
    if not address:
        raise RayUnavailableError(
            "no Ray Jobs API address", hint="pass --address http://HEAD:8265 or set COVARY_RAY__DASHBOARD_URL"
        )
    token = ray_auth_token(settings)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return JobSubmissionClient(address, headers=headers or None)
    except Exception as exc:
        raise RayUnavailableError(
            f"cannot reach the Ray Jobs API at {address}: {exc}",
            hint="is `ray start --head` running and the dashboard port reachable?",
        ) from exc


def ray_auth_token(settings: Settings) -> str | None:
    """Ray token auth: settings > RAY_AUTH_TOKEN > RAY_AUTH_TOKEN_PATH > ~/.ray/auth_token (Ray's default)."""
    if settings.ray.auth_token:
        return settings.ray.auth_token.get_secret_value()
    if token := os.environ.get("RAY_AUTH_TOKEN"):
        return token.strip()
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if path.is_file():
        return path.read_text().strip() or None
    return None


def pinned_requirements() -> list[str]:
    """The pinned requirements shipped in the runtime env (requirements.lock, minus dev tools)."""
    lock = REPO_ROOT / "requirements.lock"
    if not lock.exists():
        return []
    return [
        line.strip()
        for line in lock.read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-e", "covary"))
    ]


def submit_job(
    name: str,
    config: dict[str, Any] | None = None,
    *,
    address: str | None = None,
    pip: bool = True,
    env: dict[str, str] | None = None,
    submission_id: str | None = None,
    settings: Settings | None = None,
    entrypoint: str | None = None,
) -> str:
    """Submit job ``name`` to a cluster with the repository as working dir; return the submission id.

    ``entrypoint``: the command the cluster runs (default ``python -m jobs.<name>``; ``covary job submit demo``
    passes ``python -m covary job run demo --json``, the demo being orchestrated by the CLI)."""
    settings = settings or get_settings()
    secret = sorted(k for k in (env or {}) if is_secret_env(k))
    if secret:
        raise ConfigError(
            f"refusing to send secret variable(s) {', '.join(secret)} with the job: Ray records runtime envs "
            "in its logs and shows them through the Jobs API",
            hint="put secrets in each node's secrets file (COVARY_SECRETS_FILE, mode 0600) or in the pods' "
            "Kubernetes Secret; pass only COVARY_SECRETS_FILE=/path with --env",
        )
    if entrypoint is None:
        job_main(name)  # fail fast on unknown names
    config = validate_config(name, config)  # ... and on unknown config keys, before anything is uploaded
    client = _client(address, settings)
    runtime_env: dict[str, Any] = {
        "working_dir": str(REPO_ROOT),
        "excludes": list(WORKING_DIR_EXCLUDES),
        "env_vars": {"HF_HUB_OFFLINE": "1", "PYTHONPATH": ".", **(env or {})},
    }
    if pip and (reqs := pinned_requirements()):
        runtime_env["pip"] = {"packages": reqs, "pip_check": False}
    # `python` of the node (its PATH) or of the job's pip env: never this machine's interpreter path
    entrypoint = entrypoint or f"python -m jobs.{name}"
    if config:
        entrypoint += f" --config-json {shlex.quote(json.dumps(config))}"
    deadline = time.monotonic() + 90
    while True:  # a freshly started head answers "No available agent" until its job agent is up
        try:
            return str(client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env, submission_id=submission_id))
        except RuntimeError as exc:
            if "No available agent" not in str(exc) or time.monotonic() > deadline:
                raise RayUnavailableError(f"job submission failed: {exc}") from exc
            time.sleep(2.0)


def job_status(submission_id: str, *, address: str | None = None) -> dict[str, Any]:
    client = _client(address, get_settings())
    info = client.get_job_info(submission_id)
    return {
        "submission_id": submission_id,
        "status": str(info.status),
        "message": info.message,
        "entrypoint": info.entrypoint,
        "start_time": info.start_time,
        "end_time": info.end_time,
    }


def job_logs(submission_id: str, *, address: str | None = None) -> str:
    return str(_client(address, get_settings()).get_job_logs(submission_id))


def stop_job(submission_id: str, *, address: str | None = None) -> bool:
    return bool(_client(address, get_settings()).stop_job(submission_id))


def wait_job(submission_id: str, *, address: str | None = None, timeout_s: float = 600) -> dict[str, Any]:
    """Poll until the job ends; raise :class:`JobFailedError` with the log tail if it failed."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = job_status(submission_id, address=address)
        if status["status"] in ("SUCCEEDED", "FAILED", "STOPPED"):
            break
        if time.monotonic() > deadline:
            raise JobFailedError(f"job {submission_id} still {status['status']} after {timeout_s:.0f}s")
        time.sleep(1.0)
    if status["status"] != "SUCCEEDED":
        tail = job_logs(submission_id, address=address)[-2000:]
        raise JobFailedError(f"job {submission_id} {status['status']}: {status['message']}\n{tail}")
    return status


def cli_entry(name: str, argv: list[str] | None = None) -> None:
    """``python -m jobs.<name> [--config-json JSON]``: the entrypoint used by Ray job submission."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m jobs.{name}")
    parser.add_argument("--config-json", default="{}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = run_job(name, json.loads(args.config_json))
    print(json.dumps(result, indent=2, default=str))


__all__ = [
    "available_jobs",
    "cli_entry",
    "ensure_ray",
    "job_logs",
    "job_main",
    "job_status",
    "pinned_requirements",
    "ray_retry_options",
    "run_job",
    "stop_job",
    "submit_job",
    "wait_job",
]
