"""The anomaly detector as an MLflow pyfunc: (series_id, ts, value) rows in, scores and flags out."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from jobs.anomaly.detect import DetectorConfig, find_anomalies, score_series, unsuitable
from jobs.common.series import regularise


class AnomalyPyfunc(PythonModel):
    """Applies the logged :class:`DetectorConfig` (thresholds, windows) to each series in the input."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["config"]) as fh:  # noqa: PTH123 - MLflow hands us a plain path
            self.config = DetectorConfig(**json.load(fh))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return detect_frame(self.config, model_input)


def detect_frame(cfg: DetectorConfig, frame: pd.DataFrame) -> pd.DataFrame:
    """One output row per input row: robust score, anomaly kind ('' when normal)."""
    from connectors.synth.calendar import us_business_holidays

    rows = []
    for sid, part in frame.groupby("series_id", sort=True):
        days = [date.fromisoformat(str(v)[:10]) for v in part["ts"]]
        s = regularise(str(sid), days, [float(v) for v in part["value"]])
        scores = score_series(s.series_id, s.start, s.values, cfg)
        holidays = us_business_holidays(s.start, s.end)
        found = (
            set()
            if unsuitable(s.values, scores, cfg)  # low counts / random walks are not scored (as in the job)
            else {(a["ts"], a["kind"]) for a in find_anomalies(scores, s.values, s.observed, cfg, holidays)}
        )
        for d in days:
            i = (d - s.start).days
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


__all__ = ["AnomalyPyfunc", "detect_frame"]
