"""Mapping files (YAML) and the store of applied mappings (``ops.schema_mappings``), reused per source."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from connectors.mapping.engine import MappingSuggestion
from connectors.mapping.errors import MappingFileError

TABLE = "ops.schema_mappings"


class LakeLike(Protocol):
    def exists(self, name: str) -> bool: ...
    def read(self, name: str, **kwargs: Any) -> pa.Table: ...
    def write(self, name: str, data: Any, **kwargs: Any) -> Any: ...


def read_table(path: str | Path) -> pa.Table:
    """A CSV/TSV/Parquet/JSON-lines file as a table of strings (CSV cells are never type-guessed)."""
    import polars as pl

    p = Path(path)
    if not p.exists():
        raise MappingFileError(f"no such file: {p}", hint="pass the path of the uploaded file")
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        frame = pl.read_parquet(p)
    elif suffix in (".jsonl", ".ndjson"):
        frame = pl.read_ndjson(p)
    else:
        sep = (
            "\t"
            if suffix == ".tsv"
            else (";" if p.read_text(errors="ignore").split("\n", 1)[0].count(";") > 1 else ",")
        )
        frame = pl.read_csv(p, separator=sep, infer_schema=False)
    return frame.cast(pl.Utf8).to_arrow()


def load_mapping_file(path: str | Path) -> tuple[str | None, str | None, dict[str, str | None]]:
    """``(source, entity, {column: field|None})`` from a mapping YAML written by ``to_yaml`` (or by hand)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MappingFileError(f"cannot read mapping file {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise MappingFileError(f"{path}: expected keys source, entity and a `columns:` mapping")
    cols = {str(k): (str(v) if v not in (None, "", "null") else None) for k, v in data["columns"].items()}
    return data.get("source"), data.get("entity"), cols


def latest(lake: LakeLike, source: str, entity: str) -> tuple[int, dict[str, str | None]] | None:
    """The latest applied mapping of ``source`` onto ``entity`` (version, mapping), if any."""
    if not lake.exists(TABLE):
        return None
    rows = lake.read(TABLE, filter=(pc.field("source") == source) & (pc.field("entity") == entity)).to_pylist()
    if not rows:
        return None
    version = max(r["version"] for r in rows)
    return version, {r["source_column"]: r["target_column"] for r in rows if r["version"] == version}


def save(
    lake: LakeLike,
    source: str,
    entity: str,
    mapping: dict[str, str | None],
    *,
    suggestion: MappingSuggestion | None = None,
) -> int:
    """Store an applied mapping as a new version; columns that differ from the suggestion count as edited."""
    previous = latest(lake, source, entity)
    version = (previous[0] if previous else 0) + 1
    suggested = {c.source_column: c for c in suggestion.columns} if suggestion else {}
    now = datetime.now(UTC)
    rows = []
    for column, target in mapping.items():
        s = suggested.get(column)
        edited = s is None or s.target != target
        rows.append(
            {
                "source": source,
                "entity": entity,
                "version": version,
                "source_column": column,
                "target_column": target,
                "confidence": 1.0 if edited else s.confidence,  # type: ignore[union-attr]
                "method": "edited" if edited else s.method,  # type: ignore[union-attr]
                "applied_at": now,
            }
        )
    lake.write(TABLE, rows, mode="append")
    return version


__all__ = ["latest", "load_mapping_file", "read_table", "save"]
