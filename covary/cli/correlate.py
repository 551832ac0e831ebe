"""``covary correlate`` (discovery over a file or the lake's gold series) and ``covary findings list|show``."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from covary.cli._common import emit_json, fail
from covary.settings import get_settings


def _lake() -> Any:
    from lakehouse import Lakehouse

    settings = get_settings()
    settings.ensure_home()
    return Lakehouse.from_settings(settings)


def _fmt(v: Any, spec: str = ".3g") -> str:
    return "-" if v is None else format(v, spec)


def register(app: typer.Typer) -> None:
    from covary.cli._groups import group

    console = Console()

    @app.command("correlate")
    def correlate(
        input_path: str | None = typer.Option(
            None, "--input", help="CSV, Parquet or Delta table; default: lake gold series."
        ),
        time_col: str = typer.Option("ts", "--time-col", help="Time column."),
        series_col: str | None = typer.Option(None, "--series-col", help="Series column (long input)."),
        value_col: str | None = typer.Option(None, "--value-col", help="Value column (long input)."),
        freq: str | None = typer.Option(
            None, "--freq", help="Resample to D, W, M or Q (sum for counts, mean for levels)."
        ),
        max_lag: int | None = typer.Option(
            None, "--max-lag", help="Test lags -K..K (default: 28 for daily, 8 for weekly, 3 otherwise)."
        ),
        method: str = typer.Option("pearson", "--method", help="pearson or spearman."),
        null: str = typer.Option("shift", "--null", help="shift (default), block, or iid (anti-conservative)."),
        fdr: float = typer.Option(0.05, "--fdr", help="FDR level q (BH by default)."),
        correction: str = typer.Option("bh", "--correction", help="bh, by or maxt (family-wise)."),
        difference: int = typer.Option(0, "--difference", help="Difference the series 0, 1 or 2 times."),
        detrend: str = typer.Option("linear", "--detrend", help="linear or none."),
        seasonal: str = typer.Option("auto", "--seasonal", help="auto, dow, moy or none (calendar removal)."),
        prewhiten: str = typer.Option("none", "--prewhiten", help="none or ar1."),
        min_overlap: int = typer.Option(30, "--min-overlap", help="Minimum aligned points per pair."),
        draws: int | None = typer.Option(None, "--draws", help="Shared null draws (default: from a compute budget)."),
        seed: int = typer.Option(0, "--seed"),
        series: str | None = typer.Option(None, "--series", help="Lake input: series_id prefix to analyse."),
        screen: bool = typer.Option(False, "--screen", help="Two-stage, lossless (docs/scale.md)."),
        use_ray: bool = typer.Option(
            False, "--ray", help="Tile the pair matrix over Ray (local or COVARY_RAY__ADDRESS)."
        ),
        save: bool = typer.Option(True, "--save/--no-save", help="Write findings + provenance to the gold tables."),
        show_all: bool = typer.Option(False, "--all", help="List every tested pair, not only significant ones."),
        as_json: bool = typer.Option(False, "--json"),
        limit: int = typer.Option(20, "--limit", help="Rows to print (table output)."),
    ) -> None:
        """Find which series move together: lags, autocorrelation-aware p-values, FDR, caveats."""
        from jobs.correlate.lake_io import discover_file, run_on_lake
        from jobs.correlate.options import Adjust, DiscoveryOptions

        if series_col and not value_col:
            value_col = "value"
        options = DiscoveryOptions(
            max_lag=max_lag,
            method=method,  # type: ignore[arg-type]  # validated by DiscoveryOptions
            null=null,  # type: ignore[arg-type]
            fdr=fdr,
            correction=correction,  # type: ignore[arg-type]
            adjust=Adjust(detrend=detrend, difference=difference, seasonal=seasonal, prewhiten=prewhiten),  # type: ignore[arg-type]
            min_overlap=min_overlap,
            null_draws=draws,
            seed=seed,
            screen=screen,
            execution="ray" if use_ray else "local",
            progress=not as_json,
        )
        if use_ray:
            from jobs.runtime import ensure_ray

            ensure_ray()
        lake = _lake() if (save or not input_path) else None
        if input_path:
            result, run = discover_file(
                lake,
                input_path,
                time_col=time_col,
                series_col=series_col,
                value_col=value_col,
                freq=freq,
                options=options,
                write=save,
                include_all=show_all,
            )
        else:
            result, run = run_on_lake(lake, series=series, freq=freq, options=options, write=save, include_all=show_all)
        if as_json:
            doc = result.to_json()
            if run:
                doc["run_id"] = run["run_id"]
                doc["comparison"] = run["comparison"]
            emit_json(doc)
            return
        tests = result.pairs.get("test")
        n_corr = int((tests == "correlation").sum()) if tests is not None else len(result.pairs)
        n_event = int((tests == "event").sum()) if tests is not None else 0
        if result.levels:  # lake run: one panel per frequency and time window
            panels = "; ".join(
                f"{lv['frequency']} {lv['start']}..{lv['end']}: {lv['series']} series, lags ±{lv['max_lag']}"
                for lv in result.levels
            )
            console.print(
                f"[bold]{result.n_series}[/bold] series, each pair at the coarser of its two frequencies ({panels}); "
                f"{n_corr} correlation + {n_event} event tests = {result.tested} pair-lags tested in one "
                f"{result.options.correction} family; null: {result.null_label}; "
                f"{len(result.construction)} related by construction, {len(result.excluded)} lineage exclusions"
            )
        else:
            console.print(
                f"[bold]{result.n_series}[/bold] series x {result.n_steps} steps ({result.freq or 'as given'}), "
                f"{n_corr} pairs x {2 * (result.options.max_lag or 0) + 1} lags = {result.tested} tested; "
                f"null: {result.null_label}, {result.draws} draws; "
                f"adjustments: {', '.join(result.adjust_steps) or 'none'}"
            )
        out = Table("#", "a", "b", "test", "lag", "r adj", "r raw", "95% CI", "n_eff", "p", "q", "warnings")
        for f in result.findings[:limit]:
            out.add_row(
                str(f.rank or ""),
                f.a,
                f.b,
                f.test + ("" if f.cross_domain is None else (" ×" if f.cross_domain else "")),
                str(f.lag),
                f"{f.r:+.3f}",
                f"{f.r_raw:+.3f}",
                f"[{f.ci_low:+.2f}, {f.ci_high:+.2f}]",
                f"{f.n_eff:.0f}",
                _fmt(f.p),
                _fmt(f.q),
                "; ".join(f.warnings)[:90],
            )
        console.print(out)
        console.print(
            f"{len(result.significant)} significant at q <= {fdr} ({correction}). lag > 0: a leads b."
            + (" × = cross-domain (ranked first)." if result.levels else "")
        )
        for f in result.construction[:limit]:
            console.print(f"[dim]related by construction (not a discovery): {f.a} ~ {f.b}: {f.warnings[0]}[/dim]")
        console.print("[dim]Correlation is not causation; lead/lag and Granger show temporal precedence only.[/dim]")
        if run:
            c = run["comparison"]
            console.print(
                f"run {run['run_id']}: baseline {c.get('baseline', 0)}, new {c['new']}, "
                f"strengthened {c['strengthened']}, weakened {c['weakened']}, "
                f"vanished {c['vanished']} (vs {run['compared_to'] or 'no previous run'})"
            )

    findings = group(app, "findings")

    @findings.command("list")
    def list_(
        run_id: str | None = typer.Option(None, "--run", help="Run id (default: the latest run)."),
        runs: bool = typer.Option(False, "--runs", help="List discovery runs instead of findings."),
        as_json: bool = typer.Option(False, "--json"),
        limit: int = typer.Option(50, "--limit"),
    ) -> None:
        """Findings of the latest (or given) run, with their change since the previous run."""
        from jobs.correlate.lake_io import list_findings, list_runs

        lake = _lake()
        if runs:
            rows = list_runs(lake, limit=limit)
            if as_json:
                emit_json(rows)
                return
            table = Table("run", "finished", "series", "pairs", "significant", "new", "vanished", "compared to")
            for r in rows:
                table.add_row(
                    r["run_id"],
                    str(r["finished_at"]),
                    str(r["series"]),
                    str(r["pairs"]),
                    str(r["significant"]),
                    str(r["new"]),
                    str(r["vanished"]),
                    str(r["compared_to"] or "-"),
                )
            console.print(table)
            return
        rows = list_findings(lake, run_id=run_id)[:limit]
        if as_json:
            emit_json(rows)
            return
        table = Table("id", "a", "b", "lag", "r", "q", "change", "warnings")
        for r in rows:
            table.add_row(
                r["finding_id"],
                r["a"],
                r["b"],
                str(r["lag"]),
                _fmt(r["r"], "+.3f"),
                _fmt(r["q"]),
                r["change"],
                str(len(r["warnings"] or [])),
            )
        console.print(table)

    @findings.command("show")
    def show(
        key: str = typer.Argument(..., help="finding_id or 'a~b'."),
        run_id: str | None = typer.Option(None, "--run"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """One finding in full: statistics, warnings, confounder hints, precedence, history, provenance."""
        from jobs.correlate.errors import FindingNotFoundError
        from jobs.correlate.lake_io import show_finding

        try:
            doc = show_finding(_lake(), key, run_id=run_id)
        except FindingNotFoundError as exc:
            raise fail(exc.message, hint=exc.hint) from exc
        if as_json:
            emit_json(doc)
            return
        console.print(
            f"[bold]{doc['a']} ~ {doc['b']}[/bold]  lag {doc['lag']} (positive: a leads b)  \\[{doc['change']}]"
        )
        console.print(
            f"r {_fmt(doc['r'], '+.3f')} (raw {_fmt(doc['r_raw'], '+.3f')}), 95% CI [{_fmt(doc['ci_low'], '+.2f')}, "
            f"{_fmt(doc['ci_high'], '+.2f')}], n {doc['n']}, n_eff {_fmt(doc['n_eff'], '.0f')}, p {_fmt(doc['p'])}, "
            f"q {_fmt(doc['q'])} ({doc['correction']}; {doc['null']})"
        )
        for w in doc["warnings"] or []:
            console.print(f"  ! {w}")
        console.print(
            f"  partial r | calendar+trend: {_fmt(doc['partial_r_calendar'], '+.3f')}; "
            f"| {doc['third_series']}: {_fmt(doc['partial_r_third'], '+.3f')}"
        )
        console.print(f"  precedence: {doc['precedence']}")
        console.print(f"  [dim]{doc['caveat']}[/dim]")
        console.print(f"  history: {[(h['run_id'], h['change']) for h in doc['history']]}")
        console.print(f"  inputs: {doc['provenance']['inputs']}  seed {doc['provenance']['seed']}")
