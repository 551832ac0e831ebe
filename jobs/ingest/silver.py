"""Bronze -> silver: each connector's mapping (``connectors/<name>/silver.py``) run record-safe, and batches
built against the declared schema of the silver tables; plus the cross-source ISRC links."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.registry import CONNECTORS
from lakehouse.registry import LOAD_ID, get_spec


# ------------------------------------------------------------------------------ cross-source joins
def isrc_links(tracks: list[dict[str, Any]], recordings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spotify track <-> MusicBrainz recording pairs that share an ISRC."""
    by_isrc: dict[str, list[str]] = {}
    for r in recordings:
        for code in r.get("isrcs") or ([r["isrc"]] if r.get("isrc") else []):
            by_isrc.setdefault(code.upper(), []).append(r["recording_id"])
    links = []
    for t in tracks:
        code = (t.get("isrc") or "").upper()
        for rec in by_isrc.get(code, []):
            links.append(
                {
                    "link_type": "isrc",
                    "link_value": code,
                    "left_table": "silver.spotify_tracks",
                    "left_id": t["track_id"],
                    "right_table": "silver.music_recordings",
                    "right_id": rec,
                }
            )
    return links


# ----------------------------------------------------------------------------------- run a mapping
def to_silver(
    source: str, endpoint: str, records: list[dict[str, Any]], ctx: dict[str, Any] | None = None
) -> tuple[Rows, Rejected]:
    """Silver rows per table for ``records`` of ``source``/``endpoint`` (plus what could not be typed)."""
    rejected = Rejected()
    transform = transform_of(source, endpoint)
    if transform is None:
        return {}, rejected
    context = dict(ctx or {})
    try:
        return transform(records, context, rejected), rejected
    except _MAPPING_ERRORS:  # a record the model accepts but the mapping cannot use: find it, keep the rest
        pass
    rejected = Rejected()
    rows: Rows = {}
    for i, record in enumerate(records):
        try:
            for table, items in transform([record], context, rejected).items():
                rows.setdefault(table, []).extend(items)
        except _MAPPING_ERRORS as exc:
            reason = f"{source}/{endpoint}: cannot map the record ({type(exc).__name__}: {str(exc)[:200]})"
            rejected.add(record, reason, f"{source}/{endpoint}#{i}")
    return rows, rejected


_MAPPING_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError, AssertionError)


# ------------------------------------------------------------------------- batches of the declared schema
_UNFIT = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError, ValueError)


def _column(name: str, type_: pa.DataType | None, values: list[Any]) -> tuple[pa.Array | None, dict[int, str]]:
    """``values`` as an Arrow array of ``type_`` (inferred when None), or the rows that do not fit and why."""
    try:
        return pa.array(values, type=type_), {}
    except _UNFIT:
        pass
    bad: dict[int, str] = {}
    for i, value in enumerate(values):
        try:
            pa.array([value], type=type_)
        except _UNFIT as exc:
            want = f"the table's {type_}" if type_ is not None else "one Arrow type with the other rows"
            bad[i] = f"column {name!r}: {value!r:.80} does not fit {want} ({type(exc).__name__})"
    return None, bad or {0: f"column {name!r}: the values do not share one Arrow type"}


def declared_batch(table: str, rows: list[dict[str, Any]]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """``rows`` as an Arrow table of ``table``'s declared schema (never inferred from the values).

    Empty lists, all-null columns and missing optional keys are normal: each column takes its type from
    the table registry, so ``[]`` stays ``list<string>`` and ``None`` a typed null. Keys the registry does
    not declare are inferred (the writer adds them as new nullable columns). Rows with a value that does
    not fit its column (an integer beyond int64, text in a number column, a null in a required column)
    are left out and returned as ``(row index, reason)`` so the caller can quarantine them.
    """
    spec = get_spec(table)
    fields = [f.with_nullable(True) for f in spec.schema if f.name != LOAD_ID]
    declared = {f.name for f in fields}
    extra = sorted({k for r in rows for k in r} - declared - {LOAD_ID})
    wanted: list[tuple[str, pa.DataType | None]] = [(f.name, f.type) for f in fields] + [(k, None) for k in extra]
    bad: dict[int, str] = {}
    arrays: dict[str, pa.Array] = {}
    required = {f.name for f in spec.schema if not f.nullable and f.name != LOAD_ID}
    for name, type_ in wanted:
        values = [r.get(name) for r in rows]
        if name in required:
            for i, value in enumerate(values):
                if value is None:
                    bad.setdefault(i, f"{table}: required column {name!r} is null")
        array, unfit = _column(name, type_, values)
        for i, reason in unfit.items():
            bad.setdefault(i, f"{table}: {reason}")
        if array is not None:
            arrays[name] = array
    if bad:  # rebuild from the rows that fit (each of their values fitted above, so this cannot fail)
        kept = [r for i, r in enumerate(rows) if i not in bad]
        batch, _ = declared_batch(table, kept)
        return batch, sorted(bad.items())
    schema = pa.schema([*fields, *(pa.field(k, arrays[k].type) for k in extra)])
    columns = [arrays[name] for name, _ in wanted]
    return pa.Table.from_arrays(columns, schema=schema), []


def silver_batches(rows: Rows, rejected: Rejected, *, lineage: str) -> dict[str, pa.Table]:
    """Per silver table, its rows (tagged with ``lineage``) as a batch of the declared schema.

    Rows that do not fit the schema go to ``rejected`` (quarantined with the reason) instead of failing
    the whole partition; a table with no rows gets an empty batch of its schema.
    """
    out: dict[str, pa.Table] = {}
    for table, items in rows.items():
        tagged = [r | {"lineage": lineage} for r in items]
        batch, unfit = declared_batch(table, tagged)
        for i, reason in unfit:
            rejected.add(_jsonable(tagged[i]), reason, f"{table}#{i}")
        out[table] = batch
    return out


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(row, default=str))
    return out


def transform_of(source: str, endpoint: str) -> Transform | None:
    """The connector's mapping of ``source``/``endpoint`` records to silver rows (None: no silver)."""
    connector = CONNECTORS.get(source)
    return connector.transforms.get(endpoint) if connector is not None else None


__all__ = [
    "Rejected",
    "Rows",
    "declared_batch",
    "isrc_links",
    "silver_batches",
    "to_silver",
    "transform_of",
]
