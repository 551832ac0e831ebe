"""Alignment: long/wide input to one regular panel, resampled per series (sum for counts, mean for levels)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from jobs.correlate.errors import InputShapeError, NotEnoughDataError

Aggregation = Literal["sum", "mean", "last"]
FREQ_RULES = {"D": "D", "W": "W-MON", "M": "MS", "Q": "QS"}
_LONG_SERIES = ("series", "series_id", "name", "metric")
_LONG_VALUE = ("value", "val", "y")


@dataclass
class Panel:
    """Aligned series: ``values[t, i]`` is series ``names[i]`` at ``index[t]`` (NaN = missing)."""

    names: list[str]
    index: pd.DatetimeIndex
    values: np.ndarray
    freq: str | None = None
    aggregation: dict[str, str] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.index), len(self.names)):
            raise InputShapeError(
                f"panel values have shape {self.values.shape}, expected ({len(self.index)}, {len(self.names)})"
            )

    @property
    def n_steps(self) -> int:
        return len(self.index)

    @property
    def n_series(self) -> int:
        return len(self.names)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, index=self.index, columns=self.names)


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """D, W, M or Q from the median spacing of ``index``; None when irregular or too short."""
    if len(index) < 3:
        return None
    days = float(np.median(np.diff(index.values).astype("timedelta64[s]").astype(np.float64)) / 86_400)
    for code, lo, hi in (("D", 0.9, 1.1), ("W", 6.5, 7.5), ("M", 27.5, 31.5), ("Q", 88, 93)):
        if lo <= days <= hi:
            return code
    return None


def _aggregation_for(name: str, aggregation: str | Mapping[str, str] | None) -> str:
    if aggregation is None:
        return "mean"
    agg = aggregation if isinstance(aggregation, str) else aggregation.get(name, "mean")
    if agg not in ("sum", "mean", "last"):
        raise InputShapeError(
            f"aggregation {agg!r} for series {name!r} is not sum, mean or last",
            hint="declare counts/flows as 'sum' and levels as 'mean'",
        )
    return agg


def _to_pandas(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):  # polars / pyarrow
        return data.to_pandas()
    raise InputShapeError(f"cannot read a {type(data).__name__} as a table", hint="pass a DataFrame or dict")


def _detect_long(frame: pd.DataFrame, time_col: str) -> tuple[str, str] | None:
    cols = [c for c in frame.columns if c != time_col]
    series = next((c for c in _LONG_SERIES if c in cols), None)
    value = next((c for c in _LONG_VALUE if c in cols), None)
    if series and value and len(cols) <= 3:
        return series, value
    return None


def _as_time(values: Any, column: str) -> pd.DatetimeIndex:
    try:
        index = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).tz_convert(None)
    except (ValueError, TypeError) as exc:
        raise InputShapeError(
            f"time column {column!r} is not parseable as dates: {exc}", hint="use ISO dates or timestamps"
        ) from exc
    return index


def to_panel(
    data: Any,
    *,
    time_col: str = "ts",
    series_col: str | None = None,
    value_col: str | None = None,
    freq: str | None = None,
    aggregation: str | Mapping[str, str] | None = None,
) -> Panel:
    """Any supported input -> :class:`Panel`.

    ``data`` is a Panel, a mapping ``name -> pandas Series`` (DatetimeIndex), or a table (pandas,
    polars, pyarrow) in long form (``series_col``, ``time_col``, ``value_col``; detected when columns
    are named series/series_id + value) or wide form (``time_col`` + one numeric column per series).
    With ``freq`` (D, W, M, Q) every series is resampled with its own aggregation.
    """
    if isinstance(data, Panel):
        return (
            data
            if freq is None
            else to_panel(data.frame(), time_col="__index__", freq=freq, aggregation=aggregation or data.aggregation)
        )
    if freq is not None and freq not in FREQ_RULES:
        raise InputShapeError(f"unknown frequency {freq!r}", hint="use D, W, M or Q")
    if isinstance(data, Mapping):
        columns = {}
        for name, series in data.items():
            if not isinstance(series, pd.Series):
                raise InputShapeError(f"series {name!r} must be a pandas Series with a DatetimeIndex")
            columns[str(name)] = series
        frame = pd.DataFrame(columns)
        frame.index = _as_time(frame.index, "index")
        return _from_wide(frame, freq=freq, aggregation=aggregation)
    frame = _to_pandas(data)
    if time_col == "__index__" or (time_col not in frame.columns and isinstance(frame.index, pd.DatetimeIndex)):
        frame = frame.copy()
        frame.index = _as_time(frame.index, "index")
        return _from_wide(frame, freq=freq, aggregation=aggregation)
    if time_col not in frame.columns:
        raise InputShapeError(
            f"time column {time_col!r} not found; columns are {list(frame.columns)[:12]}",
            hint="pass --time-col NAME",
        )
    long = (series_col, value_col or "value") if series_col else _detect_long(frame, time_col)
    if long is not None:
        s_col, v_col = long
        for c in (s_col, v_col):
            if c not in frame.columns:
                raise InputShapeError(f"long input needs column {c!r}; columns are {list(frame.columns)[:12]}")
        frame = frame[[time_col, s_col, v_col]].copy()
        frame[time_col] = _as_time(frame[time_col], time_col)
        frame[v_col] = pd.to_numeric(frame[v_col], errors="coerce")
        frame[s_col] = frame[s_col].astype(str)
        names = sorted(frame[s_col].unique())
        aggs = {n: _aggregation_for(n, aggregation) for n in names}
        parts = {}
        for name, group in frame.groupby(s_col, sort=True):
            series = group.set_index(time_col)[v_col].sort_index()
            parts[str(name)] = _collapse(series, aggs[str(name)])
        wide = pd.DataFrame(parts)
        return _from_wide(wide, freq=freq, aggregation=aggs)
    wide = frame.set_index(time_col)
    wide.index = _as_time(wide.index, time_col)
    numeric = wide.select_dtypes(include=["number", "bool"]).astype(float)
    if numeric.shape[1] == 0:
        raise InputShapeError(
            "wide input has no numeric series columns",
            hint="long input needs --series-col and --value-col",
        )
    return _from_wide(numeric, freq=freq, aggregation=aggregation)


def _collapse(series: pd.Series, agg: str) -> pd.Series:
    """Several rows with the same timestamp become one, with the series' aggregation."""
    if series.index.has_duplicates:
        grouped = series.groupby(level=0)
        series = grouped.sum(min_count=1) if agg == "sum" else grouped.last() if agg == "last" else grouped.mean()
    return series


