"""Candidate forecasters (naive, seasonal naive, ETS, SARIMAX with regressors) behind one fit/predict API."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from jobs.forecast.calendar import CALENDAR_NAMES, calendar_features
from jobs.forecast.errors import ForecastInputError

Kind = Literal["naive", "seasonal_naive", "ets", "sarimax"]
KINDS: tuple[Kind, ...] = ("naive", "seasonal_naive", "ets", "sarimax")
Z80, Z95 = 1.2815515655446004, 1.959963984540054
SEASON = 7
CAL_ORIGIN = date(2000, 1, 1)
LONG_TERMS: tuple[str, ...] = ("trend_years", "annual_sin", "annual_cos")
"""Calendar regressors that extrapolate far (a linear trend, the annual cycle)."""


def keep_long_terms(res: Any, names: list[str], n: int) -> bool:
    """Schwarz test of :data:`LONG_TERMS` in a fitted SARIMAX: keep them when their joint Wald statistic
    (with the model's own covariance, so autocorrelated noise is not mistaken for a cycle) exceeds
    ``k * ln(n)``, the penalty BIC charges for ``k`` extra parameters.

    A linear trend or an annual cycle fitted to slow noise extrapolates badly; a strong cycle (temperature,
    seasonal demand) passes easily.
    """
    idx = [names.index(c) for c in LONG_TERMS if c in names]
    if not idx:
        return False
    b = np.asarray(res.params)[idx]
    cov = np.asarray(res.cov_params())[np.ix_(idx, idx)]
    try:
        stat = float(b @ np.linalg.solve(cov, b))
    except np.linalg.LinAlgError:
        return False
    return bool(np.isfinite(stat) and stat > len(idx) * np.log(n))


SHORT_CALENDAR: tuple[str, ...] = tuple(c for c in CALENDAR_NAMES if c not in LONG_TERMS)


@dataclass
class Forecast:
    """Point forecast and 80%/95% prediction intervals for steps 1..h."""

    mean: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray

    def frame(self, start: date) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "ts": [(start + timedelta(days=i)).isoformat() for i in range(len(self.mean))],
                "mean": self.mean,
                "lo80": self.lo80,
                "hi80": self.hi80,
                "lo95": self.lo95,
                "hi95": self.hi95,
            }
        )


def _normal(mean: np.ndarray, sd: np.ndarray) -> Forecast:
    return Forecast(mean, mean - Z80 * sd, mean + Z80 * sd, mean - Z95 * sd, mean + Z95 * sd)


@dataclass
class ForecastModel:
    """A forecaster fixed by its spec and training data; ``params`` pin a fitted model exactly.

    ``exog`` names the regressors (columns of ``exog_train`` and of the future input), besides the
    deterministic ``calendar`` regressors SARIMAX uses (weekday, holiday; trend and annual cycle when
    :func:`keep_long_terms` finds them in the data).
    Refitting with stored ``params`` (``smooth``) reproduces the fitted model's forecasts exactly.
    """

    kind: Kind
    start: date
    y: np.ndarray
    exog: tuple[str, ...] = ()
    exog_train: np.ndarray | None = None
    params: list[float] | None = None
    interval_scale: tuple[float, float] = (1.0, 1.0)
    """Calibration factors (80%, 95%) that widen the model's intervals, learnt from backtest errors."""
    lower_bound: float | None = None
    """Floor of the series (0 for counts, amounts): forecasts and interval bounds never go below it.
    Clipping a bound at the floor keeps its coverage (the quantiles of ``max(floor, Y)``)."""
    calendar: tuple[str, ...] | None = None
    """SARIMAX's calendar regressors (names from ``CALENDAR_NAMES``); ``None``: chosen on fit, see
    :func:`keep_long_terms`."""
    _res: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        unknown = [c for c in self.calendar or () if c not in CALENDAR_NAMES]
        if unknown:
            raise ForecastInputError(
                f"unknown calendar regressor(s) {', '.join(unknown)}", hint=f"use {', '.join(CALENDAR_NAMES)}"
            )

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.y) - 1)

    # --------------------------------------------------------------------------------- design
    def _design(self, start: date, n: int, exog: np.ndarray | None) -> np.ndarray:
        cols = [CALENDAR_NAMES.index(c) for c in self._calendar()]
        cal = calendar_features(start, n, origin=CAL_ORIGIN)[:, cols]
        if self.exog:
            if exog is None or exog.shape != (n, len(self.exog)):
                raise ForecastInputError(
                    f"{self.kind} needs regressors {', '.join(self.exog)} for {n} day(s)",
                    hint="pass one column per regressor and one row per forecast day",
                )
            cal = np.column_stack([cal, exog])
        return np.column_stack([np.ones(n), cal])

    def design_names(self) -> list[str]:
        return ["const", *self._calendar(), *self.exog]

    def _calendar(self) -> tuple[str, ...]:
        return CALENDAR_NAMES if self.calendar is None else self.calendar

    @property
    def param_names(self) -> list[str]:
        """Names of ``params`` (regression coefficients by regressor name for SARIMAX)."""
        if self.kind in ("naive", "seasonal_naive"):
            return ["sigma"]
        if self._res is None:
            return []
        names = list(self._res.model.param_names)
        if self.kind == "sarimax":
            k = len(self.design_names())
            names = self.design_names() + names[k:]
        return names

    # ------------------------------------------------------------------------------------ fit
    def fit(self) -> ForecastModel:
        """Estimate parameters (or, with ``params`` set, rebuild the fitted model from them)."""
        y = self.y
        if self.kind in ("naive", "seasonal_naive"):
            lag = 1 if self.kind == "naive" else SEASON
            d = y[lag:] - y[:-lag]
            self.params = [float(np.sqrt(np.mean(d**2)))] if self.params is None else self.params
            return self
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = self._statsmodel()
            if self.params is not None:
                self._res = model.smooth(np.asarray(self.params))
                return self
            self._res = model.fit(disp=False)
            if self.kind == "sarimax" and self.calendar is None:
                keep = keep_long_terms(self._res, self.design_names(), len(y))
                self.calendar = CALENDAR_NAMES if keep else SHORT_CALENDAR
                if not keep:
                    self._res = self._statsmodel().fit(disp=False)
            self.params = [float(p) for p in np.asarray(self._res.params)]
        return self

    def _statsmodel(self) -> Any:
        index = pd.date_range(self.start, periods=len(self.y), freq="D")
        endog = pd.Series(self.y, index=index)
        if self.kind == "ets":
            from statsmodels.tsa.exponential_smoothing.ets import ETSModel

            return ETSModel(endog, error="add", trend=None, seasonal="add", seasonal_periods=SEASON)
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        return SARIMAX(endog, exog=self._design(self.start, len(self.y), self.exog_train), order=(1, 0, 0))

    # -------------------------------------------------------------------------------- predict
    def predict(self, h: int, exog_future: np.ndarray | None = None) -> Forecast:
        """Forecast days ``end+1 .. end+h`` (``exog_future``: one row per day, one column per regressor)."""
        fc = self._predict(h, exog_future)
        s80, s95 = self.interval_scale
        if (s80, s95) != (1.0, 1.0):
            m = fc.mean
            fc = Forecast(
                m, m - s80 * (m - fc.lo80), m + s80 * (fc.hi80 - m), m - s95 * (m - fc.lo95), m + s95 * (fc.hi95 - m)
            )
        if self.lower_bound is None:
            return fc
        floor = float(self.lower_bound)
        return Forecast(*(np.maximum(a, floor) for a in (fc.mean, fc.lo80, fc.hi80, fc.lo95, fc.hi95)))

    def _predict(self, h: int, exog_future: np.ndarray | None) -> Forecast:
        if h < 1:
            raise ForecastInputError("forecast horizon must be at least 1 day")
        if self.params is None or (self._res is None and self.kind in ("ets", "sarimax")):
            self.fit()
        y, steps = self.y, np.arange(1, h + 1)
        assert self.params is not None
        if self.kind == "naive":
            return _normal(np.full(h, y[-1]), self.params[0] * np.sqrt(steps))
        if self.kind == "seasonal_naive":
            last = y[-SEASON:]
            mean = np.array([last[(i - 1) % SEASON] for i in steps])
            return _normal(mean, self.params[0] * np.sqrt(np.ceil(steps / SEASON)))
        start = self.end + timedelta(days=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.kind == "ets":
                n = len(y)
                bands = {}
                for alpha in (0.2, 0.05):
                    f = self._res.get_prediction(start=n, end=n + h - 1).summary_frame(alpha=alpha)
                    bands[alpha] = (f["pi_lower"].to_numpy(), f["pi_upper"].to_numpy())
                mean = f["mean"].to_numpy()
                return Forecast(mean, *bands[0.2], *bands[0.05])
            pred = self._res.get_forecast(h, exog=self._design(start, h, exog_future))
            mean = np.asarray(pred.predicted_mean)
            ci80, ci95 = np.asarray(pred.conf_int(alpha=0.2)), np.asarray(pred.conf_int(alpha=0.05))
            return Forecast(mean, ci80[:, 0], ci80[:, 1], ci95[:, 0], ci95[:, 1])

    # ------------------------------------------------------------------------------ (de)serialise
    def spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "exog": list(self.exog),
            "params": self.params,
            "param_names": self.param_names,
            "interval_scale": list(self.interval_scale),
            "season": SEASON,
            "design": self.design_names() if self.kind == "sarimax" else [],
            "calendar": list(self._calendar()),
            "lower_bound": self.lower_bound,
        }

    def train_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"ts": [(self.start + timedelta(days=i)).isoformat() for i in range(len(self.y))]})
        frame["y"] = self.y
        for j, name in enumerate(self.exog):
            assert self.exog_train is not None
            frame[name] = self.exog_train[:, j]
        return frame

    @classmethod
    def from_saved(cls, spec: dict[str, Any], train: pd.DataFrame) -> ForecastModel:
        exog = tuple(spec["exog"])
        model = cls(
            kind=spec["kind"],
            start=date.fromisoformat(spec["start"]),
            y=train["y"].to_numpy(dtype=float),
            exog=exog,
            exog_train=train[list(exog)].to_numpy(dtype=float) if exog else None,
            params=list(spec["params"]),
            interval_scale=tuple(spec.get("interval_scale", (1.0, 1.0))),  # type: ignore[arg-type]
            calendar=tuple(spec["calendar"]) if "calendar" in spec else CALENDAR_NAMES,
            lower_bound=spec.get("lower_bound"),
        )
        return model.fit()


__all__ = ["KINDS", "LONG_TERMS", "SEASON", "Forecast", "ForecastModel", "Kind", "keep_long_terms"]
