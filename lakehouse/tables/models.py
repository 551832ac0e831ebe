"""Gold outputs of the model jobs: forecasts with intervals, backtest scores, anomalies and alerts."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")
F64, STR, DATE, I64 = pa.float64(), pa.string(), pa.date32(), pa.int64()

FORECASTS = register(
    TableSpec(
        name="gold.forecasts",
        description="Forecasts of gold series by their champion model, with 80% and 95% prediction intervals.",
        columns=(
            col("series_id", STR, "Series forecast (gold.series_catalog id).", nullable=False),
            col("origin", DATE, "Last observed day the forecast was made from.", nullable=False),
            col("ts", DATE, "Day forecast.", nullable=False),
            col("step", I64, "Days ahead of the origin (1 = next day).", nullable=False),
            col("mean", F64, "Point forecast.", synonyms=("prediction", "forecast")),
            col("lo80", F64, "Lower bound of the 80% prediction interval."),
            col("hi80", F64, "Upper bound of the 80% prediction interval."),
            col("lo95", F64, "Lower bound of the 95% prediction interval."),
            col("hi95", F64, "Upper bound of the 95% prediction interval."),
            col("model", STR, "Winning model kind: ets, sarimax, naive or seasonal_naive.", nullable=False),
            col("model_name", STR, "MLflow registered model name."),
            col("model_version", STR, "MLflow model version."),
            col("run_id", STR, "MLflow run id."),
            col("created_at", TS, "When the forecast was made.", nullable=False),
        ),
        keys=("series_id", "origin", "ts"),
        write_mode="merge",
        synonyms=("forecast", "predictions", "projections"),
    )
)

FORECAST_BACKTESTS = register(
    TableSpec(
        name="gold.forecast_backtests",
        description="Rolling-origin backtest scores of every candidate model per series (MASE, sMAPE, coverage).",
        columns=(
            col("series_id", STR, "Series.", nullable=False),
            col("origin", DATE, "Last observed day of the full training data.", nullable=False),
            col("model", STR, "Candidate: ets, sarimax, naive, seasonal_naive.", nullable=False),
            col("mase", F64, "Mean absolute scaled error (scale: in-sample seasonal-naive MAE)."),
            col("smape", F64, "Symmetric MAPE in percent."),
            col("coverage80", F64, "Share of actuals inside the 80% interval."),
            col("coverage95", F64, "Share of actuals inside the 95% interval."),
            col("points", I64, "Forecast points scored (folds x horizon)."),
            col("winner", pa.bool_(), "Chosen as the series' model.", nullable=False),
            col("run_id", STR, "MLflow run id."),
        ),
        keys=("series_id", "origin", "model"),
        write_mode="merge",
        synonyms=("backtests", "model evaluation", "forecast accuracy"),
    )
)

ANOMALIES = register(
    TableSpec(
        name="gold.anomalies",
        description="Anomalies found in gold series: STL residual outliers (robust MAD score) and level shifts.",
        columns=(
            col("series_id", STR, "Series.", nullable=False),
            col("ts", DATE, "Day of the anomaly (first day of a new level for level shifts).", nullable=False),
            col("kind", STR, "point (spike or dip) or level_shift.", nullable=False),
            col("value", F64, "Observed value."),
            col("expected", F64, "Expected value (trend + seasonal, or the level before a shift)."),
            col("score", F64, "Robust z-score: deviation / (1.4826 MAD) of the residuals."),
            col("direction", STR, "up or down.", nullable=False),
            col("threshold", F64, "Score threshold in force."),
            col("run_id", STR, "MLflow run id."),
            col("detected_at", TS, "When it was detected.", nullable=False),
        ),
        keys=("series_id", "ts", "kind"),
        write_mode="merge",
        synonyms=("anomalies", "outliers", "spikes", "incidents"),
    )
)

ANOMALY_ALERTS = register(
    TableSpec(
        name="gold.anomaly_alerts",
        description=(
            "Cross-source alerts: an anomaly in one series followed, at their typical lag, by an anomaly in a "
            "correlated series."
        ),
        columns=(
            col("alert_id", STR, "Stable id source:ts->target:ts.", nullable=False),
            col("source_series", STR, "Series whose anomaly came first.", nullable=False),
            col("source_ts", DATE, "Day of the first anomaly.", nullable=False),
            col("target_series", STR, "Correlated series that followed.", nullable=False),
            col("target_ts", DATE, "Day of the following anomaly.", nullable=False),
            col("lag_days", I64, "target_ts - source_ts.", nullable=False),
            col("expected_lag_days", I64, "Lag at which the two series' residuals correlate most."),
            col("correlation", F64, "Residual cross-correlation at the expected lag."),
            col("message", STR, "The alert in words.", nullable=False),
            col("run_id", STR, "MLflow run id."),
            col("detected_at", TS, "When it was raised.", nullable=False),
        ),
        keys=("alert_id",),
        write_mode="merge",
        synonyms=("alerts", "cross-source alerts", "cascades"),
    )
)
