"""Where the lake lives: object-storage safety (conditional put) and shared-storage checks.

Delta's commit protocol needs an atomic "create this log entry only if it does not exist" from the
store. Local disks, AWS S3 (since 2024), MinIO and Ceph RGW recent releases give it via conditional
put (``If-None-Match: *``); a DynamoDB locking provider gives it on stores that do not. A store or a
proxy that silently ignores the condition lets two writers both "commit" version N: one commit is lost
with no error. :func:`verify_commit_safety` proves the guarantee with a probe before the first write
of a process and refuses an unsafe store, naming the setting to fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

from covary.settings import SECRET_OPTION, mask_storage_options
from lakehouse.errors import UnsafeStorageError

log = logging.getLogger(__name__)

PROBE_DIR = "_covary/storage-probe"
_verified: dict[tuple[str, tuple[tuple[str, str], ...]], bool] = {}
_lock = threading.Lock()


def is_remote(root: str) -> bool:
    """True for object-store URIs (``s3://``, ``gs://``, ``az://`` ...); local paths and ``file://`` are not."""
    return "://" in root and not root.startswith("file://")


def public_storage_options(options: dict[str, str]) -> dict[str, str]:
    """Storage options without any secret-looking key (what may travel in env vars, runtime envs, logs)."""
    return {k: v for k, v in options.items() if not SECRET_OPTION.search(k)}


def _option(options: dict[str, str], name: str) -> str | None:
    for key, value in options.items():
        if key.lower() == name.lower():
            return value
    return os.environ.get(name.upper())


def commit_coordination(options: dict[str, str]) -> str:
    """How delta-rs coordinates commits with these options: conditional-put, dynamodb or unsafe-rename."""
    if (_option(options, "aws_s3_locking_provider") or "").lower() == "dynamodb":
        return "dynamodb"
    if (_option(options, "aws_s3_allow_unsafe_rename") or "").lower() in {"1", "true", "yes"}:
        return "unsafe-rename"
    return "conditional-put"


def verify_commit_safety(root: str, options: dict[str, str], *, single_writer: bool = False) -> bool:
    """Prove that two writers racing for one Delta version cannot both succeed on this store.

    delta-rs commits version N by putting ``_delta_log/N.json`` with ``If-None-Match: *``; a store (or a
    proxy in front of it) that ignores the header lets a second writer overwrite the first's commit.
    The probe puts one object twice that way, through the same endpoint and credentials: the second put
    must be refused (412/409). Runs once per process and store; local paths need no probe. Raises
    :class:`UnsafeStorageError` unless ``single_writer`` (then it only warns). Returns True when safe.
    """
    if not is_remote(root):
        return True
    key = (root, tuple(sorted((k, v) for k, v in options.items())))
    with _lock:
        if key in _verified:
            return _verified[key]
    safe, detail = _probe(root, options)
    if not safe:
        mode = commit_coordination(options)
        message = (
            f"the lake store at {root} does not reject conflicting commits ({detail}; coordination: {mode}): "
            "with more than one writer, commits would be lost without an error"
        )
        hint = (
            "use a store that honours conditional writes (If-None-Match) - AWS S3, MinIO, Ceph RGW >= 18 - and no "
            "proxy that strips the header; or set COVARY_LAKE__STORAGE_OPTIONS with "
            '"aws_s3_locking_provider": "dynamodb" and "delta_dynamo_table_name"; or, if exactly one process '
            "ever writes this lake, COVARY_LAKE__SINGLE_WRITER=true"
        )
        if not single_writer:
            with _lock:
                _verified.pop(key, None)
            raise UnsafeStorageError(message, hint=hint)
        log.warning("%s; continuing because lake.single_writer is set", message)
    with _lock:
        _verified[key] = safe
    return safe


def _probe(root: str, options: dict[str, str]) -> tuple[bool, str]:
    """Put one probe object twice with ``If-None-Match: *`` (as delta-rs commits): the second must be refused."""
    scheme = root.split("://", 1)[0].lower()
    if scheme not in {"s3", "s3a"}:
        return True, f"{scheme}:// stores give atomic create-if-absent natively"
    mode = commit_coordination(options)
    if mode == "dynamodb":
        return True, "commits coordinated by the DynamoDB locking provider"
    if mode == "unsafe-rename":
        return False, "aws_s3_allow_unsafe_rename is set: commits use a non-atomic rename"
    bucket, _, prefix = root.split("://", 1)[1].partition("/")
    key = "/".join(
        p for p in (prefix.strip("/"), PROBE_DIR, f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}") if p
    )
    client = _s3_client(options)
    try:
        client.put_object(Bucket=bucket, Key=key, Body=b"1", IfNoneMatch="*")
        try:
            client.put_object(Bucket=bucket, Key=key, Body=b"2", IfNoneMatch="*")
            kept = True
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in (409, 412) or code in {"PreconditionFailed", "ConditionalRequestConflict"}:
                kept = False
            else:
                raise
        with contextlib.suppress(Exception):
            client.delete_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise UnsafeStorageError(
            f"cannot verify commit safety of the lake store at {root}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:300] if str(exc) else ''}",
            hint="check the endpoint, bucket and credentials (COVARY_LAKE__ROOT, COVARY_LAKE__STORAGE_OPTIONS, "
            "the secrets file)",
        ) from None  # from None: the store's error may carry credentials or signed URLs
    if kept:
        return False, "a second put with If-None-Match: * of an existing object was accepted"
    return True, "conditional put honoured"


def _s3_client(options: dict[str, str]) -> Any:
    """A botocore S3 client with the same endpoint, credentials and addressing as delta-rs would use."""
    import boto3
    from botocore.config import Config

    def opt(*names: str) -> str | None:
        for name in names:
            if (value := _option(options, name)) not in (None, ""):
                return value
        return None

    endpoint = opt("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint")
    virtual = (opt("aws_virtual_hosted_style_request", "virtual_hosted_style_request") or "").lower() == "true"
    proxies = {"http": p, "https": p} if (p := opt("aws_proxy_url", "proxy_url")) else None
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=opt("aws_access_key_id", "access_key_id"),
        aws_secret_access_key=opt("aws_secret_access_key", "secret_access_key"),
        aws_session_token=opt("aws_session_token", "session_token", "aws_token"),
        region_name=opt("aws_region", "region", "aws_default_region") or "us-east-1",
        config=Config(
            s3={"addressing_style": "virtual" if virtual else "path"},
            proxies=proxies,
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=30,
        ),
    )


