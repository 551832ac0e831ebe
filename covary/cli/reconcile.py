"""``covary source map NAME --entity E [--apply mapping.yaml]`` and ``covary dq report [TABLE]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from covary.cli._common import emit_json
from covary.cli._groups import group
from covary.settings import get_settings


def _lake() -> Any:
    from lakehouse import Lakehouse

    settings = get_settings()
    settings.ensure_home()
    return Lakehouse.from_settings(settings)


def _load_table(lake: Any, name: str, file: Path | None) -> Any:
    """The uploaded table: ``--file`` if given, else the latest file of upload NAME (strings)."""
    from connectors.mapping.store import read_table

    if file is not None:
        return read_table(file)
    from connectors.files import read_upload

    table = read_upload(lake, name, typed_columns=False)
    return table.drop_columns(["_line"]) if "_line" in table.column_names else table


def map_source(
    name: str,
    entity: str,
    *,
    file: Path | None = None,
    apply: Path | None = None,
    embed: bool = True,
    lake: Any = None,
) -> dict[str, Any]:
    """Suggest (and with ``apply``, apply + save) the mapping of upload ``name`` onto ``entity``."""
    from connectors import mapping
    from connectors.mapping import store
    from connectors.mapping.llm import LLMRefiner
    from jobs.reconcile import pipeline

    lake = lake or _lake()
    schema = mapping.get_schema(entity)
    table = _load_table(lake, name, file)
    previous = store.latest(lake, name, entity)
    refiner = LLMRefiner.from_settings(get_settings())
    suggestion = mapping.suggest(
        table,
        schema,
        saved=previous[1] if previous else None,
        embedder=mapping.HeaderEmbedder() if embed else None,
        refine=refiner,
    )
    out: dict[str, Any] = {
        "source": name,
        "entity": entity,
        "rows": table.num_rows,
        "reused_version": previous[0] if previous else None,
        "llm": bool(refiner),
        **suggestion.to_dict(),
        "yaml": suggestion.to_yaml(name),
    }
    if apply is not None:
        src, ent, cols = store.load_mapping_file(apply)
        if ent and ent != entity:
            raise mapping.MappingFileError(f"{apply} maps onto {ent!r}, not {entity!r}", hint="pass --entity " + ent)
        cols = {c: t for c, t in cols.items()}
        rows = mapping.apply_mapping(table, cols, schema, source=src or name)
        written = pipeline.write_records(lake, entity, rows, source=name, batch_id=_digest(table, cols))  # type: ignore[arg-type]
        version = store.save(lake, name, entity, cols, suggestion=suggestion)
        out["applied"] = {"version": version, "rows_written": written, "table": schema.table}
    return out


def _digest(table: Any, mapping: dict[str, str | None]) -> str:
    import hashlib
    import json

    h = hashlib.sha256(json.dumps(mapping, sort_keys=True).encode())
    for name in table.column_names:
        h.update(str(table.column(name).to_pylist()).encode())
    return h.hexdigest()[:16]


def register(app: typer.Typer) -> None:
    console = Console()
    source = group(app, "source")
    dq = group(app, "dq")

    @source.command("map")
    def map_cmd(
        name: str = typer.Argument(..., help="Upload/source name."),
        entity: str = typer.Option(..., "--entity", help="Target entity: customers or products."),
        apply: Path | None = typer.Option(None, "--apply", help="Apply this (reviewed) mapping YAML and save it."),
        file: Path | None = typer.Option(None, "--file", help="Read this file instead of the stored upload."),
        out: Path | None = typer.Option(None, "--out", help="Write the suggested mapping YAML here to review."),
        no_embed: bool = typer.Option(False, "--no-embed", help="Skip sentence embeddings (faster)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Suggest a column mapping of an upload onto an entity schema; review it, then --apply it."""
        result = map_source(name, entity, file=file, apply=apply, embed=not no_embed)
        if out is not None:
            out.write_text(result["yaml"])
        if as_json:
            emit_json(result)
        else:
            t = Table("column", "-> field", "confidence", "method", "why")
            for c in result["columns"]:
                t.add_row(
                    c["source_column"],
                    c["target"] or "(ignored)",
                    f"{c['confidence']:.2f}",
                    c["method"],
                    c["reason"][:60],
                )
            console.print(t)
            if result["reused_version"]:
                console.print(f"reused saved mapping v{result['reused_version']} for the columns it names")
            if out is not None:
                console.print(f"mapping written to {out}; edit it, then run with --apply {out}")
            if "applied" in result:
                a = result["applied"]
                console.print(f"applied mapping v{a['version']}: {a['rows_written']} rows -> {a['table']}")
        if result["unmapped_required"]:
            from connectors.mapping import UnmappedRequiredError

            # an error (not typer.Exit) so the exit code survives run_cli (standalone_mode=False)
            raise UnmappedRequiredError(
                f"required {entity} field(s) unmapped: {', '.join(result['unmapped_required'])}",
                missing=result["unmapped_required"],
                hint="map them in the YAML (--out FILE, edit, --apply FILE); covary does not guess them",
            )

    @dq.command("report")
    def report_cmd(
        table: str | None = typer.Argument(None, help="Table to check (default: every table with data)."),
        html_path: Path | None = typer.Option(None, "--html", help="Also write an HTML report here."),
        as_json: bool = typer.Option(False, "--json"),
        no_store: bool = typer.Option(False, "--no-store", help="Do not append results to gold.dq_results."),
    ) -> None:
        """Run data-quality checks now, store them in gold.dq_results (unless --no-store) and print the report."""
        from jobs.dq import runner

        report = runner.run(_lake(), [table] if table else None, store=not no_store)
        if html_path is not None:
            runner.render_html(report, html_path)
        if as_json:
            emit_json(report)
        else:
            t = Table("table", "scope", "check", "column", "value", "status", "detail")
            for r in report["results"]:
                if r["status"] == "pass" and r["scope"] != "table":
                    continue
                style = {"fail": "red", "warn": "yellow"}.get(r["status"], "")
                value = "" if r["value"] is None else f"{r['value']:.4g}"
                t.add_row(
                    r["table_name"],
                    r["scope"][:24],
                    r["check"],
                    r["column_name"] or "",
                    value,
                    f"[{style}]{r['status']}[/]" if style else r["status"],
                    r["detail"][:70],
                )
            console.print(t)
            s = report["summary"]
            where = "not stored (--no-store)" if no_store else "stored in gold.dq_results"
            console.print(
                f"{s['checks']} checks: {s['fail']} failing, {s['warn']} warnings (run {report['run_id']}, {where})"
            )
            if html_path is not None:
                console.print(f"HTML report: {html_path}")
        if report["summary"]["fail"]:
            from jobs.dq.errors import DQFailedError

            raise DQFailedError(
                f"{report['summary']['fail']} data-quality check(s) failing",
                hint="see the rows marked fail above"
                + ("" if no_store else f" (stored in gold.dq_results, run {report['run_id']})"),
            )


__all__ = ["map_source", "register"]
