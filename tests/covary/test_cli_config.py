"""Configuration mistakes fail with the key, the reason and the nearest valid key; CLI basics people try first."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from covary.cli import main
from covary.errors import ConfigError
from covary.settings import Settings, check_sources, env_name, load_settings, setting_paths

COVARY = Path(sys.executable).with_name("covary")


@pytest.fixture
def cfg_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from covary.settings import reset_settings

    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.upper().startswith("COVARY_") and key.upper() != "COVARY_HOME":
            monkeypatch.delenv(key)
    reset_settings()  # settings an earlier test read are cached; this test's files must be read afresh
    yield tmp_path
    reset_settings()


def _fails(match: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = f"{info.value.message}\nhint: {info.value.hint}"
    assert re.search(match, text), text
    assert "\n" not in info.value.message  # one line
    return info.value


def test_unknown_yaml_keys_name_the_key_and_the_nearest(cfg_dir: Path) -> None:
    (cfg_dir / "covary.yaml").write_text("serve:\n  prot: 9000\n")
    _fails(r"unknown setting 'serve\.prot' in covary\.yaml(.|\n)*did you mean 'serve\.port'")
    (cfg_dir / "covary.yaml").write_text("sevre:\n  port: 9000\n")
    _fails(r"unknown setting 'sevre'(.|\n)*did you mean 'serve'")
    (cfg_dir / "covary.yaml").write_text("lake:\n  commit_retries: 2\n  vacum_retention_hours: 3\n")
    _fails(r"'lake\.vacum_retention_hours'(.|\n)*'lake\.vacuum_retention_hours'")
    # free-form mappings take any key (delta-rs storage options, connector base URLs)
    (cfg_dir / "covary.yaml").write_text("lake:\n  storage_options:\n    aws_region: eu-west-1\n")
    assert load_settings().lake.storage_options == {"aws_region": "eu-west-1"}


def test_misspelled_environment_variables_fail_with_the_nearest(cfg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVARY_LAKE_ROOT", "/data/lake")  # one underscore instead of two
    _fails(r"unknown environment variable COVARY_LAKE_ROOT(.|\n)*did you mean COVARY_LAKE__ROOT\?")
    monkeypatch.delenv("COVARY_LAKE_ROOT")
    monkeypatch.setenv("COVARY_SERVE__PROT", "9000")
    _fails(r"COVARY_SERVE__PROT(.|\n)*COVARY_SERVE__PORT")
    monkeypatch.delenv("COVARY_SERVE__PROT")
    monkeypatch.setenv("COVARY_LAKE__STORAGE_OPTIONS__AWS_REGION", "eu-west-1")  # below a mapping: data
    monkeypatch.setenv("COVARY_URL", "http://127.0.0.1:9450")  # read by the CLI, not a setting
    assert load_settings().lake.storage_options == {"aws_region": "eu-west-1"}


def test_every_declared_setting_is_accepted_from_the_environment(cfg_dir: Path) -> None:
    """Generic over whatever fields exist: every path of the models is a valid variable, and a typo of each is not."""
    paths = setting_paths()
    assert ("serve", "port") in paths and ("lake", "root") in paths and len(paths) > 40
    for path in paths:
        check_sources({env_name(path): "x"})
    for path in paths[::7]:
        bad = env_name(path) + "X"
        with pytest.raises(ConfigError, match=re.escape(bad)):
            check_sources({bad: "x"})
    assert set(Settings.model_fields) == {p[0] for p in paths if len(p) == 1}


def test_out_of_range_values_name_key_source_and_bound(cfg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVARY_SERVE__PORT", "99999")
    _fails(r"serve\.port = '99999' \(from environment variable COVARY_SERVE__PORT\): .*less than or equal to 65535")
    monkeypatch.delenv("COVARY_SERVE__PORT")
    (cfg_dir / "covary.yaml").write_text("serve:\n  port: 0\n")
    _fails(r"serve\.port = 0 \(from covary\.yaml\): .*greater than or equal to 1")


def test_missing_config_file_and_malformed_yaml(cfg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVARY_CONFIG", str(cfg_dir / "nope.yaml"))
    _fails(r"COVARY_CONFIG=.*nope\.yaml: no such file")
    bad = cfg_dir / "bad.yaml"
    bad.write_text("serve:\n  port: 8000\n  host: [127.0.0.1\nlake: {}\n")
    monkeypatch.setenv("COVARY_CONFIG", str(bad))
    _fails(r"malformed YAML in .*bad\.yaml at line \d+, column \d+: ")
    bad.write_text("- just\n- a list\n")
    _fails(r"must hold a mapping")


def test_cli_prints_config_errors_as_one_line_and_hint(cfg_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cfg_dir / "covary.yaml").write_text("ray:\n  num_cpu: 2\n")
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: unknown setting 'ray.num_cpu' in covary.yaml"
    assert err[1].startswith("hint: did you mean 'ray.num_cpus'?") and len(err) == 2


def test_version_and_shell_completion() -> None:
    from covary import __version__

    out = subprocess.run([str(COVARY), "--version"], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"covary {__version__}"
    env = dict(os.environ, _COVARY_COMPLETE="complete_bash", COMP_WORDS="covary table hi", COMP_CWORD="2")
    done = subprocess.run([str(COVARY)], check=False, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout.split() == ["history"]
    script = subprocess.run(
        [str(COVARY), "--show-completion", "bash"], check=False, capture_output=True, text=True, timeout=60
    )
    assert script.returncode == 0 and "_COVARY_COMPLETE" in script.stdout


def test_demo_unknown_step_fails_and_lists_the_steps(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covary.cli.demo_steps import step_names

    assert main(["demo", "--steps", "macro,forcast"]) == 2
    err = capsys.readouterr().err
    names = step_names()
    assert "unknown demo step: forcast" in err and "did you mean 'forecast'" in err
    assert ", ".join(names) in err and len(set(names)) == len(names)
    assert not (covary_home / "lake").exists()  # nothing ran


def test_demo_sends_library_warnings_to_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covary.cli.demo import libraries_to_log

    log = tmp_path / "logs" / "demo.log"
    with libraries_to_log(log) as out:
        out.write("✓ step done\n")
        np.nanmean(np.array([np.nan]))  # numpy: "Mean of empty slice"
        warnings.warn("Saving as pickle is deprecated", FutureWarning, stacklevel=1)  # MLflow-style notice
        logging.getLogger("ray").warning("Token authentication is enabled")
        print("(ingest_partition pid=1) worker chatter")
    captured = capsys.readouterr()
    assert captured.out == "✓ step done\n" and captured.err == ""
    text = log.read_text()
    for needle in ("Mean of empty slice", "pickle is deprecated", "Token authentication", "worker chatter"):
        assert needle in text
    print("after")  # streams are restored
    assert capsys.readouterr().out == "after\n"


def test_table_history_prints_iso_timestamps(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lakehouse import Lakehouse

    lake = Lakehouse.from_settings()
    with lake.load("test") as load:
        load.write(
            "gold.series_catalog",
            [{"series_id": "a.b", "description": "d", "frequency": "D", "aggregation": "sum", "source": "test"}],
        )
    assert main(["table", "history", "gold.series_catalog"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\b", out), out
    assert not re.search(r"\b1\d{12}\b", out)  # no epoch milliseconds
    assert main(["table", "history", "gold.series_catalog", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["time"].endswith("Z") and isinstance(row["timestamp"], int)


def test_dq_report_no_store_says_so(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lakehouse import Lakehouse

    lake = Lakehouse.from_settings()
    with lake.load("test") as load:
        load.write(
            "gold.series_values", [{"series_id": "a.b", "ts": __import__("datetime").date(2024, 1, 1), "value": 1.0}]
        )
    main(["dq", "report", "gold.series_values", "--no-store"])
    out = capsys.readouterr()
    text = " ".join((out.out + out.err).split())  # rich wraps long lines
    assert "not stored (--no-store)" in text
    assert "stored in gold.dq_results" not in text
    assert not lake.exists("gold.dq_results") or lake.read("gold.dq_results").num_rows == 0


def test_source_check_fails_fast_on_a_refused_connection(covary_home: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    done = subprocess.run(
        [str(COVARY), "source", "check", "pokeapi", "--base-url", f"http://127.0.0.1:{port}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COVARY_HOME=str(covary_home)),
    )
    elapsed = time.perf_counter() - started
    assert done.returncode != 0
    assert f"http://127.0.0.1:{port}/" in done.stderr and "refused" in done.stderr.lower()
    assert "giving up after" not in done.stderr
    assert elapsed < 15, elapsed  # was six retries with backoff (~27 s)


def test_demo_log_redirect_survives_a_handler_whose_stream_was_closed(tmp_path: Path) -> None:
    """A handler left behind on a closed stream (a finished capture) must not make the demo fail."""
    import io

    from covary.cli.demo import libraries_to_log

    stream = io.TextIOWrapper(io.BytesIO())
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("covary-test-closed-stream")
    logger.addHandler(handler)
    stream.close()
    try:
        with libraries_to_log(tmp_path / "logs" / "demo.log") as out:
            logger.warning("still logged")
            out.write("")
        assert "still logged" in (tmp_path / "logs" / "demo.log").read_text()
        assert not handler.stream.closed
    finally:
        logger.removeHandler(handler)
