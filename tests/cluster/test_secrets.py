"""Secrets never reach a Ray runtime env, a task argument, a log line or an exception text (issue 16, item 1)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.runtime import is_secret_env, public_env, submit_job

REPO = Path(__file__).resolve().parents[2]


def _sentinels() -> dict[str, str]:
    tag = secrets.token_hex(6)
    return {
        "COVARY_LLM__API_KEY": f"sentinel-llm-{tag}",
        "COVARY_CONNECTORS__GITHUB_TOKEN": f"sentinel-gh-{tag}",
        "COVARY_RAY__AUTH_TOKEN": f"sentinel-ray-{tag}",
        "COVARY_LAKE__SECRET_STORAGE_OPTIONS__AWS_SECRET_ACCESS_KEY": f"sentinel-s3-{tag}",
    }


def _files_mentioning(root: Path, needles: list[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found = [n for n in needles if n.encode() in data]
        if found:
            hits[str(path)] = found
    return hits


def test_public_env_drops_every_secret() -> None:
    env = _sentinels() | {
        "COVARY_HOME": "/h",
        "COVARY_SECRETS_FILE": "/etc/covary/secrets.env",
        "COVARY_LAKE__STORAGE_OPTIONS": json.dumps({"aws_region": "eu-1", "aws_secret_access_key": "inline-secret"}),
        "COVARY_CONNECTORS__SPOTIFY_CLIENT_SECRET": "x",
        "COVARY_MILVUS__TOKEN": "y",
    }
    out = public_env(env)
    assert out == {
        "COVARY_HOME": "/h",
        "COVARY_SECRETS_FILE": "/etc/covary/secrets.env",
        "COVARY_LAKE__STORAGE_OPTIONS": json.dumps({"aws_region": "eu-1"}),
    }
    assert all(is_secret_env(k) for k in _sentinels())


def test_submit_refuses_secret_env_before_contacting_the_cluster() -> None:
    from covary.errors import ConfigError

    with pytest.raises(ConfigError, match="COVARY_LLM__API_KEY") as info:
        submit_job("demo", env={"COVARY_LLM__API_KEY": "sentinel"}, address="http://127.0.0.1:9")
    assert "sentinel" not in str(info.value) and "sentinel" not in (info.value.hint or "")


def test_job_with_sentinel_secrets_leaves_none_in_ray_logs_or_home(tmp_path: Path) -> None:
    """`covary up`, a real job with sentinel secrets, `covary down`: every file Ray and covary wrote is searched."""
    sentinels = _sentinels()
    home = tmp_path / "home"
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("".join(f"{k}={v}\n" for k, v in sentinels.items() if "LAKE" not in k))
    secrets_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVARY_", "RAY_ADDRESS", "RAY_AUTH"))}
    env |= {
        "COVARY_HOME": str(home),
        "RAY_USAGE_STATS_ENABLED": "0",
        "HF_HUB_OFFLINE": "1",
        # one secret from the environment (as a pod's Secret-backed env), the others from the 0600 file
        "COVARY_LAKE__SECRET_STORAGE_OPTIONS__AWS_SECRET_ACCESS_KEY": sentinels[
            "COVARY_LAKE__SECRET_STORAGE_OPTIONS__AWS_SECRET_ACCESS_KEY"
        ],
        "COVARY_SECRETS_FILE": str(secrets_file),
    }

    def covary(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "covary", *args],
            check=False,
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=420,
        )

    up = covary("up", "--num-cpus", "1", "--json")
    assert up.returncode == 0, up.stderr[-3000:]
    state = json.loads((home / "ray" / "cluster.json").read_text())
    ray_tmp = Path(state["temp_dir"])
    try:
        run = covary("job", "run", "demo", "--json", "--config-json", '{"steps": ["macro"]}')
        assert run.returncode == 0, run.stderr[-3000:]
        assert json.loads(run.stdout)["tables"], "the job must have written the lake"
        needles = list(sentinels.values())
        printed = up.stdout + up.stderr + run.stdout + run.stderr
        assert not [n for n in needles if n in printed], "a secret was printed"
        logs = list(ray_tmp.rglob("runtime_env*.log")) + list(ray_tmp.rglob("python-core-driver-*.log"))
        assert logs, "the job must have run on the `covary up` cluster (its session logs are searched)"
        leaks = _files_mentioning(ray_tmp, needles) | _files_mentioning(home, needles)
        assert not leaks, f"secrets written to: {leaks}"
    finally:
        down = covary("down", "--json")
        assert down.returncode == 0 and json.loads(down.stdout)["stopped"], down.stderr[-2000:]
        assert not ray_tmp.exists()


def test_config_show_masks_the_s3_secret_wherever_it_was_set(
    covary_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from covary.cli import main
    from covary.settings import reset_settings

    inline, filed = "sentinel-inline-s3", "sentinel-file-s3"
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"COVARY_LAKE__SECRET_STORAGE_OPTIONS__AWS_SECRET_ACCESS_KEY={filed}\n")
    secrets_file.chmod(0o600)
    monkeypatch.setenv("COVARY_SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv(
        "COVARY_LAKE__STORAGE_OPTIONS", json.dumps({"aws_region": "eu-1", "AWS_SECRET_ACCESS_KEY": inline})
    )
    reset_settings()
    assert main(["config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    assert inline not in out and filed not in out
    lake = json.loads(out)["lake"]
    assert lake["storage_options"] == {"aws_region": "eu-1", "AWS_SECRET_ACCESS_KEY": "**********"}
    assert lake["secret_storage_options"] == {"aws_secret_access_key": "**********"}
    secrets_file.chmod(0o644)  # a secrets file others can read is refused, without its contents
    reset_settings()
    assert main(["config", "show", "--json"]) == 2
    err = capsys.readouterr().err
    assert "chmod 600" in err and filed not in err