def _from_wide(wide: pd.DataFrame, *, freq: str | None, aggregation: str | Mapping[str, str] | None) -> Panel:
    wide = wide.sort_index()
    wide.columns = [str(c) for c in wide.columns]
    aggs = {c: _aggregation_for(c, aggregation) for c in wide.columns}
    if freq is None:
        freq = infer_freq(pd.DatetimeIndex(wide.index.unique()))
        if wide.index.has_duplicates:
            wide = pd.DataFrame({c: _collapse(wide[c].dropna(), aggs[c]) for c in wide.columns})
        if freq is not None:
            wide = _regularise(wide, freq, aggs)
    else:
        wide = _regularise(wide, freq, aggs)
    wide = wide.dropna(how="all")
    if wide.shape[0] < 3:
        raise NotEnoughDataError(f"only {wide.shape[0]} time steps after alignment", hint="check --freq and --time-col")
    return Panel(
        names=list(wide.columns),
        index=pd.DatetimeIndex(wide.index),
        values=wide.to_numpy(dtype=np.float64),
        freq=freq,
        aggregation=aggs,
    )


def _regularise(wide: pd.DataFrame, freq: str, aggs: Mapping[str, str]) -> pd.DataFrame:
    rule = FREQ_RULES[freq]
    out = {}
    for c in wide.columns:
        resampler = wide[c].dropna().resample(rule, label="left", closed="left")
        agg = aggs[c]
        out[c] = resampler.sum(min_count=1) if agg == "sum" else resampler.last() if agg == "last" else resampler.mean()
    frame = pd.DataFrame(out)
    if len(frame):
        grid = pd.date_range(frame.index.min(), frame.index.max(), freq=rule)
        frame = frame.reindex(grid)
    return frame


def read_table_file(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """CSV, Parquet or a Delta table directory -> (frame, provenance with the Delta version)."""
    p = Path(path)
    if p.is_dir() and (p / "_delta_log").is_dir():
        from deltalake import DeltaTable

        dt = DeltaTable(str(p))
        return dt.to_pandas(), {"table": str(p), "format": "delta", "version": dt.version()}
    if not p.exists():
        raise InputShapeError(f"input {p} does not exist", hint="give a CSV, Parquet file or Delta table directory")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(p), {"table": str(p), "format": "parquet", "version": None}
    if suffix in (".csv", ".txt", ".tsv"):
        return pd.read_csv(p, sep="\t" if suffix == ".tsv" else ","), {
            "table": str(p),
            "format": "csv",
            "version": None,
        }
    raise InputShapeError(f"cannot read {p.name}: unknown format", hint="use .csv, .parquet or a Delta directory")


__all__ = ["FREQ_RULES", "Panel", "infer_freq", "read_table_file", "to_panel"]
