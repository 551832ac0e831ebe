"""``covary deploy render|lint|apply|status|sync``: the Helm chart without a helm binary."""

from __future__ import annotations

from pathlib import Path

import typer

from covary.cli._common import emit_json
from covary.cli._groups import group

VALUES = typer.Option(None, "--values", "-f", help="Values file(s), merged left to right.")
SETS = typer.Option(None, "--set", help="key=value overrides (Helm syntax).")
NAMESPACE = typer.Option("covary", "--namespace", "-n")
RELEASE = typer.Option("covary", "--release")
KUBECONFIG = typer.Option(None, "--kubeconfig", help="Default: KUBECONFIG, ~/.kube/config, in-cluster.")
CONTEXT = typer.Option(None, "--context")


def register(app: typer.Typer) -> None:
    deploy = group(app, "deploy")

    @deploy.command("render")
    def render_cmd(
        values: list[Path] = VALUES,
        set_: list[str] = SETS,
        out: Path = typer.Option(..., "--out", help="Directory for the manifests (one file per object)."),
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Render the chart with Helm's engine (values schema and validateConfig included)."""
        from charts.deploy import load_values, render, write_manifests

        rendered = render(load_values(values, set_), release=release, namespace=namespace)
        paths = write_manifests(rendered, out)
        rows = [
            {"kind": o["kind"], "name": o["metadata"]["name"], "file": str(p)}
            for o, p in zip(rendered.objects, paths, strict=True)
        ]
        if as_json:
            emit_json({"out": str(out), "objects": rows})
            return
        for row in rows:
            typer.echo(f"{row['kind']:<22} {row['name']}")
        typer.echo(f"{len(rows)} objects written to {out}")

    @deploy.command("lint")
    def lint_cmd(
        values: list[Path] = VALUES, set_: list[str] = SETS, as_json: bool = typer.Option(False, "--json")
    ) -> None:
        """`helm lint --strict` through the SDK; exit 1 on warnings or errors."""
        from charts.deploy import lint, load_values

        report = lint(load_values(values, set_))
        problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2] + [
            {"severity": 3, "path": "", "error": e} for e in report.get("errors", [])
        ]
        if as_json:
            emit_json(report)
        else:
            for m in report.get("messages", []):
                typer.echo(
                    f"[{('?', 'INFO', 'WARNING', 'ERROR')[m.get('severity', 0)]}] {m.get('path')}: {m.get('error')}"
                )
            typer.echo(f"{len(problems)} problem(s)")
        if problems:
            from charts.deploy.errors import ChartLintError

            raise ChartLintError(f"helm lint found {len(problems)} problem(s)", hint="see the messages above")

    @deploy.command("apply")
    def apply_cmd(
        values: list[Path] = VALUES,
        set_: list[str] = SETS,
        manifests: Path | None = typer.Option(None, "--manifests", help="Apply a directory from `deploy render`."),
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        kubeconfig: str | None = KUBECONFIG,
        context: str | None = CONTEXT,
        dry_run: bool = typer.Option(False, "--dry-run", help="Server-side dry run (dryRun=All)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Server-side apply (fieldManager=covary) of the rendered chart, in dependency order."""
        from charts.deploy import KubeClient, apply_objects, load_values, read_manifests, render

        if manifests is not None:
            objects = read_manifests(manifests)
        else:
            objects = render(load_values(values, set_), release=release, namespace=namespace).objects
        client = KubeClient.from_config(kubeconfig=kubeconfig, context=context)

        def show(row: dict) -> None:
            if not as_json:
                suffix = " (dry run)" if row["dry_run"] else ""
                typer.echo(f"applied {row['kind']}/{row['name']}{suffix}")

        rows = apply_objects(client, objects, namespace=namespace, dry_run=dry_run, on_applied=show)
        if as_json:
            emit_json({"server": client.host, "namespace": namespace, "applied": rows})
        else:
            typer.echo(f"{len(rows)} objects applied to {client.host} (namespace {namespace})")

    @deploy.command("status")
    def status_cmd(
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        kubeconfig: str | None = KUBECONFIG,
        context: str | None = CONTEXT,
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Conditions of the release's RayClusters, RayServices, RayJobs and RayCronJobs; exit 1 if unhealthy."""
        from charts.deploy import KubeClient, release_status

        client = KubeClient.from_config(kubeconfig=kubeconfig, context=context)
        report = release_status(client, namespace=namespace, release=release)
        if as_json:
            emit_json(report)
        else:
            if not report["objects"]:
                typer.echo(f"no covary Ray objects for release {release!r} in namespace {namespace!r}")
            for row in report["objects"]:
                extra = {
                    k: v for k, v in row.items() if k not in ("kind", "name", "state", "healthy", "conditions") and v
                }
                mark = "ok " if row["healthy"] else "BAD"
                details = " ".join(f"{k}={v}" for k, v in extra.items())
                typer.echo(f"{mark} {row['kind']:<11} {row['name']:<28} {row['state']:<12} {details}")
        if not report["healthy"]:
            from charts.deploy.errors import ReleaseUnhealthyError

            bad = [f"{r['kind']}/{r['name']} ({r['state']})" for r in report["objects"] if not r["healthy"]]
            raise ReleaseUnhealthyError(
                f"release {release!r} is not healthy: {', '.join(bad) or 'no Ray objects found'}",
                hint="kubectl describe the objects named above; the KubeRay operator logs say more",
            )

    @deploy.command("sync")
    def sync_cmd(check: bool = typer.Option(False, "--check", help="Only report stale files; exit 2 if any.")) -> None:
        """Regenerate the chart README, the Serve config copies and the dashboard JSON."""
        from charts.deploy import sync

        changed = sync(check=check)
        typer.echo("\n".join(f"updated {p}" for p in changed) or "chart files are up to date")

    @deploy.command("docs")
    def docs_cmd() -> None:
        """Regenerate helm/covary/README.md from values.yaml."""
        from charts.deploy import CHART_DIR, render_readme

        path = CHART_DIR / "README.md"
        path.write_text(render_readme(CHART_DIR))
        typer.echo(f"wrote {path}")
