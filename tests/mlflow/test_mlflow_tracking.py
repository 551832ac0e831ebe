"""MLflow as a data scientist uses it: a real ``mlflow server`` (sqlite backend, artifacts proxied to an
S3-compatible moto server on loopback); the forecast and anomaly jobs log to it over HTTP; registered
models load with plain ``mlflow.pyfunc.load_model`` in an interpreter that cannot import covary; the
champion serves ``/v1/forecast/{series}``; count series never get negative interval bounds."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import polars as pl
import pytest

BUCKET = "covary-mlflow"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
SERIES = ["synth.crm.deals_won", "synth.hr.attrition"]  # with a regressor (leads, 14 days ahead); a count near 0
ANOMALY_SERIES = ["synth.support.tickets", "synth.operations.output_units"]
HORIZON = 14


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mlflow server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"mlflow server not up after {timeout_s}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free loopback port with one bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, **_boto_creds()).create_bucket(Bucket=BUCKET)
    yield {"endpoint": endpoint}
    server.stop()


def _boto_creds() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_ENV["AWS_DEFAULT_REGION"],
    }


@pytest.fixture(scope="module")
def mlflow_server(s3: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server``: sqlite backend store, artifacts proxied to s3://BUCKET/artifacts on moto."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = root / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env |= S3_ENV | {"MLFLOW_S3_ENDPOINT_URL": s3["endpoint"]}
    cmd = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        f"s3://{BUCKET}/artifacts",
    ]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/health", proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def jobs_run(mlflow_server: str, ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A synthetic lake, then the forecast and anomaly jobs logging to the server over HTTP."""
    from connectors.synth import run_synth
    from covary.settings import get_settings, reset_settings
    from jobs.anomaly import main as anomaly_main
    from jobs.forecast import main as forecast_main
    from lakehouse import Lakehouse

    home = tmp_path_factory.mktemp("mlflow-jobs") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COVARY_HOME", str(home))
        mp.setenv("COVARY_MLFLOW__TRACKING_URI", mlflow_server)
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "COVARY_MLFLOW__ARTIFACT_ROOT"):
            mp.delenv(key, raising=False)
        reset_settings()
        lake = Lakehouse.from_settings(get_settings())
        run_synth(lake, days=240, seed=5, with_entities=False)
        t0 = time.perf_counter()
        forecast = forecast_main(
            {"series": SERIES, "horizon": HORIZON, "folds": 2, "history_days": 200, "plots": False}
        )
        t1 = time.perf_counter()
        anomaly = anomaly_main({"series": ANOMALY_SERIES})
        t2 = time.perf_counter()
        yield {
            "lake": lake,
            "forecast": forecast,
            "anomaly": anomaly,
            "url": mlflow_server,
            "seconds": {"forecast": t1 - t0, "anomaly": t2 - t1},
            "home": home,
        }
        reset_settings()


