"""Table maintenance: compaction, z-order, vacuum that respects time travel, checkpoints."""

from __future__ import annotations

from typing import Any

from lakehouse.errors import LakehouseError
from lakehouse.lake import Lakehouse
from lakehouse.registry import get_spec


def optimize(
    lake: Lakehouse, name: str, *, zorder: list[str] | None = None, target_size: int | None = None
) -> dict[str, Any]:
    """Compact small files; with ``zorder`` (or the table's declared ``zorder_by``) z-order them."""
    spec = get_spec(name)
    dt = lake.table(name)
    columns = zorder if zorder is not None else list(spec.zorder_by)
    if columns:
        metrics = dt.optimize.z_order(columns, target_size=target_size)
    else:
        metrics = dt.optimize.compact(target_size=target_size)
    return {"table": name, "zorder": columns, "version": lake.table(name).version(), **dict(metrics)}


def vacuum(
    lake: Lakehouse, name: str, *, retention_hours: int, dry_run: bool = True, force: bool = False
) -> dict[str, Any]:
    """Delete data files no longer referenced by any version newer than ``retention_hours``.

    Versions committed within the retention window stay readable (time travel keeps working);
    older versions may lose their files. A retention below the configured minimum is refused
    unless ``force``.
    """
    if retention_hours < lake.min_vacuum_retention_hours and not force:
        raise LakehouseError(
            f"vacuum of {name}: retention {retention_hours}h is below the minimum "
            f"{lake.min_vacuum_retention_hours}h; time travel to recent versions would break",
            hint="pass a longer --retention-hours, or --force if you really mean it",
        )
    dt = lake.table(name)
    removed = dt.vacuum(retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False)
    return {
        "table": name,
        "dry_run": dry_run,
        "retention_hours": retention_hours,
        "files": len(removed),
        "removed": removed[:50],
    }


def checkpoint(lake: Lakehouse, name: str, *, cleanup: bool = False) -> dict[str, Any]:
    """Write a checkpoint of the log (faster opens); optionally drop expired log files."""
    dt = lake.table(name)
    dt.create_checkpoint()
    if cleanup:
        dt.cleanup_metadata()
    return {"table": name, "version": dt.version(), "checkpointed": True}


__all__ = ["checkpoint", "optimize", "vacuum"]
