"""Null plans shared by all pairs: circular shifts, block permutations, iid permutations (anti-conservative)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobs.correlate.errors import NotEnoughDataError

NULL_LABELS = {
    "shift": "circular shift (keeps each series' autocorrelation)",
    "block": "block permutation (keeps autocorrelation within blocks)",
    "iid": "iid permutation (ANTI-CONSERVATIVE for autocorrelated series)",
}


@dataclass(frozen=True)
class NullPlan:
    """Index arrays ('views') applied to the second series of every pair, common to all pairs.

    ``views[v]`` is a time index array: view ``v`` of series b is ``b[views[v]]``. ``draw_views[j, l]``
    is the view for null draw ``j`` at lag ``lags[l]``. Because every pair uses the same views, how
    pairs are tiled across tasks cannot change any result.
    """

    kind: str
    views: np.ndarray
    draw_views: np.ndarray
    lags: np.ndarray
    block_length: int | None = None

    @property
    def draws(self) -> int:
        return int(self.draw_views.shape[0])


def shift_guard(n: int, max_lag: int) -> int:
    """Shifts closer than this to 0 (mod n) are excluded: they nearly re-create the observed alignment."""
    return max_lag + max(5, n // 20)


def admissible_shifts(n: int, max_lag: int) -> np.ndarray:
    g = shift_guard(n, max_lag)
    return np.arange(g, n - g + 1)


def auto_block_length(acf: np.ndarray, n: int) -> int:
    """Twice the median integral time scale of the series, clipped to [2, n/8]."""
    if acf.size == 0:
        return 2
    pos = np.where(np.cumprod(acf > 0, axis=1).astype(bool), acf, 0.0)
    tau = 1.0 + 2.0 * pos.sum(axis=1)
    return int(np.clip(np.ceil(2 * np.median(tau)), 2, max(2, n // 8)))


def choose_draws(*, kind: str, pairs: int, n: int, max_lag: int, flop_budget: float) -> int:
    """Null draws that fit the compute budget (>= 39; <= 999 shifts or <= 199 permutations)."""
    lags = 2 * max_lag + 1
    per_draw = max(1, pairs) * 2.0 * n * lags
    if kind == "shift":  # views are distinct offsets: at most n GEMMs whatever the number of shifts
        return int(min(np.clip(flop_budget / per_draw, 39, 999), admissible_shifts(n, max_lag).size))
    draws = int(np.clip(flop_budget / per_draw, 39, 199))  # permutations: one GEMM per draw and lag
    return draws


def make_plan(
    kind: str, *, n: int, max_lag: int, draws: int, seed: int, stream: int = 0, block_length: int | None = None
) -> NullPlan:
    """The shared null plan for ``draws`` draws; ``stream`` separates the base draws from refinements."""
    rng = np.random.default_rng([seed, stream, 0xC0FA])
    lags = np.arange(-max_lag, max_lag + 1)
    base = np.arange(n)
    if kind == "shift":
        shifts = admissible_shifts(n, max_lag)
        if shifts.size < 19:
            raise NotEnoughDataError(
                f"{n} time steps leave only {shifts.size} admissible circular shifts for max_lag={max_lag}",
                hint="use a smaller --max-lag, more data, or --null block",
            )
        chosen = (
            shifts
            if draws >= shifts.size and stream == 0
            else rng.choice(shifts, size=draws, replace=draws > shifts.size)
        )
        offsets = (chosen[:, None] + lags[None, :]) % n
        unique, inverse = np.unique(offsets, return_inverse=True)
        views = (base[None, :] + unique[:, None]) % n
        return NullPlan("shift", views.astype(np.int32), inverse.reshape(offsets.shape), lags)
    if kind not in ("block", "iid"):
        raise NotEnoughDataError(f"unknown null {kind!r}")
    length = 1 if kind == "iid" else max(1, int(block_length or 2))
    perms = np.empty((draws, n), dtype=np.int64)
    for j in range(draws):
        if length == 1:
            perms[j] = rng.permutation(n)
        else:
            start = int(rng.integers(n))
            rolled = (base + start) % n
            blocks = [rolled[i : i + length] for i in range(0, n, length)]
            order = rng.permutation(len(blocks))
            perms[j] = np.concatenate([blocks[k] for k in order])
    views = perms[:, (base[None, :] + lags[:, None]) % n]  # (B, L, n): b[perm[(t+lag) % n]]
    views = views.reshape(-1, n)
    draw_views = np.arange(views.shape[0]).reshape(draws, lags.size)
    return NullPlan(kind, views.astype(np.int32), draw_views, lags, None if kind == "iid" else length)


__all__ = [
    "NULL_LABELS",
    "NullPlan",
    "admissible_shifts",
    "auto_block_length",
    "choose_draws",
    "make_plan",
    "shift_guard",
]
