"""Column profiles of uploaded rows: inferred type, null %, distinct count, min/max, sample values and bad cells.

A column whose present values are at least :data:`TYPED_SHARE` numbers (or dates/timestamps, or booleans) is
typed as such even when a few cells do not fit ("call us" in a price column, "oops" in a date column): each
such cell is listed in the profile (``invalid_cells``: line, row, column, value, reason; ``invalid``: the count)
and reads as null in the typed table, while the raw value stays in ``bronze.upload_rows``. Below that share the
column is text and nothing is flagged.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson

_INT = re.compile(r"^[+-]?\d{1,18}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_BOOL = {"true", "false"}
TYPES = ("int", "float", "bool", "date", "datetime", "string", "json")
TYPED_SHARE = 0.95  # a column this share numbers/dates/booleans is typed; the rest are reported as bad cells
MAX_INVALID_CELLS = 100  # cells listed per column (``invalid`` counts them all)
_FAMILIES = ({"int", "float"}, {"date", "datetime"}, {"bool"})
_WHAT = {"int": "a number", "float": "a number", "date": "a date", "datetime": "a date/time", "bool": "true/false"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dict | list):
        return "json"
    text = str(value).strip()
    if _INT.match(text):
        return "int"
    if _FLOAT.match(text):
        return "float"
    if text.lower() in _BOOL:
        return "bool"
    if _DATE.match(text):
        try:
            dt.date.fromisoformat(text)
            return "date"
        except ValueError:
            return "string"
    if _DATETIME.match(text):
        try:
            dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return "datetime"
        except ValueError:
            return "string"
    return "string"


def _merge(kinds: set[str]) -> str:
    if not kinds:
        return "string"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= {"int", "float"}:
        return "float"
    if kinds <= {"date", "datetime"}:
        return "datetime"
    return "string"


def _infer(kinds: list[str]) -> tuple[str, set[str]]:
    """The column type and the value kinds that conform to it, from the kinds of the present values."""
    merged = _merge(set(kinds))
    if merged != "string" or not kinds:
        return merged, set(kinds)
    for family in _FAMILIES:
        fits = [k for k in kinds if k in family]
        # at least TYPED_SHARE of the values fit, or one odd cell among ten or more
        if len(fits) >= TYPED_SHARE * len(kinds) or (len(kinds) - len(fits) == 1 and len(fits) >= 9):
            return _merge(set(fits)), set(fits)
    return "string", set(kinds)


def conforms(value: Any, kind: str) -> bool:
    """Whether a present ``value`` fits a column of ``kind`` (a bad cell otherwise)."""
    if kind in ("string", "json"):
        return True
    got = _kind(value)
    for family in _FAMILIES:
        if kind in family:
            return (
                got in family and not (kind == "int" and got == "float") and not (kind == "date" and got == "datetime")
            )
    return got == kind


def _shown(value: Any) -> str:
    return (value if isinstance(value, str) else orjson.dumps(value, default=str).decode())[:200]


def typed(value: Any, kind: str) -> Any:
    """``value`` as a comparable Python value of ``kind`` (for min/max), or None."""
    if value is None:
        return None
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).strip().lower() == "true"
        if kind == "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
        if kind == "datetime":
            if isinstance(value, dt.datetime):
                return value
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, TypeError, OverflowError):
        return None
    return str(value)


def profile_rows(
    columns: list[str], rows: list[dict[str, Any]], *, samples: int = 5, lines: list[int] | None = None
) -> list[dict[str, Any]]:
    """One profile per column: ``name, type, null_pct, distinct, min, max, samples, invalid, invalid_cells``.

    ``lines`` are the rows' line numbers in the file (default: 1, 2, ...), used in ``invalid_cells``."""
    total = len(rows)
    lines = lines if lines is not None else list(range(1, total + 1))
    out = []
    for name in columns:
        values = [r.get(name) for r in rows]
        is_present = [v is not None and not (isinstance(v, str) and not v.strip()) for v in values]
        present = [v for v, ok in zip(values, is_present, strict=True) if ok]
        n_present = len(present)
        kinds = [_kind(v) for v in present]
        kind, fits = _infer(kinds)
        invalid_cells: list[dict[str, Any]] = []
        invalid = 0
        if fits != set(kinds):
            good = []
            position = iter(i for i, ok in enumerate(is_present) if ok)
            for value, value_kind, index in zip(present, kinds, position, strict=False):
                if value_kind in fits:
                    good.append(value)
                    continue
                invalid += 1
                if len(invalid_cells) < MAX_INVALID_CELLS:
                    shown = _shown(value)
                    invalid_cells.append(
                        {
                            "line": lines[index],
                            "row": index + 1,
                            "column": name,
                            "value": shown,
                            "reason": f"{shown[:60]!r} is not {_WHAT[kind]} (column {name} is {kind})",
                        }
                    )
            present = good
        hashable = [v if not isinstance(v, dict | list) else repr(v) for v in present]
        distinct = list(dict.fromkeys(hashable))
        lo = hi = None
        if kind != "json":
            converted = [c for c in (typed(v, kind) for v in present) if c is not None]
            if converted:
                lo, hi = min(converted), max(converted)
        out.append(
            {
                "name": name,
                "type": kind,
                "null_pct": round(100.0 * (total - n_present) / total, 2) if total else 0.0,
                "distinct": len(distinct),
                "min": None if lo is None else str(lo),
                "max": None if hi is None else str(hi),
                "samples": [str(v)[:80] for v in distinct[:samples]],
                "invalid": invalid,
                "invalid_cells": invalid_cells,
            }
        )
    return out


__all__ = ["MAX_INVALID_CELLS", "TYPED_SHARE", "TYPES", "conforms", "profile_rows", "typed"]
