"""``POST /v1/upload``: stream the body to disk under a byte cap, then parse and land it in a worker process.

The ingress replica serves every route, so it never decodes an upload: the file goes to a fresh
spawned process (one per upload, ``max_tasks_per_child=1``, so whatever it allocated is returned to
the OS when it exits) that runs :func:`connectors.files.upload_file` under the decoded-row, -byte,
-column and field-size caps (``connectors.upload_*`` settings). Over a cap the answer is 413 naming the
cap and nothing is committed; bad file names are 400 with the reason.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from serve.auth import Principal, require_role
from serve.guard.policy import query_hash

router = APIRouter(prefix="/v1")


class UploadReply(BaseModel):
    """What ``connectors.files.upload_file`` returns (plus ``uploaded_by``); every key the route produces is kept."""

    model_config = ConfigDict(extra="allow")

    upload: str = Field("", description="The upload's name.")
    file_name: str = ""
    file_sha256: str = ""
    format: str | None = None
    encoding: str | None = None
    encoding_confidence: float | None = None
    delimiter: str | None = None
    size_bytes: int | None = None
    rows: int | None = Field(None, description="Data rows read from the file.")
    rows_loaded: int = Field(0, description="Rows landed by this call (0 on a re-upload of the same file).")
    rows_quarantined: int = Field(0, description="Malformed lines sent to ops.quarantine with the reason.")
    already_uploaded: bool = False
    resumed: bool = False
    warnings: list[str] = []
    load_id: str | None = None
    cells_invalid: int = Field(0, description="Cells that do not fit their typed column (the rows are kept).")
    invalid_cells: list[dict[str, Any]] = Field(
        [], description="The first such cells: line, row, column, value, reason (each also in its column profile)."
    )
    columns: list[dict[str, Any]] = Field([], description="Column profiles: type, null %, min/max, invalid cells.")
    schema_check: dict[str, Any] | None = None
    uploaded_by: str | None = None


_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
WORKERS = 2


def _pool() -> ProcessPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(
                max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1
            )
        return _POOL


def _reset_pool() -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = None


def upload_in_worker(
    lake_root: str | None, path: str, name: str, file_name: str, uploaded_by: str, entity: str | None
) -> dict[str, Any]:
    """Runs in the worker process: parse under the caps and land the file exactly once."""
    from connectors.files import upload_file
    from serve.query.deployments import _lake

    lake = _lake(lake_root)
    result = upload_file(lake, Path(path), name=name, entity=entity, file_name=file_name)
    return result | {"uploaded_by": uploaded_by}


async def run_upload(
    lake_root: str | None, path: Path, name: str, file_name: str, uploaded_by: str, entity: str | None
) -> dict[str, Any]:
    """Hand the spooled file to a worker process and wait for its summary (or its error)."""
    from connectors.errors import UploadError

    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            _pool(), upload_in_worker, lake_root, str(path), name, file_name, uploaded_by, entity
        )
    except BrokenProcessPool as exc:
        _reset_pool()
        raise UploadError(
            "the upload worker process died while reading the file (out of memory?); nothing was committed",
            hint="split the file or lower its size; the caps are the connectors.upload_* settings",
        ) from exc


@router.post(
    "/upload",
    tags=["upload"],
    response_model=UploadReply,
    response_model_exclude_unset=True,
    summary="Upload a CSV/JSON/Parquet file into the lakehouse (analyst)",
)
async def upload(
    request: Request,
    file: UploadFile = File(...),
    name: str | None = Form(None),
    entity: str | None = Form(None),
    principal: Principal = Depends(require_role("analyst")),
) -> dict[str, Any]:
    from connectors.files.upload import check_file_name, safe_file_name, safe_name

    c = request.app.state.ctx
    cap_mb = c.args.max_upload_mb
    max_bytes = cap_mb * 1024 * 1024
    file_name = check_file_name(file.filename)
    upload_name = safe_name(name or _stem(safe_file_name(file_name)))
    with tempfile.TemporaryDirectory(prefix="covary-upload-") as tmp:
        path = Path(tmp) / "upload.bin"  # never a caller-chosen name on disk
        size = 0
        with path.open("wb") as fh:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise HTTPException(
                        413, f"the file exceeds the upload cap of {cap_mb} MB (max_upload_mb); nothing was committed"
                    )
                fh.write(chunk)
        request.state.query_hash = query_hash(file_name)
        result = await run_upload(c.lake_root, path, upload_name, file_name, principal.key_id, entity)
    request.state.rows = int(result.get("rows_loaded") or 0)
    return result


def _stem(file_name: str) -> str:
    import re

    stem = file_name.rsplit(".", 1)[0] if "." in file_name.strip(".") else file_name
    return re.sub(r"[^a-z0-9_-]+", "_", stem.lower()).strip("_-")[:64] or "upload"


__all__ = ["router", "run_upload", "upload_in_worker"]
