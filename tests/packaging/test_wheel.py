"""`pip install .` gives a working covary: the wheel carries the Helm chart, the explorer assets and the replay
fixtures as package data, declares what the code imports (and nothing unused), and `covary deploy render`
works from the installed wheel outside the source tree.

The default test builds the wheel from a copy of the working tree and installs it (no dependencies) into a
venv that borrows the project venv's site-packages for the dependencies; the `slow` test installs it with all
its dependencies from the package index into a clean venv.
"""

from __future__ import annotations

import ast
import email
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("covary", "connectors", "lakehouse", "jobs", "serve", "charts")
# Declared runtime dependencies no module imports, each with why it is declared.
PIP = [sys.executable, "-m", "pip"]
DYNAMIC_IMPORTS = {"files", "import_module", "find_spec"}
WHERE = "import covary; from charts.deploy.render import CHART_DIR; print(CHART_DIR, covary.__file__)"
NOT_IMPORTED = {
    "python-multipart": "FastAPI needs it to parse the upload route's multipart form",
}


def _tree_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line and (REPO / line).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the working tree (what a fresh clone builds)."""
    src = tmp_path_factory.mktemp("src")
    for rel in _tree_files():
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("covary-*.whl")
    return built


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(z.read(name))


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_wheel_carries_chart_assets_and_fixtures(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    chart = {p for p in _tree_files() if p.startswith("helm/covary/")}
    assert chart and {"charts/deploy/chart/" + p.removeprefix("helm/covary/") for p in chart} <= names
    data = {p for p in _tree_files() if p.split("/")[0] in PACKAGES and not p.endswith((".py", ".pyc"))}
    missing = sorted(data - names)
    assert not missing, f"package data missing from the wheel: {missing[:10]}"
    assert {"serve/explorer/static/index.html", "serve/explorer/static/app.js"} <= names
    assert any(n.startswith("connectors/") and "/fixtures/" in n and n.endswith(".json") for n in names)
    assert not any(n.startswith(("tests/", "bench/", ".venv")) for n in names)


def test_dependencies_are_what_the_code_imports(wheel: Path) -> None:
    meta = _metadata(wheel)
    requires = meta.get_all("Requires-Dist") or []
    default = {_name(r) for r in requires if "extra ==" not in r}
    gpu = {_name(r) for r in requires if re.search(r"extra == .gpu.", r)}
    assert gpu == {"vllm"} and "vllm" not in default
    from importlib.metadata import packages_distributions

    dists = packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    imported: set[str] = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
                elif (  # importlib.resources.files("pkg"), import_module("pkg"), find_spec("pkg")
                    isinstance(node, ast.Call)
                    and getattr(node.func, "attr", getattr(node.func, "id", "")) in DYNAMIC_IMPORTS
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    imported.add(node.args[0].value.split(".")[0])
    third_party = {m for m in imported if m not in stdlib and m not in PACKAGES and m != "__future__"}
    third_party.discard("vllm")  # the optional gpu extra, imported only when the LLM backend is vllm
    providers = {m: {_name(d) for d in dists.get(m, [m])} for m in third_party}  # e.g. urllib3 and urllib3-future
    undeclared = sorted(m for m, names in providers.items() if not names & default)
    assert not undeclared, f"imported but not declared in [project.dependencies]: {undeclared}"
    needed = set().union(*providers.values())
    unused = sorted(default - needed - set(NOT_IMPORTED))
    assert not unused, f"declared but never imported (remove, or say why in NOT_IMPORTED): {unused}"
    assert "orjson" in default


def test_installed_wheel_renders_the_chart_outside_the_tree(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # dependencies from the project venv (its .pth hooks, including covary's editable finder, are not run)
    (site / "_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [*PIP, "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps", "--ignore-installed", wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COVARY_"))}
    env |= {"COVARY_HOME": str(tmp_path / "home")}
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", WHERE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(p.startswith(str(site)) for p in where), where
    assert where[0].endswith("charts/deploy/chart")
    out = tmp_path / "k8s"
    values = Path(where[0]) / "ci" / "minimal-values.yaml"
    done = subprocess.run(
        [str(venv / "bin" / "covary"), "deploy", "render", "-f", str(values), "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "RayService" in done.stdout and len(list(out.glob("*.yaml"))) > 10
    export = subprocess.run(
        [str(venv / "bin" / "covary"), "grafana", "export", str(tmp_path / "dash")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert export.returncode == 0 and (tmp_path / "dash" / "covary-overview.json").is_file(), export.stderr


@pytest.mark.slow
def test_pip_install_into_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    """The real thing: every dependency from the index (pinned by requirements.lock) into an empty venv."""
    venv = tmp_path / "clean"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(REPO / "requirements.lock")]
    subprocess.run([*pip, str(wheel)], check=True, timeout=3600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COVARY_"))}
    env |= {"COVARY_HOME": str(tmp_path / "home")}
    chart = subprocess.run(
        [str(venv / "bin" / "python"), "-c", WHERE], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout.split()[0]
    values = str(Path(chart) / "ci" / "minimal-values.yaml")
    done = subprocess.run(
        [str(venv / "bin" / "covary"), "deploy", "render", "-f", values, "--out", str(tmp_path / "k8s")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
