"""``covary table list|show|history|optimize|vacuum|checkpoint``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from covary.cli._common import emit_json
from covary.settings import get_settings


def _lake():
    from lakehouse import Lakehouse

    return Lakehouse.from_settings(get_settings())


def _iso(epoch_ms: object) -> str:
    """Epoch milliseconds (Delta commit timestamps) as ISO 8601 UTC, e.g. 2026-12-04T19:03:42.123Z."""
    from datetime import UTC, datetime

    if not isinstance(epoch_ms, int | float):
        return str(epoch_ms or "")
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def register(app: typer.Typer) -> None:
    table = typer.Typer(help="Delta tables: list, inspect, time travel, maintain.", no_args_is_help=True)
    console = Console()

    @table.command("list")
    def list_(
        as_json: bool = typer.Option(False, "--json"),
        layer: str | None = typer.Option(None, help="bronze|silver|gold|ops"),
    ) -> None:
        """Every declared table with its version, files and rows."""
        rows = [t for t in _lake().list_tables() if layer is None or t["layer"] == layer]
        if as_json:
            emit_json(rows)
            return
        out = Table("table", "version", "files", "rows", "description")
        for t in rows:
            out.add_row(
                t["table"],
                str(t["version"] if t["exists"] else "-"),
                str(t["files"]),
                str(t["rows"]),
                t["description"][:70],
            )
        console.print(out)

    @table.command("show")
    def show(
        name: str,
        as_json: bool = typer.Option(False, "--json"),
        limit: int = typer.Option(10, help="Sample rows to print."),
        version: int | None = typer.Option(None, help="Time travel to this version."),
        as_of: str | None = typer.Option(None, help="Time travel to this ISO timestamp."),
    ) -> None:
        """Schema with descriptions, keys, stats and sample rows (finished loads only)."""
        from lakehouse import get_spec

        lake = _lake()
        spec = get_spec(name)
        info = lake.stats(name)
        data = None
        if info["exists"]:
            data = lake.read(name, version=version if version is not None else as_of)
        doc = info | {
            "keys": list(spec.keys),
            "partition_by": list(spec.partition_by),
            "write_mode": spec.write_mode,
            "columns": [
                {"name": c.name, "type": str(c.type), "nullable": c.nullable, "description": c.description}
                for c in spec.columns
            ],
            "visible_rows": data.num_rows if data is not None else 0,
            "sample": data.slice(0, limit).to_pylist() if data is not None else [],
        }
        if as_json:
            emit_json(doc)
            return
        console.print(f"[bold]{name}[/bold] — {spec.description}")
        console.print(
            f"version {info['version']}  rows {doc['visible_rows']}  keys {list(spec.keys)}  "
            f"partitions {list(spec.partition_by)}  uri {info['uri']}"
        )
        cols = Table("column", "type", "description")
        for c in doc["columns"]:
            cols.add_row(c["name"], c["type"] + ("" if c["nullable"] else " not null"), c["description"])
        console.print(cols)
        if doc["sample"]:
            sample = Table(*doc["sample"][0].keys())
            for row in doc["sample"]:
                sample.add_row(*[str(v) for v in row.values()])
            console.print(sample)

    @table.command("history")
    def history(name: str, as_json: bool = typer.Option(False, "--json"), limit: int = typer.Option(20)) -> None:
        """Delta commit history (newest first)."""
        rows = _lake().history(name, limit=limit)
        for h in rows:  # Delta stores epoch milliseconds; people read ISO 8601 (UTC)
            h["time"] = _iso(h.get("timestamp"))
        if as_json:
            emit_json(rows)
            return
        out = Table("version", "time (UTC)", "operation", "load", "batch", "rows added")
        out.columns[1].no_wrap, out.columns[1].min_width = True, 24  # a timestamp is never cut
        for h in rows:
            metrics = h.get("operationMetrics") or {}
            out.add_row(
                str(h.get("version")),
                h["time"],
                str(h.get("operation")),
                str(h.get("covary.load_id", "")),
                str(h.get("covary.batch", "")),
                str(metrics.get("num_added_rows", metrics.get("num_target_rows_inserted", ""))),
            )
        console.print(out)

    @table.command("optimize")
    def optimize(
        name: str,
        zorder: str | None = typer.Option(None, help="Comma-separated z-order columns."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Compact small files (and z-order)."""
        from lakehouse.maintenance import optimize as run

        result = run(_lake(), name, zorder=zorder.split(",") if zorder else None)
        emit_json(result) if as_json else typer.echo(result)

    @table.command("vacuum")
    def vacuum(
        name: str,
        retention_hours: int = typer.Option(None, help="Default: settings lake.vacuum_retention_hours."),
        apply: bool = typer.Option(False, "--apply", help="Delete files (default: dry run)."),
        force: bool = typer.Option(False, help="Allow a retention below the configured minimum."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Remove unreferenced files older than the retention (dry run unless --apply)."""
        from lakehouse.maintenance import vacuum as run

        hours = retention_hours if retention_hours is not None else get_settings().lake.vacuum_retention_hours
        result = run(_lake(), name, retention_hours=hours, dry_run=not apply, force=force)
        emit_json(result) if as_json else typer.echo(result)

    @table.command("checkpoint")
    def checkpoint(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
        """Write a Delta checkpoint."""
        from lakehouse.maintenance import checkpoint as run

        result = run(_lake(), name)
        emit_json(result) if as_json else typer.echo(result)

    app.add_typer(table, name="table")
