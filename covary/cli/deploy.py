"""``covary deploy render|lint|apply|history|rollback|uninstall|status|sync``: the Helm chart without a helm binary."""

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
        from charts.deploy.render import lint_notes

        merged = load_values(values, set_)
        report = lint(merged)
        problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2] + [
            {"severity": 3, "path": "", "error": e} for e in report.get("errors", [])
        ]
        if as_json:
            emit_json(report | {"notes": lint_notes(merged)})
        else:
            for m in report.get("messages", []):
                typer.echo(
                    f"[{('?', 'INFO', 'WARNING', 'ERROR')[m.get('severity', 0)]}] {m.get('path')}: {m.get('error')}"
                )
            for note in lint_notes(merged):
                typer.echo(f"[NOTE] {note}")
            typer.echo(f"{len(problems)} problem(s)")
        if problems:
            from charts.deploy.errors import ChartLintError

            raise ChartLintError(f"helm lint found {len(problems)} problem(s)", hint="see the messages above")

    @deploy.command("apply")
    def apply_cmd(
        values: list[Path] = VALUES,
        set_: list[str] = SETS,
        manifests: Path | None = typer.Option(
            None, "--manifests", help="Server-side apply a directory from `deploy render` (implies --server-side)."
        ),
        server_side: bool = typer.Option(
            False, "--server-side", help="Server-side apply the objects instead of a Helm release (GitOps style)."
        ),
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        kubeconfig: str | None = KUBECONFIG,
        context: str | None = CONTEXT,
        dry_run: bool = typer.Option(False, "--dry-run", help="Server-side dry run: nothing changes."),
        wait: bool = typer.Option(False, "--wait", help="Helm: wait until the release's objects are ready."),
        timeout_s: int = typer.Option(600, "--timeout", help="Helm: seconds to wait."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Install or upgrade the Helm release (helm-python-sdk; `helm list`, rollback, uninstall see it).

        With --server-side (or --manifests) the rendered objects are server-side applied (fieldManager=covary)
        in dependency order instead, without a Helm release.
        """
        from charts.deploy import KubeClient, apply_objects, load_values, read_manifests, render

        if manifests is None and not server_side:
            from charts.deploy.release import install_or_upgrade

            row = install_or_upgrade(
                load_values(values, set_),
                release=release,
                namespace=namespace,
                kubeconfig=kubeconfig,
                context=context,
                dry_run=dry_run,
                wait=wait,
                timeout_s=timeout_s,
            )
            if as_json:
                emit_json(row)
            else:
                typer.echo(
                    f"{row['action']}: release {row['name']} revision {row['revision']} ({row['status']}) "
                    f"in namespace {row['namespace']}, chart {row['chart_name']} {row['chart_version']}"
                )
            return
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

    @deploy.command("history")
    def history_cmd(
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        kubeconfig: str | None = KUBECONFIG,
        context: str | None = CONTEXT,
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Revisions of the Helm release (`helm history`)."""
        from charts.deploy.release import history

        rows = history(release=release, namespace=namespace, kubeconfig=kubeconfig, context=context)
        if as_json:
            emit_json(rows)
            return
        for r in rows:
            chart = f"{r['chart_name']}-{r['chart_version']}"
            typer.echo(f"{r['revision']:>4}  {r['status']:<16} {chart}  {r['deployed_at']}")

    @deploy.command("rollback")
    def rollback_cmd(
        revision: int | None = typer.Argument(None, help="Revision to go back to (default: the previous one)."),
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        kubeconfig: str | None = KUBECONFIG,
        context: str | None = CONTEXT,
    ) -> None:
        """Roll the Helm release back (`helm rollback`); this creates a new revision."""
        from charts.deploy.release import rollback

        rollback(release=release, namespace=namespace, revision=revision, kubeconfig=kubeconfig, context=context)
        typer.echo(f"rolled release {release} back to revision {revision or 'previous'}")

    @deploy.command("uninstall")
    def uninstall_cmd(
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        kubeconfig: str | None = KUBECONFIG,
        context: str | None = CONTEXT,
    ) -> None:
        """Delete the Helm release and its objects (`helm uninstall`); PVCs and Secrets you created stay."""
        from charts.deploy.release import uninstall

        row = uninstall(release=release, namespace=namespace, kubeconfig=kubeconfig, context=context)
        typer.echo(row["info"] or f"release {release} uninstalled")

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
