"""Every built-in connector is one folder bound in one registry; the ingest job names none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from connectors.core import get_source, list_sources
from connectors.core.registry import CONNECTORS, get_connector
from connectors.errors import SourceNotFoundError
from lakehouse.registry import get_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_connector_folder_and_plan_agree_with_its_spec(name: str) -> None:
    folder = ROOT / "connectors" / name
    for part in ("models.py", "source.py", "silver.py", "series.py", "README.md", "fixtures/manifest.yaml"):
        assert (folder / part).exists(), f"connectors/{name}/{part}"
    connector = CONNECTORS[name]
    endpoints = {e.name for e in get_source(name).endpoints}
    assert (
        set(connector.transforms) & endpoints and connector.plan.parent_endpoints <= endpoints
    )  # weather: per provider
    assert set(connector.plan.context) <= endpoints and connector.plan.finalize_only <= endpoints
    first = connector.plan.first(dict(connector.plan.defaults), {})
    assert first and all(p.source == name and p.endpoint in endpoints for p in first)
    for family in connector.families:
        assert family.source == name and family.prefix.startswith(f"{name}.")
        for table in family.lineage.split(", "):
            get_spec(table)  # raises for a table no family module declares
    replay = connector.spec(replay_url="http://127.0.0.1:9/x")
    assert replay["name"] == name and connector.spec()["name"] == name


def test_lookup_and_listing_come_from_the_registry() -> None:
    listed = {s["name"]: s for s in list_sources()}
    assert {n for n, s in listed.items() if s["kind"] == "builtin"} == set(CONNECTORS)
    with pytest.raises(SourceNotFoundError, match="unknown built-in connector 'nope'") as info:
        get_connector("nope")
    assert "github" in (info.value.hint or "")


def test_the_ingest_job_names_no_connector() -> None:
    names = set(CONNECTORS)
    for module in ("plan", "silver", "gold", "tasks"):
        tree = ast.parse((ROOT / "jobs" / "ingest" / f"{module}.py").read_text(encoding="utf-8"))
        found = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in names}
        imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        named = {i for i in imports if i.split(".")[:2] in [["connectors", c] for c in names]}
        assert not found and not named, f"jobs/ingest/{module}.py names {found or named}"
