"""``covary source synth``, ``covary kpi`` and ``covary model list|show|promote``."""

from __future__ import annotations

from datetime import date

import typer

from covary.cli._common import emit_json
from covary.cli._groups import group


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


BACKTEST_KINDS = ("naive", "seasonal_naive", "ets", "sarimax")


def _backtest_lines(metrics: dict[str, float], winner: str | None) -> list[str]:
    """The version's rolling-origin backtest: every candidate against the baselines (MASE < 1 beats naive)."""
    kinds = [k for k in BACKTEST_KINDS if f"mase_{k}" in metrics]
    if not kinds:
        return []
    lines = [f"      {'backtest':<16} {'MASE':>7} {'sMAPE':>7} {'cov80':>6} {'cov95':>6}"]
    for k in kinds:
        cells = [metrics.get(f"{m}_{k}") for m in ("mase", "smape", "coverage80", "coverage95")]
        shown = [_fmt(cells[0], 3), _fmt(cells[1], 1), _fmt(cells[2], 2), _fmt(cells[3], 2)]
        mark = "  <- chosen" if k == winner else "  (baseline)" if k in ("naive", "seasonal_naive") else ""
        lines.append(f"      {k:<16} {shown[0]:>7} {shown[1]:>7} {shown[2]:>6} {shown[3]:>6}{mark}")
    base = metrics.get("mase_seasonal_naive")
    if winner and base and metrics.get(f"mase_{winner}") is not None:
        ratio = metrics[f"mase_{winner}"] / base
        verdict = "better" if ratio < 1 else "not better"
        lines.append(f"      {winner} MASE is {ratio:.2f}x seasonal naive's ({verdict})")
    return lines


