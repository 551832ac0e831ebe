"""Keep the chart's generated files in sync with their sources: README, Serve config copies, dashboards."""

from __future__ import annotations

import tempfile
from pathlib import Path

from charts.deploy.errors import ChartFilesOutOfDateError
from charts.deploy.readme import render_readme
from charts.deploy.render import CHART_DIR, REPO_ROOT

SERVE_CONFIG_DIR = REPO_ROOT / "serve" / "config"


def expected_files(chart_dir: Path = CHART_DIR) -> dict[Path, str]:
    """Every generated chart file and the content it must have."""
    from charts.grafana import export

    files: dict[Path, str] = {chart_dir / "README.md": render_readme(chart_dir)}
    for source in sorted(SERVE_CONFIG_DIR.glob("*.yaml")):
        files[chart_dir / "files" / "serve" / source.name] = source.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        for path in export(tmp):
            files[chart_dir / "files" / "dashboards" / path.name] = path.read_text()
    from charts.grafana.alerts import rules_yaml

    files[chart_dir / "files" / "prometheus" / "covary-rules.yaml"] = rules_yaml()
    return files


def stale_files(chart_dir: Path = CHART_DIR) -> list[Path]:
    """Generated files that are missing, differ from their source, or have no source any more."""
    expected = expected_files(chart_dir)
    stale = [p for p, text in expected.items() if not p.is_file() or p.read_text() != text]
    for folder in ("serve", "dashboards", "prometheus"):
        stale += [p for p in sorted((chart_dir / "files" / folder).glob("*")) if p not in expected]
    return stale


def sync(chart_dir: Path = CHART_DIR, *, check: bool = False) -> list[Path]:
    """Rewrite stale generated files (or, with ``check``, raise listing them); return what changed."""
    stale = stale_files(chart_dir)
    if check:
        if stale:
            names = ", ".join(str(p.relative_to(chart_dir)) for p in stale)
            raise ChartFilesOutOfDateError(
                f"generated chart files are out of date: {names}", hint="run `covary deploy sync`"
            )
        return []
    expected = expected_files(chart_dir)
    for path in stale:
        if path in expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[path])
        else:
            path.unlink()
    return stale


__all__ = ["SERVE_CONFIG_DIR", "expected_files", "stale_files", "sync"]
