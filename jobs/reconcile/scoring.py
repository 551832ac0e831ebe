"""Fellegi–Sunter match scores with m/u probabilities and the match prior estimated by EM."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jobs.reconcile.compare import NULL, Comparison
from jobs.reconcile.errors import ModelFitError

FLOOR = 1e-4


@dataclass
class FSModel:
    """m[c][l] = P(level l | match), u[c][l] = P(level l | non-match); ``prior`` = P(match) among candidates."""

    comparisons: tuple[Comparison, ...]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    iterations: int = 0
    converged: bool = False
    history: list[float] = field(default_factory=list)

    def weights(self) -> list[np.ndarray]:
        """Match weights log2(m/u) per comparison level (the evidence each level carries)."""
        return [np.log2(m / u) for m, u in zip(self.m, self.u, strict=True)]

    def log2_bayes_factor(self, gamma: np.ndarray) -> np.ndarray:
        total = np.zeros(gamma.shape[0], dtype=np.float64)
        for c, w in enumerate(self.weights()):
            g = gamma[:, c]
            known = g != NULL
            total[known] += w[g[known]]
        return total

    def probability(self, gamma: np.ndarray) -> np.ndarray:
        """Posterior match probability of each pair."""
        logit = np.log2(self.prior / (1 - self.prior)) + self.log2_bayes_factor(gamma)
        return 1.0 / (1.0 + np.exp2(-np.clip(logit, -60, 60)))

    def describe(self) -> dict[str, Any]:
        return {
            "prior": round(self.prior, 6),
            "iterations": self.iterations,
            "converged": self.converged,
            "comparisons": {
                comp.name: {
                    level: {"m": round(float(m[k]), 5), "u": round(float(u[k]), 5), "weight": round(float(w[k]), 2)}
                    for k, level in enumerate(comp.levels)
                }
                for comp, m, u, w in zip(self.comparisons, self.m, self.u, self.weights(), strict=True)
            },
        }


def _freq(gamma: np.ndarray, n_levels: int, weights: np.ndarray | None = None) -> np.ndarray:
    known = gamma != NULL
    w = np.ones(len(gamma)) if weights is None else weights
    counts = np.bincount(gamma[known].astype(np.int64), weights=w[known], minlength=n_levels)[:n_levels]
    total = counts.sum()
    probs = (counts + FLOOR) / (total + FLOOR * n_levels) if total > 0 else np.full(n_levels, 1.0 / n_levels)
    return np.maximum(probs, FLOOR)


def estimate_u(comparisons: tuple[Comparison, ...], random_gamma: np.ndarray) -> list[np.ndarray]:
    """u probabilities from comparisons of random record pairs (almost all non-matches)."""
    return [_freq(random_gamma[:, c], len(comp.levels)) for c, comp in enumerate(comparisons)]


def fit(
    comparisons: tuple[Comparison, ...],
    gamma: np.ndarray,
    *,
    u_init: list[np.ndarray],
    prior_init: float = 0.3,
    max_iter: int = 60,
    tol: float = 1e-5,
    update_u: bool = True,
) -> FSModel:
    """EM on the candidate pairs' comparison vectors (conditional independence given match status).

    m starts at "agreement is likely" (weight on the top level), u at ``u_init`` (from random
    pairs). Both are re-estimated on the candidate pairs when ``update_u``: blocked non-matches
    agree more often than random pairs (they share a blocking key), which is what calibrates the
    posterior on the pairs that are actually scored.
    """
    if gamma.shape[0] < 20:
        raise ModelFitError(
            f"only {gamma.shape[0]} candidate pairs: too few to estimate match probabilities",
            hint="reconcile more records at once (or lower max_block only if blocks are tiny)",
        )
    m = []
    for comp in comparisons:
        n = len(comp.levels)
        init = np.linspace(0.05, 1.0, n) ** 3
        m.append(init / init.sum())
    u = [x.copy() for x in u_init]
    prior = prior_init
    model = FSModel(comparisons, m, u, prior)
    for it in range(1, max_iter + 1):
        p = model.probability(gamma)
        new_prior = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
        new_m = [_freq(gamma[:, c], len(comp.levels), p) for c, comp in enumerate(comparisons)]
        new_u = [_freq(gamma[:, c], len(comp.levels), 1 - p) for c, comp in enumerate(comparisons)] if update_u else u
        delta = max(
            abs(new_prior - model.prior),
            *(float(np.abs(a - b).max()) for a, b in zip(new_m, model.m, strict=True)),
            *(float(np.abs(a - b).max()) for a, b in zip(new_u, model.u, strict=True)),
        )
        model = FSModel(comparisons, new_m, new_u, new_prior, it, False, [*model.history, delta])
        if delta < tol:
            model.converged = True
            break
    return model


def random_pairs(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``size`` random distinct record pairs (for u estimation)."""
    rng = np.random.default_rng(seed)
    if n < 2:
        return np.array([], np.int64), np.array([], np.int64)
    i = rng.integers(0, n, size)
    j = rng.integers(0, n, size)
    keep = i != j
    return np.minimum(i, j)[keep], np.maximum(i, j)[keep]


__all__ = ["FSModel", "estimate_u", "fit", "random_pairs"]
