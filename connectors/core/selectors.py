"""Dotted JSON paths (``data.items``, ``results.0.id``) used for record selectors, cursors and pageInfo."""

from __future__ import annotations

from typing import Any

_MISSING = object()
AUTO_KEYS = ("data", "results", "items", "records", "entries", "values", "nodes", "objects")


def get_path(data: Any, path: str | None, default: Any = None) -> Any:
    """Value at ``path`` in nested dicts/lists; ``""``/``$``/None is the root; ``default`` if absent."""
    if path in (None, "", "$"):
        return data
    current = data
    for part in str(path).removeprefix("$.").split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            idx = int(part)
            current = current[idx] if -len(current) <= idx < len(current) else _MISSING
        else:
            return default
        if current is _MISSING:
            return default
    return current


def select_records(data: Any, path: str | None) -> list[Any] | None:
    """Records of a page: the list at ``path``; without a path the body itself if it is a list, else the
    first list under a usual key (data, results, items, ...). None when nothing list-like is found."""
    if path not in (None, ""):
        found = get_path(data, path, _MISSING)
        if found is _MISSING or found is None:
            return None
        return found if isinstance(found, list) else [found]
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in AUTO_KEYS:
            value = data.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict):
                inner = select_records(value, None)
                if inner is not None:
                    return inner
    return None


__all__ = ["get_path", "select_records"]
