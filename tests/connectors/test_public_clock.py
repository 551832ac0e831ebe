"""The public clock: deterministic, realistic climatology, calendar rhythms, provenance and planted relations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import stats

from connectors.synth.public import (
    CITIES,
    GITHUB_REPOS,
    MACRO,
    REGION_CITY,
    WINDOW_DAYS,
    WINDOW_START,
    public_clock,
)


@pytest.fixture(scope="module")
def clock():
    return public_clock(WINDOW_START, WINDOW_DAYS, 2023)


def test_window_and_determinism(clock) -> None:
    assert clock.dates[0] == date(2023, 1, 1) and clock.end == date(2024, 12, 31) and len(clock.dates) == 731
    again = public_clock(WINDOW_START, WINDOW_DAYS, 2023)
    other = public_clock(WINDOW_START, WINDOW_DAYS, 7)
    for name in clock.weather:
        assert np.array_equal(clock.weather[name].temp_max, again.weather[name].temp_max)
        assert not np.array_equal(clock.weather[name].temp_max, other.weather[name].temp_max)
    assert np.array_equal(clock.github[GITHUB_REPOS[0]].commits, again.github[GITHUB_REPOS[0]].commits)
    # a shorter window is a prefix of the longer one's weather (streams are per component, not per call)
    short = public_clock(WINDOW_START, 30, 2023)
    assert short.weather["Chicago"].temp_max.shape == (30,)


def test_regions_map_to_cities(clock) -> None:
    assert dict(REGION_CITY) == {
        "Northeast": "New York",
        "Southeast": "Atlanta",
        "Midwest": "Chicago",
        "West": "Los Angeles",
        "GB": "London",
        "DE": "Berlin",
    }
    assert clock.region_weather("Midwest").city.name == "Chicago"
    with pytest.raises(KeyError, match="known"):
        clock.region_weather("Atlantis")


@pytest.mark.parametrize("city", [c.name for c in CITIES])
def test_climatology_matches_normals(clock, city: str) -> None:
    w = clock.weather[city]
    normals = w.city.normals
    months = np.array([d.month for d in clock.dates])
    assert np.all(w.temp_min < w.temp_max) and np.all(w.precipitation >= 0) and np.all(w.wind_max > 0)
    for m in range(1, 13):
        sel = months == m
        assert abs(w.temp_max[sel].mean() - normals.tmax[m - 1]) < 2.5, (city, m)
        assert abs(w.temp_min[sel].mean() - normals.tmin[m - 1]) < 2.5, (city, m)
    annual = w.precipitation.sum() / 2
    assert annual == pytest.approx(sum(normals.precip_mm), rel=0.3)
    wet_days = (w.precipitation >= normals.wet_threshold_mm).sum() / 2
    assert wet_days == pytest.approx(sum(normals.wet_days), rel=0.3)  # one seed: wet years happen
    ratios = [
        (public_clock(WINDOW_START, WINDOW_DAYS, s).weather[city].precipitation >= normals.wet_threshold_mm).sum()
        / 2
        / sum(normals.wet_days)
        for s in range(8)
    ]
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.08)  # unbiased over seeds
    # anomalies are persistent (AR(1)), not white noise
    anomaly = w.temp_max - np.array([w.temp_max[months == m].mean() for m in months])
    assert np.corrcoef(anomaly[:-1], anomaly[1:])[0, 1] > 0.4


def test_calendar_rhythms(clock) -> None:
    weekday = np.array([d.weekday() for d in clock.dates])
    us = clock.music_releases["US"]
    assert us[weekday == 4].mean() > 3 * us[weekday != 4].mean()  # Friday is release day
    assert clock.movie_releases[weekday >= 5].sum() == 0
    gh = clock.github[GITHUB_REPOS[1]]
    assert gh.commits[weekday < 5].mean() > 2 * gh.commits[weekday >= 5].mean()


def test_macro_calendars(clock) -> None:
    assert set(clock.macro) == set(MACRO)
    assert all(d.weekday() < 5 for d in clock.macro["DGS10"].dates)
    assert all(d.weekday() == 5 for d in clock.macro["ICSA"].dates) and len(clock.macro["ICSA"].dates) == 104
    assert [d.day for d in clock.macro["PAYEMS"].dates] == [1] * 24
    dgs10 = clock.macro["DGS10"]
    assert 2.5 < np.nanmean(dgs10.values) < 6
    assert np.isnan(dgs10.values[dgs10.dates.index(date(2023, 7, 4))])  # market holiday: no observation
    assert np.isnan(dgs10.values).sum() == 20


def test_planted_relations_are_there_and_marked(clock) -> None:
    by_effect = {p.effect: p for p in clock.planted}
    rel = by_effect[f"github.{GITHUB_REPOS[0]}.commits"]
    assert rel.cause == "weather.London.precipitation_sum" and rel.lag_days == 1 and "planted" in rel.description
    rain = clock.weather["London"].precipitation
    commits = clock.github[GITHUB_REPOS[0]].commits
    r, p = stats.pearsonr(rain[:-1], commits[1:])
    assert r > 0.08 and p < 0.01
    # the other repository has no such coupling: the relation is planted, not an artefact of the model
    r_other, _ = stats.pearsonr(rain[:-1], clock.github[GITHUB_REPOS[1]].commits[1:])
    assert abs(r_other) < r
    gh = clock.github[GITHUB_REPOS[0]]
    after = np.zeros_like(gh.issues, dtype=bool)
    for d in np.flatnonzero(gh.releases):
        after[d + 1 : d + 4] = True
    assert gh.issues[after].mean() > 2 * gh.issues[~after].mean()


def test_every_series_has_provenance(clock) -> None:
    names = {s.name for s in clock.series}
    assert len(names) == len(clock.series)
    for c in CITIES:
        assert f"weather.{c.name}.precipitation_sum" in names
    assert {f"fred.{sid}" for sid in MACRO} <= names
    for s in clock.series:
        assert s.licence and s.provenance and s.frequency in {"D", "W", "M"}
        assert s.synthetic  # nothing packaged covers 2023-24 (see the module docstring)
    planted_names = {p.cause for p in clock.planted} | {p.effect for p in clock.planted}
    assert planted_names <= names


def test_bad_window() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        public_clock(WINDOW_START, 0, 1)
