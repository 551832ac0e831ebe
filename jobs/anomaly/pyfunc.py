"""The anomaly detector as an MLflow pyfunc: (series_id, ts, value) rows in, scores and flags out."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from covary.errors import TerminalError
from jobs.anomaly.detect import DetectorConfig, find_anomalies, score_series, unsuitable
from jobs.errors import JobError
from jobs.forecast.calendar import business_holidays

# Shipped with the registered model (jobs.forecast.bundle): import only modules listed in MODEL_CODE.


class AnomalyInputError(JobError, TerminalError, ValueError):
    """Rows handed to the detector cannot be scored (too few observations, bad dates)."""


class AnomalyPyfunc(PythonModel):
    """Applies the logged :class:`DetectorConfig` (thresholds, windows) to each series in the input."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["config"]) as fh:  # noqa: PTH123 - MLflow hands us a plain path
            self.config = DetectorConfig(**json.load(fh))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return detect_frame(self.config, model_input)


def detect_frame(cfg: DetectorConfig, frame: pd.DataFrame) -> pd.DataFrame:
    """One output row per input row: robust score, anomaly kind ('' when normal)."""
    missing = [c for c in ("series_id", "ts", "value") if c not in frame.columns]
    if missing:
        raise AnomalyInputError(f"input lacks column(s) {', '.join(missing)}", hint="send series_id, ts, value")
    rows = []
    for sid, part in frame.groupby("series_id", sort=True):
        days = [date.fromisoformat(str(v)[:10]) for v in part["ts"]]
        start, values, observed = _regular(str(sid), days, [float(v) for v in part["value"]])
        scores = score_series(str(sid), start, values, cfg)
        holidays = business_holidays(start, start + timedelta(days=len(values) - 1))
        found = (
            set()
            if unsuitable(values, scores, cfg)  # low counts / random walks are not scored (as in the job)
            else {(a["ts"], a["kind"]) for a in find_anomalies(scores, values, observed, cfg, holidays)}
        )
        for d in days:
            i = (d - start).days
            kind = "level_shift" if (d, "level_shift") in found else "point" if (d, "point") in found else ""
            rows.append(
                {
                    "series_id": str(sid),
                    "ts": d.isoformat(),
                    "score": float(np.round(scores.score[i], 6)),
                    "anomaly": kind,
                }
            )
    return pd.DataFrame(rows, columns=["series_id", "ts", "score", "anomaly"])


def _regular(series_id: str, days: list[date], values: list[float]) -> tuple[date, np.ndarray, np.ndarray]:
    """Observations on a complete daily calendar, missing days interpolated (as ``jobs.common.series``)."""
    start = min(days)
    n = (max(days) - start).days + 1
    y = np.full(n, np.nan)
    for d, v in zip(days, values, strict=True):
        y[(d - start).days] = v
    observed = ~np.isnan(y)
    if observed.sum() < 2:
        raise AnomalyInputError(f"series {series_id} has fewer than 2 observations", hint="send a longer history")
    idx = np.arange(n)
    return start, np.interp(idx, idx[observed], y[observed]), observed


__all__ = ["AnomalyInputError", "AnomalyPyfunc", "detect_frame"]
