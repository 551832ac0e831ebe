"""The table registry: every Delta table is declared once, with its schema, keys and descriptions."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from lakehouse.errors import TableNotFoundError

Layer = Literal["bronze", "silver", "gold", "ops"]
WriteMode = Literal["append", "merge", "overwrite_partitions"]

LOAD_ID = "_load_id"
"""System column on load-tracked tables: the load that wrote the row (readers hide unfinished loads)."""


@dataclass(frozen=True)
class Column:
    """One column: its Arrow type, whether it may be null, and what it means to a person."""

    name: str
    type: pa.DataType
    description: str
    nullable: bool = True
    synonyms: tuple[str, ...] = ()
    stock: bool = False
    """A level measured at a point in time (headcount, inventory, balance): adds up across a day's rows
    (departments, sites) but not across days, so a month's value is the mean of its daily totals."""
    pii: bool = False
    """Personal data (e-mail, phone, a person's name, address, birth date): the query service masks it
    for keys without a ``pii`` grant (docs/security.md)."""


def col(
    name: str,
    type_: pa.DataType,
    description: str,
    *,
    nullable: bool = True,
    synonyms: tuple[str, ...] = (),
    stock: bool = False,
    pii: bool = False,
) -> Column:
    """Shorthand for :class:`Column`."""
    return Column(name, type_, description, nullable, synonyms, stock, pii=pii)


@dataclass(frozen=True)
class TableSpec:
    """A table declared once: name ``layer.table``, schema, keys, partitions and descriptions.

    ``keys`` are the primary/merge keys (used by ``merge`` and uniqueness checks);
    ``track_loads`` adds the ``_load_id`` system column so readers see only finished loads.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    write_mode: WriteMode = "append"
    zorder_by: tuple[str, ...] = ()
    track_loads: bool = True
    synonyms: tuple[str, ...] = ()
    configuration: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        layer, _, short = self.name.partition(".")
        if layer not in ("bronze", "silver", "gold", "ops") or not short:
            raise ValueError(f"table name {self.name!r} must be '<bronze|silver|gold|ops>.<name>'")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        for k in (*self.keys, *self.partition_by, *self.zorder_by):
            if k not in names:
                raise ValueError(f"table {self.name}: key/partition column {k!r} is not declared")
        if self.write_mode == "merge" and not self.keys:
            raise ValueError(f"table {self.name}: merge tables need keys")

    @property
    def layer(self) -> Layer:
        return self.name.split(".", 1)[0]  # type: ignore[return-value]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def pii_columns(self) -> list[str]:
        """Columns tagged ``pii=True`` (masked for callers without a ``pii`` grant)."""
        return [c.name for c in self.columns if c.pii]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def schema(self) -> pa.Schema:
        """The full Arrow schema on disk, system columns included."""
        fields = [pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns]
        if self.track_loads:
            fields.append(pa.field(LOAD_ID, pa.string(), nullable=False))
        return pa.schema(fields)


_REGISTRY: dict[str, TableSpec] = {}

# Modules that declare table families; imported lazily on first lookup (no import-time side effects
# elsewhere). A family module calls ``register`` for each of its tables.
TABLE_FAMILIES: list[str] = [
    "lakehouse.tables.ops",
    "lakehouse.tables.demo",
    "lakehouse.tables.audit",
    "lakehouse.tables.entities",
    "lakehouse.tables.dq",
    "lakehouse.tables.bronze",
    "lakehouse.tables.enterprise",
    "lakehouse.tables.synth_records",
    "lakehouse.tables.kpi",
    "lakehouse.tables.models",
    "lakehouse.tables.sources",
    "lakehouse.tables.worldbank",
    "lakehouse.tables.findings",
    "lakehouse.tables.rag",
]
_loaded = False


def register(spec: TableSpec) -> TableSpec:
    """Declare a table. Declaring the same name twice with a different spec is an error."""
    existing = _REGISTRY.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"table {spec.name} is declared twice with different specs")
    _REGISTRY[spec.name] = spec
    return spec


def _load_families() -> None:
    global _loaded
    if _loaded:
        return
    for module in TABLE_FAMILIES:
        importlib.import_module(module)
    _loaded = True


def get_spec(name: str) -> TableSpec:
    """The spec of table ``name`` (``layer.table``)."""
    _load_families()
    try:
        return _REGISTRY[name]
    except KeyError as exc:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise TableNotFoundError(f"unknown table {name!r}", hint=f"declared tables: {known}") from exc


def all_specs(layer: Layer | None = None) -> list[TableSpec]:
    """Every declared table, sorted by name, optionally one layer only."""
    _load_families()
    return [s for n, s in sorted(_REGISTRY.items()) if layer is None or s.layer == layer]


__all__ = [
    "LOAD_ID",
    "TABLE_FAMILIES",
    "Column",
    "Layer",
    "TableSpec",
    "WriteMode",
    "all_specs",
    "col",
    "get_spec",
    "register",
]
