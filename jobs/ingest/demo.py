"""Demo step: replay every built-in connector through Ray into bronze/silver/gold and print per-source counts."""

from __future__ import annotations

from typing import Any

from lakehouse import Lakehouse


def run(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    """The ingest job on the bundled recordings (the replay server runs on 127.0.0.1 meanwhile)."""
    from jobs.ingest import main

    del lake  # the job opens the settings' lake itself (the same one the demo uses)
    result = main({"sources": "all", "replay": True} | dict(config.get("ingest") or {}))
    return {"lines": result["lines"], "run_key": result["run_key"]}
