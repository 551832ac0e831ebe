"""Entity reconciliation job: customers and products across sources into stable canonical ids."""

from __future__ import annotations

from typing import Any

from jobs.reconcile.engine import EngineConfig

ENTITY_TYPES = ("customers", "products")


def main(config: dict[str, Any]) -> dict[str, Any]:
    """``covary job run reconcile [--config '{"entities": ["customers"], "threshold": 0.5}']``.

    Each entity type is planned in its own Ray task (reads only); the driver commits the plans one
    after another, each in one load.
    """
    from jobs.reconcile.config import ReconcileConfig

    config = ReconcileConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    import ray

    from covary.settings import get_settings
    from jobs.reconcile import pipeline
    from jobs.reconcile.errors import UnknownEntityError
    from jobs.runtime import ray_retry_options
    from lakehouse import Lakehouse

    settings = get_settings()
    lake = Lakehouse.from_settings(settings)
    wanted = list(config.get("entities") or ENTITY_TYPES)
    for name in wanted:
        if name not in ENTITY_TYPES:
            raise UnknownEntityError(f"unknown entity type {name!r}", hint="use customers and/or products")
    cfg = EngineConfig(**{k: v for k, v in config.items() if k in EngineConfig.__dataclass_fields__})
    todo = [e for e in wanted if pipeline.read_records(lake, e)]

    @ray.remote(**ray_retry_options())
    def _plan(root: str, entity_type: str) -> pipeline.Plan:  # credentials come from the worker's settings
        return pipeline.plan(Lakehouse.from_settings(root=root), entity_type, config=cfg)  # type: ignore[arg-type]

    plans = ray.get([_plan.remote(lake.root, e) for e in todo])
    results = {p.entity_type: pipeline.commit(lake, p) for p in plans}
    skipped = [e for e in wanted if e not in todo]
    return {"reconciled": results, "skipped_no_records": skipped}


__all__ = ["ENTITY_TYPES", "EngineConfig", "main"]
