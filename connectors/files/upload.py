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
from connectors.files.parse import parse_bytes
from connectors.files.profile import profile_rows, typed
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
    missing_required, missing_optional, mismatches = [], [], []
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
) -> dict[str, Any]:
    """Land a file's rows in ``bronze.upload_rows`` exactly once per (name, file hash); return a JSON summary
    with ``rows_loaded`` (0 on a re-upload), ``rows_quarantined``, the profile and the schema check."""
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
    return upload_bytes(lake, data, file_name=path.name, name=name, entity=entity, format=format)


def upload_bytes(
    lake: Lakehouse, data: bytes, *, file_name: str, name: str, entity: str | None = None, format: str | None = None
) -> dict[str, Any]:
    name = safe_name(name)
    sha = hashlib.sha256(data).hexdigest()
    parsed = parse_bytes(data, file_name, format=format)
    rows = [r for _, r in parsed.rows]
    profile = profile_rows(parsed.columns, rows)
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
        quarantined = load.quarantine(
            [
                {"reason": reason, "raw": raw, "location": f"{safe_file_name(file_name)} line {line}"}
                for line, reason, raw in parsed.bad
            ],
            entity=entity or name,
            batch=batch,
        )
        repeat = written.skipped
        load.write(
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
                    "rows_loaded": written.rows,
                    "rows_quarantined": quarantined,
                    "entity": entity,
                    "profile": orjson.dumps(profile).decode(),
                    "schema_check": orjson.dumps(check).decode() if check else None,
                    "uploaded_at": datetime.now(UTC),
                }
            ],
            batch=batch,
        )
    return {
        "upload": name,
        "file_name": safe_file_name(file_name),
        "file_sha256": sha,
        "format": parsed.format,
        "encoding": parsed.encoding,
        "delimiter": parsed.delimiter,
        "size_bytes": len(data),
        "rows": len(rows),
        "rows_loaded": written.rows,
        "rows_quarantined": quarantined,
        "already_uploaded": repeat,
        "load_id": load.load_id,
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
            arrays[column["name"]] = pa.array([typed(v, kind) for v in values], _ARROW[kind])
    return pa.table(arrays)


__all__ = [
    "read_profile",
    "read_upload",
    "resolve_entity",
    "safe_file_name",
    "safe_name",
    "schema_check",
    "upload_bytes",
    "upload_file",
]
