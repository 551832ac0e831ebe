"""The MLflow pyfunc wrapper of a fitted forecaster: input days (+ regressors) -> mean and 80/95% intervals."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from jobs.forecast.errors import ForecastInputError
from jobs.forecast.models import ForecastModel

# Shipped with the registered model (jobs.forecast.bundle): import only modules listed in MODEL_CODE.


class ForecastPyfunc(PythonModel):
    """Loads the spec (kind, parameters, regressors) and training data; rebuilds the model exactly.

    ``predict`` takes a DataFrame with a ``ts`` column (ISO dates: consecutive days starting the day
    after training ended) plus one column per regressor named in the spec, and returns ``ts``,
    ``mean``, ``lo80``, ``hi80``, ``lo95``, ``hi95``. Regressor columns may be left out for the days the
    job's own regressor scenario covers (artifact ``scenario``: known lagged values, then forecasts).
    """

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["spec"]) as fh:  # noqa: PTH123 - MLflow hands us a plain path
            self.spec = json.load(fh)
        train = pd.read_csv(context.artifacts["train"])
        self.model = ForecastModel.from_saved(self.spec, train)
        path = context.artifacts.get("scenario")
        self.scenario = pd.read_csv(path) if path else None

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return predict_frame(self.model, model_input, getattr(self, "scenario", None))


def predict_frame(
    model: ForecastModel, model_input: pd.DataFrame, scenario: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Forecast the days in ``model_input`` (see :class:`ForecastPyfunc`)."""
    if "ts" not in model_input.columns:
        raise ForecastInputError("input needs a 'ts' column of ISO dates")
    days = [date.fromisoformat(str(v)[:10]) for v in model_input["ts"]]
    first = model.end + timedelta(days=1)
    expected = [first + timedelta(days=i) for i in range(len(days))]
    if days != expected:
        raise ForecastInputError(
            f"input days must be consecutive from {first.isoformat()} (the day after training ended)",
            hint=f"send ts = {expected[0].isoformat()} .. {expected[-1].isoformat()}",
        )
    missing = [c for c in model.exog if c not in model_input.columns]
    if missing and scenario is not None and len(scenario) >= len(days):
        model_input = model_input.copy()
        for c in missing:
            model_input[c] = scenario[c].to_numpy(dtype=float)[: len(days)]
    elif missing:
        covered = 0 if scenario is None else len(scenario)
        raise ForecastInputError(
            f"input lacks regressor column(s) {', '.join(missing)}",
            hint=f"the stored regressor scenario covers {covered} day(s); send the columns for longer horizons",
        )
    exog = model_input[list(model.exog)].to_numpy(dtype=float) if model.exog else None
    fc = model.predict(len(days), exog)
    return fc.frame(first)


def input_example(model: ForecastModel, h: int, exog_future: np.ndarray | None) -> pd.DataFrame:
    first = model.end + timedelta(days=1)
    frame = pd.DataFrame({"ts": [(first + timedelta(days=i)).isoformat() for i in range(h)]})
    for j, name in enumerate(model.exog):
        assert exog_future is not None
        frame[name] = exog_future[:, j]
    return frame


def scenario_frame(model: ForecastModel, exog_future: np.ndarray | None) -> pd.DataFrame | None:
    """The regressor values the job forecast with (one row per day after training), or None without regressors."""
    if not model.exog or exog_future is None:
        return None
    return input_example(model, len(exog_future), exog_future)


__all__ = ["ForecastPyfunc", "input_example", "predict_frame", "scenario_frame"]
