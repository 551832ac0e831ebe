"""DuckDB over the lakehouse: visible rows of each table registered as ``layer.table`` views."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from lakehouse.lake import Lakehouse
from lakehouse.registry import all_specs, get_spec


def connect(lake: Lakehouse, tables: Iterable[str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the (finished-load) contents of ``tables`` registered.

    Tables are registered as Arrow data in schemas named after their layer, so SQL reads
    ``silver.macro_observations``. Tables without data yet are skipped.
    """
    con = duckdb.connect(":memory:")
    names = list(tables) if tables is not None else [s.name for s in all_specs()]
    for name in names:
        spec = get_spec(name)
        if not lake.exists(name):
            continue
        data = lake.read(name)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{spec.layer}"')
        view = f"__arrow_{spec.layer}_{spec.short_name}"
        con.register(view, data)
        con.execute(f'CREATE OR REPLACE VIEW "{spec.layer}"."{spec.short_name}" AS SELECT * FROM "{view}"')
    return con


__all__ = ["connect"]