def test_jobs_log_to_the_server_with_artifacts_on_s3(jobs_run: dict, s3: dict[str, str]) -> None:
    import boto3
    from mlflow import MlflowClient

    fc, an = jobs_run["forecast"], jobs_run["anomaly"]
    assert fc["tracking_uri"] == jobs_run["url"] and an["tracking_uri"] == jobs_run["url"]
    client = MlflowClient(tracking_uri=jobs_run["url"], registry_uri=jobs_run["url"])
    parent = client.get_run(fc["parent_run_id"])
    # what a user expects in the UI: the job's parameters, summary figures, tags and its input dataset
    assert parent.data.params["horizon"] == str(HORIZON) and parent.data.params["folds"] == "2"
    assert parent.data.tags["covary.job"] == "forecast" and parent.data.tags["covary.mode"] == "fit"
    metrics = parent.data.metrics
    assert metrics["series"] == len(SERIES)
    assert {"mean_mase", "mean_mase_seasonal_naive", "share_beating_seasonal_naive"} <= set(metrics)
    bt = jobs_run["lake"].read_polars("gold.forecast_backtests")
    winners = bt.filter(pl.col("winner"))
    assert metrics["mean_mase"] == pytest.approx(winners["mase"].mean())
    (dataset,) = parent.inputs.dataset_inputs
    assert dataset.dataset.name == "gold.series_values"
    assert json.loads(dataset.dataset.source)["uri"].endswith("/gold/series_values")
    assert {t.key for t in dataset.tags} >= {"mlflow.data.context", "delta_version"}
    profile = json.loads(dataset.dataset.profile)
    assert profile["num_rows"] == 200 * len(SERIES)
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(r.data.tags["series_id"] for r in children) == sorted(SERIES)
    assert all(r.inputs.dataset_inputs for r in children)
    arun = client.get_run(an["run_id"])
    assert arun.data.tags["covary.job"] == "anomaly" and arun.inputs.dataset_inputs
    # artifacts went through the server's proxy into the S3 bucket, code included
    s3c = boto3.client("s3", endpoint_url=s3["endpoint"], **_boto_creds())
    keys = [o["Key"] for page in s3c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in page["Contents"]]
    assert any(k.endswith("/MLmodel") for k in keys)
    code = sorted(k.split("/code/", 1)[1] for k in keys if "/code/" in k and k.endswith(".py"))
    assert "jobs/forecast/models.py" in code and "jobs/anomaly/detect.py" in code
    assert not any(c.startswith(("lakehouse/", "connectors/", "serve/")) for c in code), code
    assert not (jobs_run["home"] / "mlartifacts").exists()  # nothing written beside the client


FRESH = textwrap.dedent(
    """
    import importlib.util, json, os, sys
    # an interpreter where covary is not installed: drop the editable-install finder and the repo from the path
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", str(f))]
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != REPO]
    assert importlib.util.find_spec("covary") is None and importlib.util.find_spec("jobs") is None
    import mlflow, pandas as pd
    out = {}
    fc = mlflow.pyfunc.load_model(FORECAST_URI)
    frame = pd.DataFrame({"ts": DAYS})
    out["forecast"] = fc.predict(frame).to_dict(orient="list")
    out["forecast_module"] = sys.modules["jobs.forecast.models"].__file__
    an = mlflow.pyfunc.load_model(ANOMALY_URI)
    rows = pd.read_json(ROWS, orient="records", convert_dates=False, dtype={"value": float, "ts": str})
    out["anomaly"] = an.predict(rows).to_dict(orient="list")
    out["covary_imported_from"] = sys.modules["covary.errors"].__file__
    print("RESULT" + json.dumps(out))
    """
)


