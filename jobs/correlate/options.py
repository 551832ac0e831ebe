"""Typed options of a discovery run (one frozen object, validated once, recorded as provenance)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from jobs.correlate.errors import OptionError

Method = Literal["pearson", "spearman"]
NullKind = Literal["shift", "block", "iid"]
Correction = Literal["bh", "by", "maxt"]
Detrend = Literal["none", "linear"]
Seasonal = Literal["none", "auto", "dow", "moy"]
Prewhiten = Literal["none", "ar1"]
Execution = Literal["auto", "local", "ray"]
Device = Literal["cpu", "cuda"]
Backend = Literal["numpy", "torch"]

CAUSATION_CAVEAT = (
    "Correlation, not causation: a shared driver, selection or chance alignment can produce this; "
    "lead/lag and Granger results show temporal precedence only."
)


LIBRARY_MAX_LAG = 7
"""``discover(frame)`` without ``max_lag`` tests lags -7..7; lake runs, files and the CLI choose by frequency."""
DEFAULT_LAGS = {"D": 28, "W": 8}
"""Default lag windows by frequency: 4 weeks for daily series, 8 weeks for weekly; 3 periods beyond that."""


def default_max_lag(freq: str | None, n_steps: int | None = None, min_overlap: int = 30) -> int:
    """The default lag window for ``freq``, shortened when the series are too short to test it honestly.

    With ``n_steps``, the window keeps at least ``min_overlap`` aligned points at the largest lag and at
    least 19 admissible circular shifts for the null (see :func:`jobs.correlate.nulls.shift_guard`).
    """
    lag = DEFAULT_LAGS.get(freq or "", 3)
    if n_steps is None:
        return lag
    while lag > 0 and (n_steps - lag < min_overlap or n_steps - 2 * (lag + max(5, n_steps // 20)) + 1 < 19):
        lag -= 1
    return lag


@dataclass(frozen=True)
class Adjust:
    """How series are adjusted before significance is decided (the 'adjusted' r)."""

    detrend: Detrend = "linear"
    difference: int = 0
    seasonal: Seasonal = "auto"
    prewhiten: Prewhiten = "none"


@dataclass(frozen=True)
class DiscoveryOptions:
    """Every knob of :func:`jobs.correlate.discover`; defaults are the honest ones.

    ``max_lag=None``: lake runs, files and the CLI choose the lag window from the aligned frequency
    (:func:`default_max_lag`: 4 weeks of daily steps, 8 weekly steps, 3 periods otherwise); the bare
    Python ``discover()`` uses ``LIBRARY_MAX_LAG`` (7). ``null_draws=None`` chooses the number of shared
    null draws from a compute budget (at least 39);
    ``refine_draws`` are extra draws spent only on candidates near the significance threshold.
    """

    max_lag: int | None = None
    method: Method = "pearson"
    null: NullKind = "shift"
    correction: Correction = "bh"
    fdr: float = 0.05
    adjust: Adjust = field(default_factory=Adjust)
    significance_on: Literal["adjusted", "raw"] = "adjusted"
    min_overlap: int = 30
    null_draws: int | None = None
    refine_draws: int = 400
    block_length: int | None = None
    tail: Literal["auto", "none"] = "auto"
    min_exceedances: int = 10
    seed: int = 0
    dtype: Literal["float32", "float64"] = "float32"
    backend: Backend = "numpy"
    device: Device = "cpu"
    block_size: int = 256
    execution: Execution = "auto"
    progress: bool = False
    screen: bool = False
    screen_dim: int = 128
    screen_keep: float = 0.02
    diagnose_limit: int = 200
    flop_budget: float = 5e11

    def __post_init__(self) -> None:
        if isinstance(self.adjust, dict):
            object.__setattr__(self, "adjust", Adjust(**self.adjust))
        checks = [
            (self.max_lag is None or self.max_lag >= 0, "max_lag must be >= 0"),
            (0 < self.fdr < 1, "fdr must be in (0, 1)"),
            (self.min_overlap >= 8, "min_overlap must be >= 8"),
            (self.null_draws is None or self.null_draws >= 19, "null_draws must be >= 19"),
            (self.refine_draws >= 0, "refine_draws must be >= 0"),
            (self.block_size >= 8, "block_size must be >= 8"),
            (self.adjust.difference in (0, 1, 2), "adjust.difference must be 0, 1 or 2"),
            (0 < self.screen_keep <= 1, "screen_keep must be in (0, 1]"),
            (self.method in ("pearson", "spearman"), "method must be pearson or spearman"),
            (self.null in ("shift", "block", "iid"), "null must be shift, block or iid"),
            (self.correction in ("bh", "by", "maxt"), "correction must be bh, by or maxt"),
            (self.block_length is None or self.block_length >= 1, "block_length must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise OptionError(message, hint="see `covary correlate --help` or docs/correlate.md")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscoveryOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OptionError(f"unknown option(s) {unknown}", hint=f"known options: {sorted(known)}")
        return cls(**data)

    def with_(self, **changes: Any) -> DiscoveryOptions:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


__all__ = [
    "CAUSATION_CAVEAT",
    "DEFAULT_LAGS",
    "LIBRARY_MAX_LAG",
    "Adjust",
    "Backend",
    "Correction",
    "Device",
    "DiscoveryOptions",
    "Execution",
    "Method",
    "NullKind",
    "default_max_lag",
]
