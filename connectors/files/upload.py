"""``covary source upload``: safe names, size limit, parse, profile, entity check, exactly-once landing."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors.errors import UploadError
from connectors.files.parse import UploadLimits, parse_bytes
from connectors.files.profile import MAX_INVALID_CELLS, conforms, profile_rows, typed
from lakehouse import BatchKey, Lakehouse, TableNotFoundError, all_specs, get_spec

ROWS, FILES = "bronze.upload_rows", "bronze.upload_files"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ARROW = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "string": pa.string(),
    "json": pa.string(),
}


def safe_name(name: str) -> str:
    """Validate an upload name: lower-case letters, digits, ``_``/``-``; no paths."""
    if not NAME_RE.match(name or ""):
        suggestion = re.sub(r"[^a-z0-9_-]+", "_", (name or "upload").lower()).strip("_-")[:64] or "upload"
        raise UploadError(
            f"upload name {name!r} is not allowed (letters a-z, digits, _ and -; at most 64; no paths)",
            hint=f"try --name {suggestion}",
        )
    return name


MAX_FILE_NAME = 255


def check_file_name(file_name: str | None) -> str:
    """The upload's file name as sent, or :class:`UploadError` (HTTP 400) with the reason: empty, ``.``/``..``,
    only dots, longer than 255 characters, or holding control characters."""
    raw = file_name or ""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    reason = None
    if not raw.strip():
        reason = "it is empty"
    elif len(raw) > MAX_FILE_NAME or len(raw.encode("utf-8", "replace")) > MAX_FILE_NAME:
        reason = f"it is {len(raw)} characters long; the limit is {MAX_FILE_NAME}"
    elif not base.strip(". "):
        reason = f"{base!r} names a directory, not a file"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        reason = "it contains control characters"
    if reason:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise UploadError(
            f"upload file name {shown!r} is not allowed: {reason}",
            hint="send the file under a plain name such as data.csv",
        )
    return raw


def safe_file_name(path: str | Path) -> str:
    """The file's base name with anything but ``[A-Za-z0-9._-]`` replaced; never a path."""
    base = Path(str(path).replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")[:128]
    return cleaned or "upload"


def resolve_entity(entity: str) -> str:
    """A target entity as a declared table: ``silver.customer_records``, ``customers``, ``customer_records``."""
    names = {s.name for s in all_specs()}
    singular = entity[:-1] if entity.endswith("s") else entity
    for candidate in (
        entity,
        f"silver.{singular}_records",
        f"silver.{entity}_records",
        f"silver.{entity}",
        f"gold.{entity}",
    ):
        if candidate in names:
            return candidate
    choices = sorted(n for n in names if n.startswith("silver."))
    raise UploadError(f"unknown entity {entity!r}", hint=f"valid entities (tables): {', '.join(choices)}")


_COMPATIBLE = {
    "int": {"int"},
    "float": {"int", "float"},
    "bool": {"bool"},
    "date": {"date"},
    "datetime": {"date", "datetime"},
    "string": set(),
    "json": set(),
}


def schema_check(profile: list[dict[str, Any]], entity: str) -> dict[str, Any]:
    """Compare an upload's profiled columns with the entity table: missing, extra, type conflicts."""
    table = resolve_entity(entity)
    spec = get_spec(table)
    have = {p["name"]: p["type"] for p in profile}
    lower = {k.lower(): k for k in have}
    missing_required: list[str] = []
    missing_optional: list[str] = []
    mismatches: list[dict[str, str]] = []
    for column in spec.columns:
        source = (have.get(column.name) and column.name) or lower.get(column.name.lower())
        if source is None:
            (missing_optional if column.nullable else missing_required).append(column.name)
            continue
        want = _kind_of(column.type)
        if want not in ("string", "json") and have[source] not in _COMPATIBLE[want]:
            mismatches.append({"column": column.name, "table_type": want, "file_type": have[source]})
    declared = {c.name.lower() for c in spec.columns}
    extra = [k for k in have if k.lower() not in declared]
    return {
        "entity": entity,
        "table": table,
        "ok": not missing_required and not mismatches,
        "missing_required": missing_required,
        "missing_optional": missing_optional,
        "extra_columns": extra,
        "type_mismatches": mismatches,
    }


def _kind_of(type_: pa.DataType) -> str:
    if pa.types.is_integer(type_):
        return "int"
    if pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        return "float"
    if pa.types.is_boolean(type_):
        return "bool"
    if pa.types.is_date(type_):
        return "date"
    if pa.types.is_timestamp(type_):
        return "datetime"
    return "string"


def upload_file(
    lake: Lakehouse,
    path: str | Path,
    *,
    name: str,
    entity: str | None = None,
    format: str | None = None,
    max_bytes: int | None = None,
    file_name: str | None = None,
    limits: UploadLimits | None = None,
) -> dict[str, Any]:
    """Land a file's rows in ``bronze.upload_rows`` exactly once per (name, file hash); return a JSON summary
    with ``rows_loaded`` (0 on a re-upload), ``rows_quarantined`` (malformed lines), ``cells_invalid`` and
    ``invalid_cells`` (cells that do not fit their typed column; the rows are kept), the profile and the schema check.
    ``file_name`` is the name the caller gave the file (default: the path's name)."""
    if max_bytes is None:
        from covary.settings import get_settings

        max_bytes = get_settings().connectors.upload_max_bytes
    name = safe_name(name)
    path = Path(path)
    if not path.is_file():
        raise UploadError(f"no such file: {path}", hint="check the path")
    size = path.stat().st_size
    if size > max_bytes:
        raise UploadError(
            f"{path.name} is {size:,} bytes, over the upload limit of {max_bytes:,} bytes",
            hint="split the file, or raise connectors.upload_max_bytes (COVARY_CONNECTORS__UPLOAD_MAX_BYTES)",
        )
    data = path.read_bytes()
    return upload_bytes(
        lake, data, file_name=file_name or path.name, name=name, entity=entity, format=format, limits=limits
    )


def upload_bytes(
    lake: Lakehouse,
    data: bytes,
    *,
    file_name: str,
    name: str,
    entity: str | None = None,
    format: str | None = None,
    limits: UploadLimits | None = None,
) -> dict[str, Any]:
    """Parse ``data`` under ``limits`` (default: the ``connectors.upload_*`` settings) and land it exactly once.

    Nothing is committed when the file is unreadable, over a cap (:class:`UploadLimitError`) or holds no
    rows. A retry after a crash that left some of the writes committed reports (and stores) the true counts.
    """
    name = safe_name(name)
    check_file_name(file_name)
    sha = hashlib.sha256(data).hexdigest()
    parsed = parse_bytes(data, file_name, format=format, limits=limits or UploadLimits.from_settings())
    rows = [r for _, r in parsed.rows]
    if not rows and not parsed.bad:
        what = "only a header" if parsed.columns else "no data"
        raise UploadError(
            f"{safe_file_name(file_name)} has no rows ({what}); nothing was loaded",
            hint="check that you picked the right file and that it has data rows below the header",
        )
    warnings = list(parsed.warnings)
    if not rows:
        warnings.append(f"no rows could be read: all {len(parsed.bad)} data lines are malformed (see ops.quarantine)")
    profile = profile_rows(parsed.columns, rows, lines=[line for line, _ in parsed.rows])
    cells_invalid = sum(int(c.get("invalid") or 0) for c in profile)
    invalid_cells = sorted(
        (cell for c in profile for cell in c.get("invalid_cells", [])), key=lambda cell: (cell["line"], cell["column"])
    )[:MAX_INVALID_CELLS]
    if cells_invalid:
        where = ", ".join(f"{c['name']} ({c['invalid']})" for c in profile if c.get("invalid"))
        warnings.append(
            f"{cells_invalid} cell(s) do not fit their column's type and read as null: {where}; the rows are kept, "
            "the raw values stay in bronze.upload_rows, and each cell is listed in invalid_cells"
        )
    check = schema_check(profile, entity) if entity else None
    batch = BatchKey(f"upload/{name}/{sha}")
    with lake.load(f"upload:{name}") as load:
        rows_table = pa.table(
            {
                "upload": [name] * len(rows),
                "file_sha256": [sha] * len(rows),
                "line": [line for line, _ in parsed.rows],
                "row": [orjson.dumps(r, default=str).decode() for r in rows],
            },
            schema=pa.schema(
                [("upload", pa.string()), ("file_sha256", pa.string()), ("line", pa.int64()), ("row", pa.string())]
            ),
        )
        written = load.write(ROWS, rows_table, batch=batch)
        load.quarantine(
            [
                {"reason": reason, "raw": raw, "location": f"{safe_file_name(file_name)} line {line}"}
                for line, reason, raw in parsed.bad
            ],
            entity=entity or name,
            batch=batch,
        )
        # The counts of this file, true whether this call or an earlier (crashed) attempt committed the rows:
        # every row of ``rows`` and every malformed line lands exactly once under ``batch``.
        files = load.write(
            FILES,
            [
                {
                    "upload": name,
                    "file_name": safe_file_name(file_name),
                    "file_sha256": sha,
                    "format": parsed.format,
                    "encoding": parsed.encoding,
                    "delimiter": parsed.delimiter,
                    "size_bytes": len(data),
                    "rows_loaded": len(rows),
                    "rows_quarantined": len(parsed.bad),
                    "entity": entity,
                    "profile": orjson.dumps(profile).decode(),
                    "schema_check": orjson.dumps(check).decode() if check else None,
                    "uploaded_at": datetime.now(UTC),
                }
            ],
            batch=batch,
        )
    repeat = files.skipped  # the whole file was landed before: this call added nothing
    resumed = written.skipped and not repeat
    return {
        "upload": name,
        "file_name": safe_file_name(file_name),
        "file_sha256": sha,
        "format": parsed.format,
        "encoding": parsed.encoding,
        "encoding_confidence": parsed.encoding_confidence,
        "delimiter": parsed.delimiter,
        "size_bytes": len(data),
        "rows": len(rows),
        "rows_loaded": 0 if repeat else len(rows),
        "rows_quarantined": 0 if repeat else len(parsed.bad),
        "already_uploaded": repeat,
        "resumed": resumed,
        "warnings": warnings,
        "load_id": load.load_id,
        "cells_invalid": cells_invalid,
        "invalid_cells": invalid_cells,
        "columns": profile,
        "schema_check": check,
    }


def _files(lake: Lakehouse, name: str) -> list[dict[str, Any]]:
    try:
        rows = lake.read(FILES, filter=pc.field("upload") == name).to_pylist()
    except TableNotFoundError:
        rows = []
    if not rows:
        raise UploadError(f"no upload named {name!r}", hint="list them with `covary table show bronze.upload_files`")
    return sorted(rows, key=lambda r: r["uploaded_at"])


def read_profile(lake: Lakehouse, name: str) -> dict[str, Any]:
    """The latest file of upload ``name`` with its profile (``columns``) and schema check."""
    last = _files(lake, name)[-1]
    out = {k: v for k, v in last.items() if k not in ("profile", "schema_check")}
    out["columns"] = orjson.loads(last["profile"]) if last["profile"] else []
    out["schema_check"] = orjson.loads(last["schema_check"]) if last["schema_check"] else None
    return out


def read_upload(lake: Lakehouse, name: str, *, typed_columns: bool = True) -> pa.Table:
    """Rows of upload ``name`` (its latest file) as an Arrow table, columns typed as profiled, plus ``_line``."""
    info = read_profile(lake, name)
    expr = (pc.field("upload") == name) & (pc.field("file_sha256") == info["file_sha256"])
    stored = lake.read(ROWS, filter=expr, columns=["line", "row"]).sort_by("line")
    rows = [orjson.loads(r) for r in stored.column("row").to_pylist()]
    arrays: dict[str, pa.Array] = {"_line": pa.array(stored.column("line").to_pylist(), pa.int64())}
    for column in info["columns"]:
        kind = column["type"] if typed_columns else "string"
        values = [r.get(column["name"]) for r in rows]
        if kind in {"json", "string"}:
            arrays[column["name"]] = pa.array(
                [None if v is None else (v if isinstance(v, str) else orjson.dumps(v).decode()) for v in values],
                pa.string(),
            )
        else:
            # a cell that does not fit the column's type (listed in the profile's invalid_cells) reads as null
            arrays[column["name"]] = pa.array(
                [typed(v, kind) if v is None or conforms(v, kind) else None for v in values], _ARROW[kind]
            )
    return pa.table(arrays)


__all__ = [
    "check_file_name",
    "read_profile",
    "read_upload",
    "resolve_entity",
    "safe_file_name",
    "safe_name",
    "schema_check",
    "upload_bytes",
    "upload_file",
]
