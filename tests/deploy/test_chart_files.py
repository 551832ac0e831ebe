"""Generated chart files are in sync with their sources; every value is documented."""

from __future__ import annotations

import shutil

import pytest
import yaml

from charts.deploy import parse_values, render_readme, stale_files, sync
from charts.deploy.chartfiles import SERVE_CONFIG_DIR
from charts.deploy.errors import ChartFilesOutOfDateError
from charts.deploy.render import CHART_DIR


def test_committed_chart_files_are_up_to_date():
    assert stale_files() == [], "run `covary deploy sync`"


def test_readme_is_generated_from_values():
    assert (CHART_DIR / "README.md").read_text() == render_readme(CHART_DIR)


def test_every_value_is_documented():
    docs, undocumented = parse_values(CHART_DIR / "values.yaml")
    assert undocumented == []
    keys = {d.key for d in docs}
    assert {"ray.auth.existingSecret", "lakehouse.s3.commitCoordination", "pdb.maxUnavailable", "llm.enabled"} <= keys
    assert all(d.description for d in docs)


def test_undocumented_value_is_reported(tmp_path):
    chart = tmp_path / "covary"
    shutil.copytree(CHART_DIR, chart)
    with (chart / "values.yaml").open("a") as f:
        f.write("\nsneaky:\n  flag: true\n")
    _, undocumented = parse_values(chart / "values.yaml")
    assert undocumented == ["sneaky.flag"]


def test_schema_covers_every_top_level_value():
    import json

    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert set(values) <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_serve_config_copies_match_the_repository():
    for source in SERVE_CONFIG_DIR.glob("*.yaml"):
        assert (CHART_DIR / "files" / "serve" / source.name).read_text() == source.read_text()


def test_sync_detects_and_repairs_drift(tmp_path):
    chart = tmp_path / "covary"
    shutil.copytree(CHART_DIR, chart)
    (chart / "files" / "serve" / "serve.yaml").write_text("applications: []\n")
    (chart / "files" / "dashboards" / "orphan.json").write_text("{}")
    (chart / "README.md").unlink()
    with pytest.raises(ChartFilesOutOfDateError, match=r"serve\.yaml"):
        sync(chart, check=True)
    changed = {p.name for p in sync(chart)}
    assert changed == {"serve.yaml", "orphan.json", "README.md"}
    assert stale_files(chart) == []
