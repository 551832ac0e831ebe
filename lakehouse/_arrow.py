"""Arrow conversion and schema conformance: the one place that decides whether a batch fits a table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import Schema as DeltaSchema

from lakehouse.errors import SchemaMismatchError

# Lossless widenings accepted without asking (batch type -> table type), by Delta type name.
_WIDENINGS: set[tuple[str, str]] = {
    ("byte", "short"),
    ("byte", "integer"),
    ("byte", "long"),
    ("short", "integer"),
    ("short", "long"),
    ("integer", "long"),
    ("float", "double"),
    ("byte", "double"),
    ("short", "double"),
    ("integer", "double"),
    ("date", "timestamp"),
    ("timestamp_ntz", "timestamp_ntz"),
}


def to_arrow(data: Any) -> pa.Table:
    """Accept a pyarrow Table/RecordBatch, a polars or pandas DataFrame, or a list of dicts."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_arrow"):  # polars
        return data.to_arrow()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if isinstance(data, Mapping):
        return pa.table(dict(data))
    if isinstance(data, Iterable):
        rows = list(data)
        return pa.Table.from_pylist(rows)
    raise TypeError(f"cannot convert {type(data).__name__} to an Arrow table")


def delta_type_name(type_: pa.DataType) -> str:
    """Delta's name for an Arrow type (``integer``, ``long``, ``string``, struct<...>, ...)."""
    if pa.types.is_null(type_):
        return "null"
    field = DeltaSchema.from_arrow(pa.schema([pa.field("x", type_)])).fields[0]
    text = str(field.type)
    if text.startswith('PrimitiveType("'):
        return text[len('PrimitiveType("') : -2]
    return text


def conform(table: pa.Table, target: pa.Schema, *, table_name: str) -> tuple[pa.Table, list[pa.Field]]:
    """Cast ``table`` onto ``target``; return it and the additive (new, nullable) fields.

    Rejects with :class:`SchemaMismatchError`, naming the column and both types: a type change
    that is not a lossless widening, a missing required column, nulls in a required column.
    """
    names = set(table.column_names)
    arrays: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for field in target:
        if field.name not in names:
            if not field.nullable:
                raise SchemaMismatchError(
                    f"{table_name}: required column {field.name!r} ({delta_type_name(field.type)}) "
                    "is missing from the batch; nothing was committed",
                    hint="add the column, or declare it nullable in the table registry",
                )
            arrays.append(pa.nulls(table.num_rows, field.type))
            fields.append(field)
            continue
        column = table.column(field.name)
        have, want = delta_type_name(column.type), delta_type_name(field.type)
        if have not in (want, "null") and (have, want) not in _WIDENINGS:
            raise SchemaMismatchError(
                f"{table_name}: column {field.name!r} is {want} in the table but {have} in the batch; "
                "type changes are not applied, nothing was committed",
                hint="cast the data to the table's type, or evolve the table explicitly with a new column",
            )
        if column.type != field.type:
            try:
                column = column.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaMismatchError(
                    f"{table_name}: column {field.name!r} cannot be cast from {have} to {want}: {exc}"
                ) from exc
        if not field.nullable and column.null_count:
            raise SchemaMismatchError(
                f"{table_name}: required column {field.name!r} has {column.null_count} null value(s); "
                "nothing was committed"
            )
        arrays.append(column)
        fields.append(field)
    target_names = set(target.names)
    added: list[pa.Field] = []
    for name in table.column_names:
        if name in target_names:
            continue
        column = table.column(name)
        if pa.types.is_null(column.type):
            column = column.cast(pa.string())
        new_field = pa.field(name, column.type, nullable=True)
        added.append(new_field)
        arrays.append(column)
        fields.append(new_field)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)), added


def sql_literal(value: Any) -> str:
    """A value as a Delta/DataFusion SQL literal for predicates."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dedupe_last(table: pa.Table, keys: Iterable[str]) -> pa.Table:
    """Keep the last row for each key combination (order preserved)."""
    keys = list(keys)
    if table.num_rows < 2:
        return table
    idx = pa.array(range(table.num_rows), pa.int64())
    grouped = table.select(keys).append_column("__i", idx).group_by(keys, use_threads=False).aggregate([("__i", "max")])
    keep = pc.sort_indices(grouped.column("__i_max"))
    return table.take(pc.take(grouped.column("__i_max"), keep))
