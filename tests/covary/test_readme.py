"""README is assembled from docs/readme/*.md and keeps the two-command contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _build() -> str:
    spec = importlib.util.spec_from_file_location("build_readme", ROOT / "scripts" / "build_readme.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.build())


def test_readme_is_up_to_date_with_its_sections() -> None:
    assert (ROOT / "README.md").read_text(encoding="utf-8") == _build(), "run: python scripts/build_readme.py"


def test_quickstart_is_the_two_commands_and_ci_runs_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quickstart and "make test" in quickstart
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
