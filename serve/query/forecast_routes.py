"""``GET /v1/forecast/{series_id}?horizon=``: forecasts from the series' champion model in the MLflow registry.

The route loads ``models:/<prefix>.forecast.<series>@champion`` with ``mlflow.pyfunc.load_model`` (cached by
model version, so promoting another version takes effect on the next request) and forecasts ``horizon``
days after the model's training data ended. A model with regressors forecasts as far as the regressor
scenario it was registered with reaches; further horizons are refused with 422.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from serve.auth import Principal, require_role
from serve.query.errors import NotFoundError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1")
MAX_HORIZON = 366


class ForecastPoint(BaseModel):
    model_config = ConfigDict(extra="allow")

    ts: str = Field("", description="Day (ISO date).")
    mean: float | None = None
    lo80: float | None = None
    hi80: float | None = None
    lo95: float | None = None
    hi95: float | None = None


class ForecastReply(BaseModel):
    """The champion model's forecast of a series: 80 % and 95 % intervals per day."""

    model_config = ConfigDict(extra="allow")

    series_id: str = ""
    model: str = Field("", description="Registered model name.")
    version: str = ""
    alias: str = "champion"
    run_id: str | None = None
    kind: str | None = Field(None, description="Model family of the champion.")
    trained_until: str | None = Field(None, description="Last day of the training data (ISO date).")
    horizon: int = 0
    lower_bound: float | int | None = Field(None, description="Floor of the intervals (0 for non-negative series).")
    points: list[ForecastPoint] = []


_lock = threading.Lock()
_models: dict[tuple[str, str], Any] = {}


def _problem(status: int, error: str, hint: str | None, request: Request) -> JSONResponse:
    request.state.error = error
    return JSONResponse({"error": error, "hint": hint}, status_code=status)


def _champion(series_id: str) -> tuple[str, Any, Any]:
    """(model name, champion ModelVersion, loaded pyfunc) of ``series_id``; NotFoundError when there is none."""
    import mlflow
    from mlflow.exceptions import MlflowException

    import jobs.forecast.pyfunc  # noqa: F401 - imported before the model's code_paths join sys.path
    from jobs.common import tracking

    name = tracking.model_name("forecast", series_id)
    client = tracking.client()
    try:
        version = client.get_model_version_by_alias(name, tracking.CHAMPION)
    except MlflowException as exc:
        if getattr(exc, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise NotFoundError(
                f"no champion forecast model for series {series_id!r}",
                hint="see the series at /v1/series; `covary job run forecast` registers their models",
            ) from exc
        raise
    key = (name, str(version.version))
    with _lock:
        model = _models.get(key)
    if model is None:
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
        with _lock:
            _models[key] = model
    return name, version, model


@router.get(
    "/forecast/{series_id}",
    tags=["forecast"],
    response_model=ForecastReply,
    response_model_exclude_unset=True,
    summary="Forecast of a series from its champion model",
)
def forecast(
    series_id: str,
    request: Request,
    horizon: int = Query(14, ge=1, le=MAX_HORIZON, description="Days to forecast after the training data ended."),
    _: Principal = Depends(require_role("viewer")),
) -> Any:
    import pandas as pd

    from jobs.common.errors import TrackingUnavailableError

    try:
        name, version, model = _champion(series_id)
    except TrackingUnavailableError as exc:
        return _problem(503, str(exc), exc.hint, request)
    except NotFoundError:
        raise
    except Exception as exc:
        if "connection" in str(exc).lower() or "max retries" in str(exc).lower():
            return _problem(503, f"the MLflow registry is unreachable: {exc}", "check settings.mlflow", request)
        raise
    wrapper = model.unwrap_python_model()
    fitted = wrapper.model
    scenario = getattr(wrapper, "scenario", None)
    if fitted.exog and (scenario is None or len(scenario) < horizon):
        reach = 0 if scenario is None else len(scenario)
        return _problem(
            422,
            f"horizon {horizon} is beyond what the champion of {series_id} can forecast ({reach} day(s))",
            f"its regressors ({', '.join(fitted.exog)}) are only known or forecast {reach} day(s) ahead; "
            f"ask for horizon <= {reach}",
            request,
        )
    first = fitted.end + timedelta(days=1)
    frame = pd.DataFrame({"ts": [(first + timedelta(days=i)).isoformat() for i in range(horizon)]})
    out = model.predict(frame)
    points = [
        {"ts": str(row["ts"]), **{k: float(row[k]) for k in ("mean", "lo80", "hi80", "lo95", "hi95")}}
        for row in out.to_dict(orient="records")
    ]
    request.state.rows = len(points)
    return {
        "series_id": series_id,
        "model": name,
        "version": str(version.version),
        "alias": "champion",
        "run_id": version.run_id,
        "kind": fitted.kind,
        "trained_until": fitted.end.isoformat(),
        "horizon": horizon,
        "lower_bound": fitted.lower_bound,
        "points": points,
    }


__all__ = ["MAX_HORIZON", "ForecastPoint", "ForecastReply", "router"]
