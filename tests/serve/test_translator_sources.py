"""The same measure from several sources or tables: answer when the data agree (and say so), refuse naming
the candidates when they differ and nothing in the question picks one; the series id breaks description ties.
Real Delta tables on tmp_path, real DuckDB engine; expected numbers computed here from the planted values."""

from __future__ import annotations

from datetime import date
from statistics import mean

import pytest

from lakehouse import BatchKey, Lakehouse
from serve.query.errors import CannotAnswerError
from serve.query.service import EngineOptions, QueryService

QUARTERS = [date(y, m, 1) for y in range(2000, 2010) for m in (1, 4, 7, 10)]
N = len(QUARTERS)
SERIES = {
    # same description words, different sources, different values -> refuse unless a source is named
    "alpha.jobless": ("Unemployment rate", [5.0 + 0.1 * i for i in range(N)]),
    "beta.unemp": ("Seasonally adjusted unemployment rate", [5.2 + 0.1 * i + 0.3 * (i % 2) for i in range(N)]),
    # the same data from two sources -> answer, with a note naming the other
    "alpha.output": ("Real gross domestic product", [100.0 + 2.0 * i for i in range(N)]),
    "beta.realgdp": ("Real gross domestic product", [100.0 + 2.0 * i for i in range(N)]),
    # equal description fit; the id abbreviates the words asked ('realinv' <- real investment)
    "beta.realinv": ("Real gross private domestic investment", [20.0 + i for i in range(N)]),
    "beta.realgovt": ("Real federal consumption expenditures and gross investment", [30.0 + i for i in range(N)]),
}


def _avg(sid: str, year: int) -> float:
    return mean(v for ts, v in zip(QUARTERS, SERIES[sid][1], strict=True) if ts.year == year)


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory):
    lake = Lakehouse(tmp_path_factory.mktemp("sources") / "lake")
    catalog = [
        {
            "series_id": sid,
            "description": desc,
            "unit": "x",
            "frequency": "Q",
            "aggregation": "mean",
            "source": sid.split(".")[0],
            "lineage": None,
            "domain": "economy",
        }
        for sid, (desc, _v) in SERIES.items()
    ]
    values = [
        {"series_id": sid, "ts": ts, "value": v}
        for sid, (_d, vals) in SERIES.items()
        for ts, v in zip(QUARTERS, vals, strict=True)
    ]
    with lake.load("tests.sources") as load:
        load.write("gold.series_catalog", catalog, batch=BatchKey("tests/sources/catalog"))
        load.write("gold.series_values", values, batch=BatchKey("tests/sources/values"))
    service = QueryService(lake, EngineOptions(llm_mode="off"))
    yield service
    service.close()


def test_two_sources_that_differ_are_refused_with_both_named(svc) -> None:
    with pytest.raises(CannotAnswerError) as info:
        svc.ask("unemployment rate in 2005")
    msg = str(info.value)
    assert "alpha.jobless" in msg and "beta.unemp" in msg
    assert "source" in (info.value.hint or "")


def test_naming_the_source_picks_it(svc) -> None:
    out = svc.ask("beta unemployment rate in 2005")
    assert out["plan"]["measure"] == "beta.unemp"
    assert out["rows"][0][0] == pytest.approx(_avg("beta.unemp", 2005))


def test_sources_that_agree_are_answered_and_the_other_is_named(svc) -> None:
    out = svc.ask("real gdp in 2004")
    assert out["plan"]["measure"] in ("alpha.output", "beta.realgdp")
    assert out["rows"][0][0] == pytest.approx(_avg("alpha.output", 2004))
    other = ({"alpha.output", "beta.realgdp"} - {out["plan"]["measure"]}).pop()
    assert any(other in n and "same values" in n for n in out["plan"]["notes"])


def test_series_id_breaks_a_description_tie(svc) -> None:
    out = svc.ask("real investment in 2003")
    assert out["plan"]["measure"] == "beta.realinv"
    assert out["rows"][0][0] == pytest.approx(_avg("beta.realinv", 2003))


def test_tables_placing_the_words_equally_are_refused(svc) -> None:
    """Two tables whose readings tie on everything but the name: the answer would be a coin flip."""
    from serve.query.plan import PlanError
    from serve.query.reading import Placed, Reading
    from serve.query.translator import DeterministicTranslator

    tr = DeterministicTranslator(svc.layer())
    a, b = sorted(svc.layer().tables)[:2]
    tr._rank = lambda r: (len(r.unplaced), -round(r.strength, 3), r.table)  # ties broken by the name only
    ra, rb = Reading(a, [Placed(0, 0, "table", value=a)]), Reading(b, [Placed(0, 0, "table", value=b)])
    ra.strength = rb.strength = 1.0
    with pytest.raises(PlanError) as info:
        tr._refuse_tied_tables(ra, [ra, rb], ["observations"])
    assert a in str(info.value) and b in str(info.value)
    rb.strength = 0.5  # one reading places the word better: no refusal
    tr._refuse_tied_tables(ra, [ra, rb], ["observations"])