def test_models_load_in_a_process_without_covary(jobs_run: dict, tmp_path: Path) -> None:
    from jobs.anomaly.detect import DetectorConfig
    from jobs.anomaly.pyfunc import detect_frame
    from jobs.common import tracking

    fc, an = jobs_run["forecast"], jobs_run["anomaly"]
    sid = SERIES[0]
    gold = jobs_run["lake"].read_polars("gold.forecasts").filter(pl.col("series_id") == sid).sort("ts")
    days = [d.isoformat() for d in gold["ts"]]
    values = jobs_run["lake"].read_polars("gold.series_values").filter(pl.col("series_id").is_in(ANOMALY_SERIES))
    rows = values.select("series_id", pl.col("ts").cast(pl.Utf8), "value").sort("series_id", "ts").to_pandas()
    script = (
        f"REPO = {str(Path(__file__).resolve().parents[2])!r}\n"
        f"FORECAST_URI = {tracking.champion_uri(fc['champions'][sid]['model'])!r}\n"
        f"ANOMALY_URI = {tracking.champion_uri(an['model'])!r}\n"
        f"DAYS = {days!r}\nROWS = {str(tmp_path / 'rows.json')!r}\n" + FRESH
    )
    rows.to_json(tmp_path / "rows.json", orient="records")
    (tmp_path / "load.py").write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "COVARY_", "PYTHON"))}
    env |= {"MLFLOW_TRACKING_URI": jobs_run["url"], "MLFLOW_REGISTRY_URI": jobs_run["url"]}
    done = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "load.py")],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.split("RESULT", 1)[1])
    repo = str(Path(__file__).resolve().parents[2])
    module = result["forecast_module"]
    assert not module.startswith(repo) and module.endswith("/code/jobs/forecast/models.py"), module
    assert not result["covary_imported_from"].startswith(repo)
    # the same forecasts as the job wrote to gold, regressors taken from the scenario stored with the model
    for col in ("mean", "lo80", "hi80", "lo95", "hi95"):
        assert result["forecast"][col] == pytest.approx(gold[col].to_list(), rel=1e-9), col
    # the detector flags exactly what it flags in this process, and what the job wrote to gold
    expected = detect_frame(DetectorConfig(), rows)
    assert result["anomaly"]["anomaly"] == expected["anomaly"].tolist()
    assert result["anomaly"]["score"] == pytest.approx(expected["score"].tolist())
    flagged = {(s, t) for s, t, k in zip(rows["series_id"], rows["ts"], result["anomaly"]["anomaly"], strict=True) if k}
    found = jobs_run["lake"].read_polars("gold.anomalies") if an["anomalies"] + an["level_shifts"] else None
    if found is not None:
        assert {(s, t.isoformat()) for s, t in zip(found["series_id"], found["ts"], strict=True)} <= flagged


def test_count_series_never_get_negative_bounds(jobs_run: dict) -> None:
    """A low daily count (attrition: mostly 0-2) gets a floor of 0; without it its 95% band dips below 0."""
    import mlflow

    from jobs.forecast.models import ForecastModel

    lake = jobs_run["lake"]
    fc = lake.read_polars("gold.forecasts")
    assert fc.height == HORIZON * len(SERIES)
    assert (fc["lo95"] >= 0).all() and (fc["lo80"] >= 0).all() and (fc["mean"] >= 0).all()
    low = fc.filter(pl.col("series_id") == "synth.hr.attrition").sort("ts")
    run = jobs_run["forecast"]["champions"]["synth.hr.attrition"]
    local = mlflow.artifacts.download_artifacts(f"models:/{run['model']}/{run['version']}")
    spec = json.loads(next(Path(local).rglob("spec.json")).read_text())
    train = pd.read_csv(next(Path(local).rglob("train.csv")))
    assert spec["lower_bound"] == 0.0
    unbounded = ForecastModel.from_saved(spec | {"lower_bound": None}, train).predict(HORIZON)
    assert unbounded.lo95.min() < 0, "the planted series is not low enough to test the floor"
    assert low["lo95"].to_numpy() == pytest.approx(np.maximum(unbounded.lo95, 0.0), rel=1e-9, abs=1e-12)
    assert low["hi95"].to_numpy() == pytest.approx(np.maximum(unbounded.hi95, 0.0), rel=1e-9, abs=1e-12)
    # a series that can go negative keeps its full band
    from jobs.forecast.job import series_floor

    assert series_floor(np.array([-1.0, 3.0]), "USD", "sum") is None
    assert series_floor(np.array([3.0, 4.0]), "degC", "mean") is None
    assert series_floor(np.array([0.0, 4.0]), "count", "sum") == 0.0


def _app(tmp_path: Path) -> tuple[Any, dict[str, str]]:
    from fastapi.testclient import TestClient

    from serve.auth import KeyStore
    from serve.query.app import AppContext, QueryAppArgs, create_fastapi

    keys = KeyStore(tmp_path / "keys.yaml")
    tokens = {role: keys.create(role, name=f"t {role}")[1] for role in ("viewer",)}
    args = QueryAppArgs(api_keys_path=str(tmp_path / "keys.yaml"), audit=False, rate_limits={"viewer": 0})
    ctx = AppContext(engine=None, translator=None, audit=None, args=args, extra={})  # type: ignore[arg-type]
    return TestClient(create_fastapi(ctx, keys)), tokens


