"""Config of the forecast job (``mode`` fit, the default, or evaluate)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from jobs.common.config import IsoDate, JobConfig

# [regressor, lag] or [regressor, lag, transform]
Regressor = Annotated[list[str | int], Field(min_length=2, max_length=3)]


class ForecastConfig(JobConfig):
    """``covary job run forecast --config-json '{"series": [...], "folds": 2}'`` or ``'{"mode": "evaluate"}'``."""

    job: ClassVar[str] = "forecast"
    mode: str = Field("fit", description="'fit' (backtest, register champions) or 'evaluate' (rolling-origin replay)")
    series: list[str] | None = Field(
        None, description="series ids to forecast (default: jobs.forecast.job.DEFAULT_SERIES)"
    )
    horizon: int = Field(14, description="days forecast ahead")
    folds: int = Field(3, description="rolling-origin backtest folds that pick each series' champion")
    group_size: int = Field(3, description="series modelled per Ray task (at least 1)")
    until: IsoDate | None = Field(None, description="YYYY-MM-DD: last day of history used (default: the data's end)")
    history_days: int = Field(365, description="days of history each model sees")
    exog: dict[str, list[Regressor]] | None = Field(
        None, description="{series: [[regressor, lag] or [regressor, lag, transform]]} (default: DEFAULT_EXOG)"
    )
    plots: bool = Field(True, description="fit mode: log forecast plots to MLflow")
    origins: int = Field(4, description="evaluate mode: rolling origins, one horizon apart")
    log_mlflow: bool = Field(True, description="evaluate mode: log the evaluation run to MLflow")


__all__ = ["ForecastConfig"]
