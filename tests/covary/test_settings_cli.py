"""Settings precedence and masking; the CLI's error contract; table commands over a real lake."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from covary.cli import main
from covary.errors import ConfigError, CovaryError
from covary.settings import load_settings


def test_env_nested_overrides_yaml_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "covary.yaml").write_text("ray:\n  num_cpus: 3\n  namespace: from-yaml\nlake:\n  commit_retries: 4\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COVARY_RAY__NUM_CPUS", "5")
    settings = load_settings()
    assert settings.ray.num_cpus == 5  # env beats yaml
    assert settings.ray.namespace == "from-yaml"  # yaml beats default
    assert settings.lake.commit_retries == 4
    assert settings.lake.vacuum_retention_hours == 168  # default
    assert load_settings(ray={"num_cpus": 7}).ray.num_cpus == 7  # explicit beats env


def test_invalid_setting_names_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COVARY_RAY__NUM_CPUS", "lots")
    with pytest.raises(ConfigError, match=r"ray\.num_cpus"):
        load_settings()


def test_config_show_masks_secrets(
    covary_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COVARY_CONNECTORS__GITHUB_TOKEN", "ghp_supersecretvalue")
    assert main(["config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    assert "ghp_supersecretvalue" not in out
    data = json.loads(out)
    assert data["connectors"]["github_token"] == "**********"
    assert data["derived"]["lake_root"] == str((covary_home / "lake").resolve())
    assert data["derived"]["mlflow_tracking_uri"].startswith("sqlite:///")


def test_errors_are_one_line_with_hint_and_no_traceback(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "show", "silver.nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown table 'silver.nope'")
    assert "hint: declared tables:" in err and "Traceback" not in err


def test_covary_error_pickles_with_hint() -> None:
    err = pickle.loads(pickle.dumps(ConfigError("bad", hint="fix it")))
    assert isinstance(err, CovaryError) and err.hint == "fix it" and str(err) == "bad"


@pytest.mark.usefixtures("ray_local")
def test_table_commands_over_demo_lake(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--steps", "macro"]) == 0
    out = capsys.readouterr().out
    assert "gold.series_values" in out and str(covary_home.resolve()) in out

    assert main(["table", "list", "--json"]) == 0
    tables = {t["table"]: t for t in json.loads(capsys.readouterr().out)}
    assert tables["silver.macro_observations"]["rows"] == 2436

    assert main(["table", "show", "gold.series_catalog", "--json", "--limit", "3"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["visible_rows"] == 12 and len(shown["sample"]) == 3
    assert all(c["description"] for c in shown["columns"])

    assert main(["table", "history", "gold.series_values", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert history[0]["covary.batch"].startswith("demo.macro/gold/")

    assert main(["table", "show", "gold.series_values", "--json", "--version", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["visible_rows"] == 0  # time travel to the empty table

    assert main(["table", "optimize", "gold.series_values", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["zorder"] == ["series_id", "ts"]
    assert main(["table", "vacuum", "gold.series_values", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dry_run"] is True
