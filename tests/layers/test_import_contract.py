"""The import-layers contract in ``.importlinter`` (run by ``make lint``).

The contract is checked on the real tree, and on a temporary copy of it with one deliberately bad
import injected, which must break it and be named in the report.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".importlinter"
LINT = Path(sys.executable).with_name("lint-imports")


def _roots() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser["importlinter"]["root_packages"].split()


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(cwd / ".importlinter")],
        check=False,
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_tree(dest: Path) -> None:
    """The root packages' Python files only (grimp reads sources; data files are not needed)."""
    for root in _roots():
        shutil.copytree(REPO / root, dest / root, ignore=_keep_python)
    shutil.copy(CONFIG, dest / ".importlinter")


def _keep_python(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if not (n.endswith(".py") or (Path(folder) / n).is_dir()) or n == "__pycache__"}


def test_the_tree_keeps_the_layers_contract() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_lists_the_documented_order() -> None:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    layers = [line.strip() for line in parser["importlinter:contract:layers"]["layers"].splitlines() if line.strip()]
    order = [layers.index(name) for name in ("covary.cli", "serve", "jobs", "connectors", "lakehouse")]
    assert order == sorted(order), layers
    assert layers[-1] == "covary.errors"


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages that keeps the contract (checked once); each case injects one import and undoes it."""
    dest = tmp_path_factory.mktemp("layers")
    _copy_tree(dest)
    clean = _lint(dest)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    return dest


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        # a top-level import from a lower layer into a higher one
        ("lakehouse/sql.py", "import serve.query.app  # injected\n", "lakehouse is not allowed to import serve"),
        # a lazy import inside a function is caught too
        (
            "jobs/report/images.py",
            "\n\ndef _injected() -> None:\n    from covary.cli import main  # noqa: F401\n",
            "jobs is not allowed to import covary.cli",
        ),
        # the floor imports nothing above it
        (
            "covary/errors.py",
            "from covary import settings  # injected\n",
            "covary.errors is not allowed to import covary.settings",
        ),
    ],
)
def test_a_deliberately_bad_import_breaks_the_contract(tree_copy: Path, module: str, line: str, expected: str) -> None:
    target = tree_copy / module
    original = target.read_text(encoding="utf-8")
    target.write_text(original + line, encoding="utf-8")
    try:
        broken = _lint(tree_copy)
    finally:
        target.write_text(original, encoding="utf-8")
    report = " ".join(broken.stdout.split())
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "0 kept, 1 broken" in report
    assert expected in report, broken.stdout
