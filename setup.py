"""Build hook: the top-level Helm chart (helm/covary) ships inside the package as charts/deploy/chart.

Everything else is declared in pyproject.toml. ``charts.deploy.render.CHART_DIR`` finds the packaged copy
with importlib.resources and falls back to helm/covary in a source checkout (editable installs).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CHART = Path(__file__).resolve().parent / "helm" / "covary"


class BuildPyWithChart(build_py):
    """build_py, then copy helm/covary to <build_lib>/charts/deploy/chart (a wheel packs build_lib whole)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not CHART.is_dir():
            return
        target = Path(self.build_lib) / "charts" / "deploy" / "chart"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(CHART, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithChart})
