"""Jobs on a real two-node Ray cluster (head + worker raylets, token auth) with the lake on S3 (moto).

`covary job submit --wait` of ingest (replay), correlate and forecast, as a cluster user runs it: the
tasks run on both nodes, and every result lands exactly once in the shared lake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lakehouse import Lakehouse
from tests._cluster.ray_cluster import RayCluster
from tests._cluster.s3 import S3Server

REPO = Path(__file__).resolve().parents[2]
INGEST = {
    "replay": True,
    "sources": ["weather", "fred"],
    "options": {"weather": {"cities": ["Seattle"], "years": [2015]}, "fred": {"series": ["UNRATE", "SP500"]}},
}


@pytest.fixture(scope="module")
def cluster_lake(ray_two_nodes: RayCluster, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory):
    """The shared lake (a fresh bucket) and the job environment a cluster user passes with --env."""
    base = tmp_path_factory.mktemp("cluster")
    bucket = s3_server.bucket()
    secrets = base / "secrets.env"  # on every node (one machine here); only its path travels with the job
    secrets.write_text(f"COVARY_LAKE__SECRET_STORAGE_OPTIONS__AWS_SECRET_ACCESS_KEY={s3_server.secret_key}\n")
    secrets.chmod(0o600)
    job_env = {
        "COVARY_HOME": str(base / "home"),
        "COVARY_LAKE__ROOT": f"s3://{bucket}/lake",
        "COVARY_LAKE__STORAGE_OPTIONS": json.dumps(s3_server.public_options()),
        "COVARY_SECRETS_FILE": str(secrets),
        "COVARY_CONNECTORS__ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    lake = Lakehouse(f"s3://{bucket}/lake", storage_options=s3_server.storage_options())
    return lake, job_env, base


def submit(cluster: RayCluster, name: str, config: dict[str, Any], env: dict[str, str], *, pip: bool) -> dict[str, Any]:
    args = [sys.executable, "-m", "covary", "job", "submit", name, "--address", cluster.dashboard_url, "--wait"]
    args += ["--json", "--config-json", json.dumps(config)]
    args += [] if pip else ["--no-pip"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    client_env = cluster.client_env()
    client_env = {k: v for k, v in client_env.items() if not k.startswith("COVARY_LAKE")}
    proc = subprocess.run(args, check=False, env=client_env, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{name}: {proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def task_nodes(cluster: RayCluster, submission_id: str) -> Counter[str]:
    """Node of every finished task of the job (Ray's state API): plain tasks and the partition workers' actor calls."""
    info = cluster.api(f"/api/jobs/{submission_id}")
    job_id = info["job_id"]
    deadline = time.monotonic() + 30
    while True:  # task events reach the state API a little after the job ends
        tasks = [
            t for t in cluster.tasks() if t.get("job_id") == job_id and t.get("type") in ("NORMAL_TASK", "ACTOR_TASK")
        ]
        if tasks or time.monotonic() > deadline:
            return Counter(t["node_id"] for t in tasks if t.get("node_id"))
        time.sleep(2)


@pytest.fixture(scope="module")
def ingested(ray_two_nodes: RayCluster, cluster_lake) -> dict[str, Any]:
    """One `covary job submit ingest --no-pip --wait` (replay) on the two-node cluster, shared by the tests."""
    _, env, _ = cluster_lake
    return submit(ray_two_nodes, "ingest", INGEST, env, pip=False)


def test_ingest_runs_on_both_nodes_and_lands_once_in_the_shared_lake(
    ray_two_nodes, s3_server, cluster_lake, ingested
) -> None:
    cluster = ray_two_nodes
    lake, _, _ = cluster_lake
    assert ingested["status"] == "SUCCEEDED"
    job = cluster.api(f"/api/jobs/{ingested['submission_id']}")
    assert job["entrypoint"].startswith("python -m jobs.ingest"), "no interpreter path of this machine"
    assert sys.executable not in job["entrypoint"]
    shown = json.dumps(job)  # what anyone with Jobs API access can read: no secret value
    assert s3_server.secret_key not in shown and cluster.token not in shown
    assert "aws_secret_access_key" not in shown.lower()
    nodes = task_nodes(cluster, ingested["submission_id"])
    assert set(nodes) == set(cluster.node_ids), f"ingest tasks ran on {dict(nodes)}"

    ledger = lake.read("ops.ingest_partitions", columns=["run_key", "partition_id", "event"]).to_pylist()
    done = [(r["run_key"], r["partition_id"]) for r in ledger if r["event"] == "done" and r["partition_id"] != "*"]
    assert len(done) == sum(s["partitions"] for s in json.loads(_summary(ingested))["sources"].values())
    assert len(done) == len(set(done)), "every partition done exactly once"
    bronze = lake.read("bronze.api_records", columns=["source", "endpoint", "page_key", "record_index"])
    keys = list(zip(*[bronze.column(c).to_pylist() for c in bronze.column_names], strict=True))
    assert len(keys) == len(set(keys)), "no bronze record twice"
    assert lake.read("silver.weather_daily").num_rows == 365
    assert lake.read("silver.fred_observations").num_rows == 203 + 123
    series = {c["source"] for c in lake.read("gold.series_catalog").to_pylist()}
    assert {"weather", "fred"} <= series, "gold series landed in the shared lake"


def _summary(result: dict[str, Any]) -> str:
    """The job's JSON summary from the end of its logs."""
    logs = result["logs"]
    return logs[logs.rindex('{\n  "run_key"') :]


@pytest.mark.slow  # ~10 min on a shared 2-core machine: three more submissions, one in pip mode
def test_correlate_forecast_and_a_resumed_ingest_on_two_nodes(ray_two_nodes, cluster_lake, ingested) -> None:
    cluster = ray_two_nodes
    lake, env, _ = cluster_lake
    bronze_rows = lake.read("bronze.api_records").num_rows
    again = submit(cluster, "ingest", INGEST | {"run_key": ingest_run_key(lake)}, env, pip=False)
    assert again["status"] == "SUCCEEDED"
    assert lake.read("silver.weather_daily").num_rows == 365
    assert lake.read("bronze.api_records").num_rows == bronze_rows, "a resumed run adds nothing"

    daily = [c["series_id"] for c in lake.read("gold.series_catalog").to_pylist() if c["source"] == "weather"][:4]
    assert len(daily) >= 2
    options = {"execution": "ray", "null_draws": 99, "refine_draws": 99}
    correlate = submit(cluster, "correlate", {"series": daily, "options": options}, env, pip=False)
    assert correlate["status"] == "SUCCEEDED"
    assert len(lake.read("gold.correlation_runs").to_pylist()) == 1, "one correlate run, written once"
    forecast = submit(
        cluster, "forecast", {"series": daily[:2], "horizon": 7, "folds": 2, "plots": False}, env, pip=True
    )
    assert forecast["status"] == "SUCCEEDED"
    assert "pip" in cluster.api(f"/api/jobs/{forecast['submission_id']}")["runtime_env"]
    forecasts = lake.read("gold.forecasts").to_pylist()
    assert {r["series_id"] for r in forecasts} >= set(daily[:2])
    # a handful of tasks may all fit on one node (ingest above proves the spread); they ran on the cluster
    nodes = task_nodes(cluster, forecast["submission_id"]) + task_nodes(cluster, correlate["submission_id"])
    assert nodes and set(nodes) <= set(cluster.node_ids)


def ingest_run_key(lake: Lakehouse) -> str:
    rows = lake.read("ops.ingest_partitions", columns=["run_key", "partition_id"]).to_pylist()
    (key,) = {r["run_key"] for r in rows if r["partition_id"] == "*"}
    return str(key)


def _driver(cluster: RayCluster, lake_root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`covary job run dq` as a driver attached to the cluster, with a local-path lake."""
    client = cluster.client_env()
    client = {k: v for k, v in client.items() if not k.startswith("COVARY_")}
    client |= {
        "COVARY_HOME": str(lake_root.parent / "home"),
        "COVARY_LAKE__ROOT": str(lake_root),
        "COVARY_RAY__ADDRESS": cluster.gcs_address,
        **env,
    }
    client.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "covary", "job", "run", "dq", "--json"],
        check=False,
        env=client,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_local_path_lake_on_two_nodes_is_refused_unless_shared(ray_two_nodes, tmp_path: Path) -> None:
    cluster = ray_two_nodes
    declared = _driver(cluster, tmp_path / "lake", COVARY_LAKE__SHARED_STORAGE="false")
    assert declared.returncode == 2, declared.stderr[-2000:]
    assert "not declared shared" in declared.stderr and "COVARY_LAKE__SHARED_STORAGE=true" in declared.stderr
    shared = _driver(cluster, tmp_path / "lake")  # same machine: both nodes really see this path
    assert "not shared storage" not in shared.stderr, shared.stderr[-2000:]
    if cluster.private_dir is None:
        pytest.skip("no mount namespaces here: cannot give the worker node a disk of its own")
    private = _driver(cluster, cluster.private_dir / "lake")  # the worker node sees its own empty tmpfs here
    assert private.returncode == 2, private.stderr[-2000:]
    assert "is not shared storage: 1 of 2 Ray node(s)" in private.stderr
    assert cluster.worker_node_id[:12] in private.stderr


LIMITER_DRIVER = r"""
import json, sys, time
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from jobs.ingest.limiter import ClusterLimiter, limiter_actor

ray.init(address=sys.argv[1], namespace="covary-limiter-test", log_to_driver=False)
rate, per_node = 4.0, 6
actor = limiter_actor("cluster-test", rate, 1.0, namespace="covary-limiter-test")
ray.get(actor.stats.remote())

@ray.remote(num_cpus=0)
def take(n):
    limiter = ClusterLimiter("cluster-test", namespace="covary-limiter-test")
    out = []
    for _ in range(n):
        limiter.acquire()
        out.append(time.time())
    return ray.get_runtime_context().get_node_id(), out

nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
refs = [take.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote(per_node) for n in nodes]
print(json.dumps({"rate": rate, "results": ray.get(refs)}))
"""


def test_rate_limiter_holds_across_both_nodes(ray_two_nodes) -> None:
    cluster = ray_two_nodes
    client = {k: v for k, v in cluster.client_env().items() if k != "RAY_ADDRESS"}
    proc = subprocess.run(
        [sys.executable, "-c", LIMITER_DRIVER, cluster.gcs_address],
        check=False,
        env=client | {"PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    nodes = {node for node, _ in out["results"]}
    assert nodes == set(cluster.node_ids), "one taker per node"
    stamps = sorted(t for _, times in out["results"] for t in times)
    # GCRA with burst 1: 12 grants across both nodes need at least 11 intervals of 1/rate seconds (2.75 s);
    # a limiter per node would let them through in about half that time
    span = stamps[-1] - stamps[0]
    assert span >= (len(stamps) - 1) / out["rate"] * 0.9, f"{len(stamps)} grants in {span:.2f}s"