def reset_verified() -> None:
    """Forget probe results (tests)."""
    with _lock:
        _verified.clear()


def check_shared_storage(root: str, *, shared: bool | None, nodes: list[dict[str, Any]] | None = None) -> None:
    """Refuse a local-path lake on a multi-node Ray cluster unless it is shared storage.

    ``shared``: True = the admin declares the path shared (NFS, RWX PVC) and it is trusted; False = it is
    not, so more than one node is refused; None = verify: a marker written here must be readable with the
    same content by a task on every node. ``nodes``: alive Ray nodes (``ray.nodes()``); default: ask Ray.
    """
    if is_remote(root):
        return
    import ray

    alive = [n for n in (nodes if nodes is not None else ray.nodes()) if n.get("Alive", n.get("alive", True))]
    if len(alive) <= 1 or shared is True:
        return
    path = root.removeprefix("file://")
    hint = (
        "put the lake on object storage (COVARY_LAKE__ROOT=s3://bucket/lake) or on a filesystem mounted at the "
        "same path on every node and set COVARY_LAKE__SHARED_STORAGE=true"
    )
    if shared is False:
        raise UnsafeStorageError(
            f"the lake {path} is a local path not declared shared, and the Ray cluster has {len(alive)} nodes: "
            "partitions written on other nodes would never reach this one",
            hint=hint,
        )
    missing = _nodes_without_marker(path, alive)
    if missing:
        raise UnsafeStorageError(
            f"the lake {path} is not shared storage: {len(missing)} of {len(alive)} Ray node(s) "
            f"({', '.join(m[:12] for m in missing)}) do not see it, so their writes would land on their own disks",
            hint=hint,
        )


def _nodes_without_marker(path: str, nodes: list[dict[str, Any]]) -> list[str]:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    marker_dir = Path(path) / "_covary"
    marker_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    marker = marker_dir / f"shared-check-{token}"
    marker.write_text(token)

    @ray.remote(num_cpus=0, max_retries=0)
    def _sees(p: str, expected: str) -> bool:
        from pathlib import Path as _P

        try:
            return _P(p).read_text() == expected
        except OSError:
            return False

    try:
        refs = {
            n["NodeID"]: _sees.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
            ).remote(str(marker), token)
            for n in nodes
        }
        return [node for node, ref in refs.items() if not ray.get(ref, timeout=120)]
    finally:
        marker.unlink(missing_ok=True)


__all__ = [
    "check_shared_storage",
    "commit_coordination",
    "is_remote",
    "mask_storage_options",
    "public_storage_options",
    "reset_verified",
    "verify_commit_safety",
]
