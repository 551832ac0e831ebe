"""``covary source add|list|check|run|upload``: declarative sources, built-in connectors and file uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from covary.cli._common import emit_json, fail
from covary.cli._groups import group


def _lake() -> Any:
    from covary.settings import get_settings
    from lakehouse import Lakehouse

    return Lakehouse.from_settings(get_settings())


def register(app: typer.Typer) -> None:
    source = group(app, "source")
    console = Console()

    @source.command("add")
    def add(
        spec: Path = typer.Argument(..., help="YAML source spec."),
        replace: bool = typer.Option(False, "--replace", help="Overwrite a source of the same name."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Validate a YAML source spec and register it under COVARY_HOME/sources/."""
        from connectors.core import add_source

        s = add_source(spec, replace=replace)
        info = {"name": s.name, "endpoints": [e.name for e in s.endpoints], "base_url": s.base_url}
        if as_json:
            emit_json(info)
        else:
            console.print(f"added source [bold]{s.name}[/] with endpoints: {', '.join(info['endpoints'])}")

    @source.command("list")
    def list_(as_json: bool = typer.Option(False, "--json")) -> None:
        """Every source: user specs, built-in connectors and example specs."""
        from connectors.core import list_sources

        rows = list_sources()
        if as_json:
            emit_json(rows)
            return
        out = Table("name", "kind", "endpoints", "description")
        for r in rows:
            desc = r["description"] if r["valid"] else f"[red]invalid: {r.get('error', '')[:60]}[/]"
            out.add_row(r["name"], r["kind"], ", ".join(r["endpoints"]), desc[:60])
        console.print(out)

    @source.command("check")
    def check(
        name: str,
        base_url: str | None = typer.Option(None, help="Override the base URL (e.g. the replay server)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Validate the spec, resolve credentials and fetch the first page of each top-level endpoint (no writes)."""
        from connectors.core.check import check_source

        result = check_source(name, base_url=base_url)
        if as_json:
            emit_json(result)
        else:
            out = Table("endpoint", "status", "records", "valid", "invalid", "detail")
            for e in result["endpoints"]:
                out.add_row(
                    e["endpoint"],
                    e["status"],
                    str(e.get("records", "")),
                    str(e.get("valid", "")),
                    str(e.get("invalid", "")),
                    e.get("detail", "")[:70],
                )
            console.print(out)
        if not result["ok"]:
            from connectors.errors import ConnectorError

            failed = [e for e in result["endpoints"] if e["status"] == "error"]
            raise ConnectorError(
                f"source {name}: {len(failed)} endpoint(s) failed the check: {failed[0]['detail']}",
                hint=failed[0].get("hint"),
            )

    @source.command("run")
    def run(
        name: str | None = typer.Argument(None, help="Source name (omit with --all)."),
        all_: bool = typer.Option(False, "--all", help="Every built-in connector, fanned out on Ray."),
        replay: bool = typer.Option(False, "--replay", help="With --all: serve the bundled recordings (offline)."),
        endpoint: list[str] = typer.Option([], "--endpoint", "-e", help="Only these endpoints (repeatable)."),
        base_url: str | None = typer.Option(None, help="Override the base URL (e.g. the replay server)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Ingest a source into bronze (resumes an interrupted run; incremental endpoints continue)."""
        from connectors.core import RunOptions, run_source

        if all_:
            from covary.cli.ingest import run_ingest

            run_ingest(all_=True, names=[], replay=replay, as_json=as_json)
            return
        if not name:
            raise fail("name a source, or pass --all", hint="`covary source list` shows the sources")

        with console.status(f"ingesting {name} ...", spinner="dots") if not as_json else _null():
            summaries = run_source(_lake(), name, endpoints=endpoint or None, options=RunOptions(base_url=base_url))
        rows = [s.to_dict() for s in summaries]
        if as_json:
            emit_json(rows)
            return
        out = Table("endpoint", "partition", "pages", "rows", "quarantined", "retries", "new fields", "cursor")
        for r in rows:
            part = ",".join(f"{k}={v}" for k, v in r["partition"].items())
            out.add_row(
                r["endpoint"],
                part,
                str(r["pages"]),
                str(r["rows"]),
                str(r["quarantined"]),
                str(r["retries"]),
                ", ".join(r["new_fields"]),
                str(r["cursor_to"] or ""),
            )
        console.print(out)

    @source.command("upload")
    def upload(
        path: Path = typer.Argument(..., help="CSV, JSON, NDJSON or Parquet file."),
        name: str = typer.Option(..., "--name", help="Upload name (a-z, 0-9, _ and -)."),
        entity: str | None = typer.Option(None, "--entity", help="Check the columns against this entity."),
        format: str | None = typer.Option(None, "--format", help="csv|json|ndjson|parquet (default: detect)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Upload a file: profile it, quarantine malformed rows, land the rest exactly once."""
        from connectors.files import upload_file

        result = upload_file(_lake(), path, name=name, entity=entity, format=format)
        if as_json:
            emit_json(result)
            return
        console.print(
            f"[bold]{result['upload']}[/]: {result['format']} ({result['encoding'] or '-'}"
            f"{', delimiter ' + repr(result['delimiter']) if result['delimiter'] else ''}), "
            f"rows_loaded={result['rows_loaded']} rows_quarantined={result['rows_quarantined']}"
            + (" (already uploaded)" if result["already_uploaded"] else "")
        )
        out = Table("column", "type", "null %", "distinct", "min", "max", "samples")
        for c in result["columns"]:
            out.add_row(
                c["name"],
                c["type"],
                str(c["null_pct"]),
                str(c["distinct"]),
                str(c["min"]),
                str(c["max"]),
                ", ".join(c["samples"][:3]),
            )
        console.print(out)
        for cell in result.get("invalid_cells", [])[:10]:  # cells that do not fit their typed column (kept as null)
            console.print(f"  [yellow]line {cell['line']}[/] {cell['column']}: {cell['reason']}", markup=True)
        if result.get("cells_invalid", 0) > 10:
            console.print(f"  ... {result['cells_invalid'] - 10} more (see --json or the explorer's Uploads page)")
        check = result["schema_check"]
        if check:
            state = "[green]ok[/]" if check["ok"] else "[red]mismatch[/]"
            console.print(f"schema check against {check['table']}: {state}")
            for key in ("missing_required", "extra_columns", "type_mismatches"):
                if check[key]:
                    console.print(f"  {key}: {check[key]}")


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