def test_forecast_route_serves_the_champion(jobs_run: dict, tmp_path: Path) -> None:
    from covary.settings import reset_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COVARY_HOME", str(jobs_run["home"]))
        mp.setenv("COVARY_MLFLOW__TRACKING_URI", jobs_run["url"])
        reset_settings()
        client, tokens = _app(tmp_path)
        head = {"Authorization": f"Bearer {tokens['viewer']}"}
        sid = "synth.hr.attrition"
        assert client.get(f"/v1/forecast/{sid}?horizon=7").status_code == 401
        r = client.get(f"/v1/forecast/{sid}", params={"horizon": 7}, headers=head)
        assert r.status_code == 200, r.text
        body = r.json()
        gold = jobs_run["lake"].read_polars("gold.forecasts").filter(pl.col("series_id") == sid).sort("ts")
        champ = jobs_run["forecast"]["champions"][sid]
        assert body["model"] == champ["model"] and body["version"] == champ["version"]
        assert [p["ts"] for p in body["points"]] == [d.isoformat() for d in gold["ts"][:7]]
        assert [p["mean"] for p in body["points"]] == pytest.approx(gold["mean"][:7].to_list(), rel=1e-9)
        assert all(p["lo95"] >= 0 for p in body["points"]) and body["lower_bound"] == 0.0
        # a model with a regressor reaches as far as its stored scenario; beyond that: 422 with the limit
        assert jobs_run["forecast"]["champions"][SERIES[0]]["winner"] == "sarimax"
        assert client.get(f"/v1/forecast/{SERIES[0]}?horizon={HORIZON}", headers=head).status_code == 200
        far = client.get(f"/v1/forecast/{SERIES[0]}?horizon={HORIZON + 1}", headers=head)
        assert far.status_code == 422 and f"horizon <= {HORIZON}" in far.json()["hint"], far.text
        # a model without regressors forecasts further than the job did
        long = client.get(f"/v1/forecast/{sid}?horizon=60", headers=head)
        assert long.status_code == 200 and len(long.json()["points"]) == 60
        start = date.fromisoformat(body["trained_until"]) + timedelta(days=1)
        assert long.json()["points"][-1]["ts"] == (start + timedelta(days=59)).isoformat()
        for bad in ("0", "-3", "367", "abc"):
            assert client.get(f"/v1/forecast/{sid}?horizon={bad}", headers=head).status_code == 422, bad
        missing = client.get("/v1/forecast/synth.nope.nothing?horizon=3", headers=head)
        assert missing.status_code == 404 and "no champion forecast model" in missing.json()["error"]
        assert missing.json()["hint"]
    reset_settings()


def test_model_show_prints_backtest_against_baselines(jobs_run: dict, capsys: pytest.CaptureFixture[str]) -> None:
    from covary.cli import main
    from covary.settings import reset_settings

    sid = SERIES[0]
    name = jobs_run["forecast"]["champions"][sid]["model"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COVARY_HOME", str(jobs_run["home"]))
        mp.setenv("COVARY_MLFLOW__TRACKING_URI", jobs_run["url"])
        reset_settings()
        assert main(["model", "show", name]) == 0
    reset_settings()
    out = capsys.readouterr().out
    bt = jobs_run["lake"].read_polars("gold.forecast_backtests").filter(pl.col("series_id") == sid)
    snaive = bt.filter(pl.col("model") == "seasonal_naive")["mase"][0]
    winner = bt.filter(pl.col("winner"))["model"][0]
    assert "seasonal_naive" in out and "(baseline)" in out and f"{winner}" in out and "<- chosen" in out
    assert f"{snaive:.3f}" in out
