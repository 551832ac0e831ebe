"""Run the kernel over the pair matrix: in this process, or tiled across Ray tasks (matrix put once)."""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from jobs.correlate.kernel import BlockResult, Prepared, compute_block
from jobs.correlate.nulls import NullPlan

log = logging.getLogger(__name__)

Block = tuple[int, int]
TARGET_TASK_S = 0.25
"""Aim for Ray tasks of about this long (>= 50 ms) so scheduling overhead stays small."""


def block_pairs(n_series: int, block_size: int) -> list[Block]:
    """Upper-triangular blocks (bi <= bj) of the pair matrix, in a fixed order."""
    count = math.ceil(n_series / block_size)
    return [(i, j) for i in range(count) for j in range(i, count)]


def _indices(block: int, block_size: int, n_series: int) -> np.ndarray:
    return np.arange(block * block_size, min((block + 1) * block_size, n_series))


def run_block(prep: Prepared, plan: NullPlan, block: Block, block_size: int) -> BlockResult:
    n_series = prep.z.shape[1]
    ia = _indices(block[0], block_size, n_series)
    ib = _indices(block[1], block_size, n_series)
    return compute_block(prep, ia, ib, plan, diagonal=block[0] == block[1])


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="block", disable=not enabled or not sys.stderr.isatty(), leave=False)


def run_local(prep: Prepared, plan: NullPlan, blocks: list[Block], block_size: int, *, progress: bool) -> BlockResult:
    parts = []
    with _progress(len(blocks), progress, "correlate") as bar:
        for block in blocks:
            parts.append(run_block(prep, plan, block, block_size))
            bar.update(1)
    return BlockResult.concat(parts)


def tiles_for(blocks: list[Block], *, per_task: int) -> Iterator[list[Block]]:
    for start in range(0, len(blocks), per_task):
        yield blocks[start : start + per_task]


def blocks_per_task(prep: Prepared, plan: NullPlan, block_size: int, n_blocks: int, *, gflops: float = 10.0) -> int:
    """Blocks per Ray task so a task takes ~TARGET_TASK_S at ``gflops`` per worker, with >= 2 tasks per CPU."""
    flops = 2.0 * prep.z.shape[0] * block_size**2 * (plan.views.shape[0] + 2 * prep.lags.size)
    by_time = max(1, math.ceil(TARGET_TASK_S * gflops * 1e9 / flops))
    cpus = os.cpu_count() or 2
    by_spread = max(1, n_blocks // (2 * cpus))
    return max(1, min(by_time, by_spread) if n_blocks > 2 * cpus else by_time)


def run_ray(
    prep: Prepared,
    plan: NullPlan,
    blocks: list[Block],
    block_size: int,
    *,
    progress: bool,
    per_task: int | None = None,
) -> BlockResult:
    """Tile the blocks across Ray tasks; prepared data and null plan are put in the object store once."""
    import ray

    from jobs.runtime import ray_retry_options

    @ray.remote(**ray_retry_options())
    def tile_task(prep_: Prepared, plan_: NullPlan, tile: list[Block], bs: int) -> BlockResult:
        return BlockResult.concat([run_block(prep_, plan_, b, bs) for b in tile])

    prep_ref = ray.put(prep)
    plan_ref = ray.put(plan)
    per = per_task or blocks_per_task(prep, plan, block_size, len(blocks))
    sizes = {}
    for tile in tiles_for(blocks, per_task=per):
        sizes[tile_task.remote(prep_ref, plan_ref, tile, block_size)] = len(tile)
    parts: list[BlockResult] = []
    with _progress(len(blocks), progress, "correlate (ray)") as bar:
        remaining = list(sizes)
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1)
            parts.append(ray.get(done[0]))
            bar.update(sizes[done[0]])
    return BlockResult.concat(parts)


__all__ = ["Block", "block_pairs", "blocks_per_task", "run_block", "run_local", "run_ray", "tiles_for"]
