"""Correlation tiles as Ray tasks on a real two-node cluster (head + worker raylets): both nodes work,
and the findings equal an in-process run's bit for bit (exhaustive and --screen)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

DRIVER = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
import numpy as np, ray
from correlate_synth import planted_panel
from jobs.correlate import discover, execute
from jobs.correlate.align import to_panel
from jobs.correlate.discover import prepare
from jobs.correlate.nulls import make_plan
from jobs.correlate.options import DiscoveryOptions

frame, truth = planted_panel(7, n_series=30, n_planted=5)
kw = dict(seed=11, block_size=8, include_all=True, diagnose_limit=0)
local = discover(frame, execution="local", **kw)
local_screen = discover(frame, execution="local", screen=True, seed=11, block_size=8)
ray.init(address=sys.argv[1], log_to_driver=False)
remote = discover(frame, execution="ray", tiles=1, **kw)
remote_screen = discover(frame, execution="ray", tiles=1, screen=True, seed=11, block_size=8)
prep, _ = prepare(to_panel(frame), DiscoveryOptions(max_lag=7))
plan = make_plan("shift", n=prep.z.shape[0], max_lag=7, draws=39, seed=0)
blocks = execute.block_pairs(prep.z.shape[1], 8)
tiled = execute.run_ray(prep, plan, blocks, 8, progress=False, per_task=1)
key = lambda res: [(f.a, f.b, f.lag, f.r, f.p, f.q, f.significant) for f in res.findings]
print(json.dumps({
    "nodes": sorted(tiled.nodes),
    "tasks": tiled.tasks,
    "pairs_equal": bool(local.pairs.equals(remote.pairs)),
    "findings_equal": key(local) == key(remote),
    "screen_equal": key(local_screen) == key(remote_screen),
    "significant": len(local.significant),
    "planted_found": sorted(set(truth) & {(f.a, f.b) for f in local.significant}) == sorted(truth),
}))
"""


def test_tiles_run_on_both_nodes_and_equal_a_local_run(ray_two_nodes, tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    done = subprocess.run(
        [sys.executable, str(script), ray_two_nodes.gcs_address, str(REPO / "tests" / "correlate")],
        env=ray_two_nodes.client_env(),
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(out["nodes"]) == set(ray_two_nodes.node_ids), out  # tasks ran on the head and the worker
    assert out["tasks"] == 10
    assert out["pairs_equal"] and out["findings_equal"] and out["screen_equal"], out
    assert out["significant"] >= 5 and out["planted_found"], out
    # the cluster's own record agrees: tile tasks finished on both nodes
    tiles = [t for t in ray_two_nodes.tasks() if t.get("name", "").endswith("tile_task")]
    assert {t["node_id"] for t in tiles} == set(ray_two_nodes.node_ids)