def register(app: typer.Typer) -> None:
    source = group(app, "source")
    model = group(app, "model")

    @source.command("synth")
    def synth(
        days: int = typer.Option(731, help="Days to simulate (120..3660); 365+ enables year-ago KPIs."),
        seed: int = typer.Option(7, help="Random seed: the same seed gives the same systems and truth."),
        start: str = typer.Option("2023-01-01", help="First simulated day (ISO date)."),
        entities: bool = typer.Option(True, help="Also emit messy customer/product records (issue 7)."),
        scale: int = typer.Option(50_000, help="Order lines to generate, streamed in batches (10^7 for benchmarks)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Generate synthetic CRM, ads, finance, HR, support and plant systems with planted ground truth."""
        from connectors.synth import run_synth
        from covary.settings import get_settings
        from lakehouse import Lakehouse

        settings = get_settings()
        settings.ensure_home()
        result = run_synth(
            Lakehouse.from_settings(settings),
            days=days,
            seed=seed,
            start=date.fromisoformat(start),
            with_entities=entities,
            scale=scale,
        ).as_dict()
        if as_json:
            emit_json(result)
            return
        typer.echo(f"synthetic systems {result['start']} .. {result['end']} (seed {seed}), load {result['load_id']}")
        for system, n in result["records"].items():
            typer.echo(f"  {system:<11} {n:>7,} records")
        for table, n in (result.get("tables") or {}).items():
            typer.echo(f"  {table:<31} {n:>9,} records")
        for name, c in (result.get("cleaning") or {}).items():
            typer.echo(
                f"  cleaned {name}: {c['exported']:,} exported, {c['duplicates']:,} duplicates dropped, "
                f"{c['quarantined']:,} quarantined (ops.quarantine), {c['renamed']:,} with a renamed column"
            )
        typer.echo(f"  gold series: {result['series']} (gold.series_values, domain per system)")
        truth = ", ".join(f"{v} {k}" for k, v in result["truth"].items())
        typer.echo(f"  planted truth (gold.synth_truth): {truth}")
        if result["entities"]:
            ent = ", ".join(f"{k}: {v['records']} records of {v['entities']}" for k, v in result["entities"].items())
            typer.echo(f"  messy entities: {ent}")

    @app.command("kpi")
    def kpi(
        metric: str = typer.Option(..., "--metric", help="cac, roas, revenue, conversion_rate, aov, ctr, cpc, cpm."),
        by: str = typer.Option("", "--by", help="Comma-separated breakdown: platform,country,device,campaign."),
        period: str = typer.Option("month", "--period", help="week, month or quarter."),
        compare: str = typer.Option("previous", "--compare", help="previous or year_ago."),
        last: int = typer.Option(1, "--last", help="Latest N periods (0 = all)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """A marketing KPI per period (and breakdown) with the comparison period and its change."""
        from covary.settings import get_settings
        from jobs.kpi.compute import kpi_report
        from lakehouse import Lakehouse

        dims = [b.strip() for b in by.split(",") if b.strip()]
        rows = kpi_report(
            Lakehouse.from_settings(get_settings()),
            metric=metric,
            by=dims,
            period=period,
            compare=compare.replace("-", "_"),
            last=last or None,
        )
        if as_json:
            emit_json(rows)
            return
        from rich.console import Console
        from rich.table import Table

        first = rows[0] if rows else {"metric": metric, "unit": ""}
        table = Table(title=f"{first['metric']} ({first['unit']}) by {period}, vs {compare}")
        for c in ("period", *dims, "value", "compare to", "change", "change %", "note"):
            table.add_column(c, justify="right" if c in ("value", "compare to", "change", "change %") else "left")
        for r in rows:
            label = f"{r['period_start']}" + ("" if r["complete"] else " (partial)")
            pct = None if r["change_pct"] is None else r["change_pct"]
            table.add_row(
                label,
                *[str(r[d]) for d in dims],
                _fmt(r["value"]),
                _fmt(r["previous_value"]),
                _fmt(r["change"]),
                "—" if pct is None else f"{pct:+.1f}%",
                r["note"] or "",
            )
        Console().print(table)

    @model.command("list")
    def list_(
        prefix: str = typer.Option("", help="Only models whose name starts with this."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Registered MLflow models with their latest version and aliases."""
        from jobs.common.tracking import list_models

        rows = list_models(prefix or None)
        if as_json:
            emit_json(rows)
            return
        if not rows:
            typer.echo("no registered models yet: run `covary job run forecast` or `covary demo`")
            return
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            aliases = ", ".join(f"{k}=v{v}" for k, v in r["aliases"].items()) or "-"
            typer.echo(f"{r['name']:<{width}}  v{r['latest_version']}  {aliases}")

    @model.command("show")
    def show(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
        """Versions of a registered model: run, metrics, tags and aliases."""
        from jobs.common.tracking import show_model

        info = show_model(name)
        if as_json:
            emit_json(info)
            return
        typer.echo(f"{info['name']}  aliases: {info['aliases'] or '-'}")
        for v in info["versions"]:
            m = v["metrics"]
            scores = "  ".join(f"{k}={m[k]:.3f}" for k in ("mase", "smape", "coverage80", "coverage95") if k in m)
            alias = f" [{', '.join(v['aliases'])}]" if v["aliases"] else ""
            typer.echo(f"  v{v['version']}{alias}  {v['created']}  run {v['run_id']}  {scores}")
            if v["params"].get("model"):
                typer.echo(f"      model={v['params']['model']} exog={v['params'].get('exog', '-')}")
            for line in _backtest_lines(m, v["params"].get("model")):
                typer.echo(line)

    @model.command("promote")
    def promote(
        name: str,
        version: int,
        alias: str = typer.Option("champion", help="Alias to point at the version."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Point an alias (default champion) at a model version."""
        from jobs.common.tracking import promote as do_promote

        result = do_promote(name, version, alias)
        if as_json:
            emit_json(result)
            return
        was = f" (was v{result['previous_version']})" if result["previous_version"] else ""
        typer.echo(f"{name}@{alias} -> v{result['version']}{was}")
