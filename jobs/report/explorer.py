"""Demo step: where the explorer page is. ``covary demo --serve`` (the CLI, after the last step) starts the
query service and creates a viewer key; no job starts a service or shells out to the CLI."""

from __future__ import annotations

from typing import Any


def run(lake: Any, config: dict[str, Any]) -> dict[str, Any]:
    if config.get("serve"):
        return {"lines": ["explorer: the query service starts after the last step (covary demo --serve)"]}
    return {"lines": ["explorer: run `covary demo --serve` (or `covary serve up`) and open http://127.0.0.1:8000/"]}


__all__ = ["run"]
