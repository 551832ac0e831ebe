"""Column profiles of uploaded rows: inferred type, null %, distinct count, min/max and sample values."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_INT = re.compile(r"^[+-]?\d{1,18}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_BOOL = {"true", "false"}
TYPES = ("int", "float", "bool", "date", "datetime", "string", "json")


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


def profile_rows(columns: list[str], rows: list[dict[str, Any]], *, samples: int = 5) -> list[dict[str, Any]]:
    """One profile per column: ``name, type, null_pct, distinct, min, max, samples``."""
    total = len(rows)
    out = []
    for name in columns:
        values = [r.get(name) for r in rows]
        present = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
        kind = _merge({_kind(v) for v in present})
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
                "null_pct": round(100.0 * (total - len(present)) / total, 2) if total else 0.0,
                "distinct": len(distinct),
                "min": None if lo is None else str(lo),
                "max": None if hi is None else str(hi),
                "samples": [str(v)[:80] for v in distinct[:samples]],
            }
        )
    return out


__all__ = ["TYPES", "profile_rows", "typed"]
