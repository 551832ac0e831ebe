"""Run the kernel over the pair matrix: in this process, or tiled across Ray tasks (matrix put once)."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobs.correlate.kernel import BlockResult, Prepared, compute_block
from jobs.correlate.nulls import NullPlan

log = logging.getLogger(__name__)

Block = tuple[int, int]
TARGET_TASK_S = 2.0
"""Aim for Ray tasks of about this long: bench/scale.py measures ~5-20 ms of Ray overhead per task."""
COMPACT_PAIRS = 1_000_000
"""Above this many pairs the tiles return only pairs that can still be significant (+ a histogram)."""


@dataclass(frozen=True)
class Collect:
    """What every tile sends back to the driver.

    ``keep_p=None``: every pair's figures (O(pairs) on the driver). ``keep_p=q``: only pairs whose
    p-value lower bound (:func:`jobs.correlate.kernel.p_lower_bound`) is <= q, plus the histogram of all
    bounds and the pair count — all BH/BY at level q needs (O(survivors + histogram)). ``screen``: the
    tiles also skip the null draws of the pairs they drop (two-stage screening).
    """

    keep_p: float | None = None
    screen: bool = False
    bound_only: bool = False
    level: float | None = None
    """For compact runs: the BH/BY level whose rejections bound sets ``keep_p`` after a first pass."""


def block_pairs(n_series: int, block_size: int) -> list[Block]:
    """Upper-triangular blocks (bi <= bj) of the pair matrix, in a fixed order."""
    count = math.ceil(n_series / block_size)
    return [(i, j) for i in range(count) for j in range(i, count)]


def _indices(block: int, block_size: int, n_series: int) -> np.ndarray:
    return np.arange(block * block_size, min((block + 1) * block_size, n_series))


def run_block(
    prep: Prepared, plan: NullPlan, block: Block, block_size: int, collect: Collect | None = None
) -> BlockResult:
    n_series = prep.z.shape[1]
    ia = _indices(block[0], block_size, n_series)
    ib = _indices(block[1], block_size, n_series)
    c = collect or Collect()
    return compute_block(
        prep, ia, ib, plan, diagonal=block[0] == block[1], keep_p=c.keep_p, screen=c.screen, bound_only=c.bound_only
    )


def run_tile(
    prep: Prepared, plan: NullPlan, tile: list[Block], block_size: int, collect: Collect | None
) -> BlockResult:
    """The blocks of one tile, concatenated; records compute seconds (for Ray overhead) and the node."""
    t0 = time.perf_counter()
    out = BlockResult.concat([run_block(prep, plan, b, block_size, collect) for b in tile])
    out.seconds = time.perf_counter() - t0
    return out


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="block", disable=not enabled or not sys.stderr.isatty(), leave=False)


def run_local(
    prep: Prepared,
    plan: NullPlan,
    blocks: list[Block],
    block_size: int,
    *,
    progress: bool,
    collect: Collect | None = None,
) -> BlockResult:
    parts = []
    with _progress(len(blocks), progress, "correlate") as bar:
        for block in blocks:
            parts.append(run_tile(prep, plan, [block], block_size, collect))
            bar.update(1)
    out = BlockResult.concat(parts)
    out.tasks = len(parts)
    return out


def tiles_for(blocks: list[Block], *, per_task: int) -> Iterator[list[Block]]:
    for start in range(0, len(blocks), per_task):
        yield blocks[start : start + per_task]


def blocks_per_task(prep: Prepared, plan: NullPlan, block_size: int, n_blocks: int, *, gflops: float = 30.0) -> int:
    """Blocks per Ray task so a task takes ~TARGET_TASK_S at ``gflops`` per worker, with >= 2 tasks per CPU."""
    flops = 2.0 * prep.z.shape[0] * block_size**2 * (plan.views.shape[0] + 2 * prep.lags.size)
    by_time = max(1, math.ceil(TARGET_TASK_S * gflops * 1e9 / flops))
    cpus = os.cpu_count() or 2
    by_spread = max(1, n_blocks // (2 * cpus))
    return max(1, min(by_time, by_spread) if n_blocks > 2 * cpus else by_time)


def put_refs(prep: Prepared, plan: NullPlan) -> tuple[Any, Any]:
    """Object-store references of the prepared matrix and the plan, shared by every pass of a run."""
    import ray

    return ray.put(prep), ray.put(plan)


def run_ray(
    prep: Prepared,
    plan: NullPlan,
    blocks: list[Block],
    block_size: int,
    *,
    progress: bool,
    per_task: int | None = None,
    collect: Collect | None = None,
    refs: tuple[Any, Any] | None = None,
) -> BlockResult:
    """Tile the blocks across Ray tasks (any node of the cluster).

    The prepared matrix and the null plan are put in the object store once; Ray copies an object to a
    node's store the first time a task there needs it, so each node holds one shared, zero-copy copy.
    Results are reduced as they arrive (the driver keeps what ``collect`` asks for, nothing more).
    """
    import ray

    from jobs.runtime import ray_retry_options

    @ray.remote(scheduling_strategy="SPREAD", **ray_retry_options())  # tiles fan out over every node
    def tile_task(
        prep_: Prepared, plan_: NullPlan, tile: list[Block], bs: int, collect_: Collect | None
    ) -> BlockResult:
        out = run_tile(prep_, plan_, tile, bs, collect_)
        out.nodes = {ray.get_runtime_context().get_node_id()}
        return out

    prep_ref, plan_ref = refs or put_refs(prep, plan)
    per = per_task or blocks_per_task(prep, plan, block_size, len(blocks))
    sizes = {}
    for tile in tiles_for(blocks, per_task=per):
        sizes[tile_task.remote(prep_ref, plan_ref, tile, block_size, collect)] = len(tile)
    parts: list[BlockResult] = []
    with _progress(len(blocks), progress, "correlate (ray)") as bar:
        remaining = list(sizes)
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1)
            parts.append(ray.get(done[0]))
            bar.update(sizes[done[0]])
    out = BlockResult.concat(parts)
    out.nodes = set().union(*(p.nodes for p in parts)) if parts else set()
    out.tasks = len(parts)
    return out


__all__ = [
    "COMPACT_PAIRS",
    "Block",
    "Collect",
    "block_pairs",
    "blocks_per_task",
    "put_refs",
    "run_block",
    "run_local",
    "run_ray",
    "run_tile",
    "tiles_for",
]
