"""Data-quality job: checks every table (and its recent loads), stores gold.dq_results, raises DQ alerts."""

from __future__ import annotations

from typing import Any


def main(config: dict[str, Any]) -> dict[str, Any]:
    """``covary job run dq [--config '{"tables": ["silver.customers"]}']``: run checks, return the summary."""
    from jobs.dq.config import DqConfig

    config = DqConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    from covary.settings import get_settings
    from jobs.dq import runner
    from lakehouse import Lakehouse

    lake = Lakehouse.from_settings(get_settings())
    report = runner.run(lake, config.get("tables"), loads=int(config.get("loads", 3)))
    return {"run_id": report["run_id"], "tables": report["tables"], **report["summary"]}


__all__ = ["main"]
