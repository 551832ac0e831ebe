"""File uploads: CSV/JSON/NDJSON/Parquet parsed, profiled, checked against an entity and landed exactly once."""

from __future__ import annotations

from connectors.files.parse import FORMATS, Parsed, parse_bytes
from connectors.files.profile import profile_rows
from connectors.files.upload import (
    read_profile,
    read_upload,
    resolve_entity,
    safe_file_name,
    safe_name,
    schema_check,
    upload_bytes,
    upload_file,
)

__all__ = [
    "FORMATS",
    "Parsed",
    "parse_bytes",
    "profile_rows",
    "read_profile",
    "read_upload",
    "resolve_entity",
    "safe_file_name",
    "safe_name",
    "schema_check",
    "upload_bytes",
    "upload_file",
]
