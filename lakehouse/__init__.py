"""Delta Lake lakehouse: bronze/silver/gold/ops tables, one exactly-once writer, time travel."""

from __future__ import annotations

from lakehouse.errors import (
    CommitConflictError,
    LakehouseError,
    LoadError,
    SchemaMismatchError,
    TableNotFoundError,
    UnsafeStorageError,
)
from lakehouse.lake import BatchKey, Lakehouse, WriteResult
from lakehouse.loads import Load, LoadLedger
from lakehouse.registry import LOAD_ID, Column, TableSpec, all_specs, col, get_spec, register

__all__ = [
    "LOAD_ID",
    "BatchKey",
    "Column",
    "CommitConflictError",
    "Lakehouse",
    "LakehouseError",
    "Load",
    "LoadError",
    "LoadLedger",
    "SchemaMismatchError",
    "TableNotFoundError",
    "TableSpec",
    "UnsafeStorageError",
    "WriteResult",
    "all_specs",
    "col",
    "get_spec",
    "register",
]
