"""NL->SQL on planted data: each question shape is checked against values computed independently."""

from __future__ import annotations

import json
import statistics

import httpx
import pytest

from serve.query.errors import CannotAnswerError
from serve.query.llm import LLMTranslator
from serve.query.service import EngineOptions, QueryService
from tests.serve.conftest import QUARTERS, planted_values


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from lakehouse import Lakehouse
    from tests.serve.conftest import write_planted

    lake = Lakehouse(tmp_path_factory.mktemp("nl") / "lake")
    write_planted(lake)
    svc = QueryService(lake, EngineOptions(llm_mode="off"))
    yield svc
    svc.close()


def yearly(values, year):
    return statistics.mean(v for ts, v in zip(QUARTERS, values, strict=True) if ts.year == year)


def test_metric_over_period(service):
    out = service.ask("what was real GDP in 2004?")
    assert out["rows"][0][0] == pytest.approx(yearly(planted_values()["test.output"], 2004))
    assert out["chart"]["type"] == "number" and "2004" in out["explanation"]


def test_trend_by_year_with_since(service):
    out = service.ask("unemployment rate by year since 2007")
    v = planted_values()["test.jobless"]
    assert [r[1] for r in out["rows"]] == pytest.approx([yearly(v, y) for y in (2007, 2008, 2009)])
    assert out["chart"]["type"] == "line"


def test_asked_aggregation_overrides_the_default(service):
    v = planted_values()["test.jobless"]
    by_year = {y: [x for ts, x in zip(QUARTERS, v, strict=True) if ts.year == y] for y in (2007, 2008, 2009)}
    med = service.ask("median unemployment rate by year since 2007")
    assert [r[1] for r in med["rows"]] == pytest.approx([statistics.median(by_year[y]) for y in (2007, 2008, 2009)])
    assert "MEDIAN(value)" in med["sql"] and med["plan"]["aggregation"] == "median"
    assert {"span": "median", "role": "aggregation", "value": "median"} in med["understood"]
    # "total" does not turn a rate into a sum; the default (mean) stays
    total = service.ask("total unemployment rate by year since 2007")
    assert [r[1] for r in total["rows"]] == pytest.approx([yearly(v, y) for y in (2007, 2008, 2009)])


def test_asked_aggregation_rules():
    from serve.query.semantic import Measure
    from serve.query.translator import with_requested_aggregation

    revenue = Measure("shop.revenue", "gold.series_values", "SUM(value)", "revenue", kind="series", time_column="ts")
    avg, word = with_requested_aggregation(revenue, " average daily revenue by month ")
    assert avg.expr == "SUM(value) / NULLIF(COUNT(DISTINCT ts), 0)" and word == "average"
    assert with_requested_aggregation(revenue, " revenue by month ")[0].expr == "SUM(value)"
    assert with_requested_aggregation(revenue, " median revenue by month ")[0].expr == "MEDIAN(value)"
    tickets = Measure("tickets", "silver.support", "SUM(tickets)", "tickets", time_column="date")
    assert with_requested_aggregation(tickets, " median tickets by month ")[0] is tickets  # rows are not days
    roas = Measure("roas", "gold.kpi_marketing", "SUM(revenue) / NULLIF(SUM(spend), 0)", "ROAS", kind="kpi")
    assert with_requested_aggregation(roas, " average roas by month ")[0] is roas  # a ratio keeps its definition


def test_top_n_periods(service):
    out = service.ask("top 3 quarters by unemployment")
    v = planted_values()["test.jobless"]
    best = sorted(zip(QUARTERS, v, strict=True), key=lambda p: -p[1])[:3]
    assert [r[0] for r in out["rows"]] == [ts.isoformat() for ts, _ in best]
    low = service.ask("lowest 2 quarters of gdp")
    assert [r[1] for r in low["rows"]] == pytest.approx(sorted(planted_values()["test.output"])[:2])


def test_compare_periods(service):
    out = service.ask("compare household consumption in 2003 vs 2008")
    v = planted_values()["test.follower"]
    a, b, change = out["rows"][0][:3]  # then pct_change
    assert (a, b, change) == pytest.approx((yearly(v, 2003), yearly(v, 2008), yearly(v, 2008) - yearly(v, 2003)))


def test_relative_period_anchored_to_latest_data(service):
    out = service.ask("gdp last year by quarter")
    # the data ends with Q4 2009, so 2009 is the latest complete year; the explanation says so
    assert [r[0][:4] for r in out["rows"]] == ["2009"] * 4
    assert "latest complete year" in out["explanation"]


def test_dimension_and_count(service):
    out = service.ask("how many series per domain")
    assert sorted(out["rows"]) == [["economy", 2], ["labour", 1]]
    assert "series_catalog" in out["sql"]


def test_which_series_correlate(service):
    """'which series correlate with X' is a relation question: answered by the relation intent (tested
    findings), not by an ad-hoc SQL correlation."""
    t = service.translate("which series correlate with gdp?")
    assert t.intent == "relation" and t.plan["measure"] == "test.output" and t.sql == ""


def test_cannot_answer_says_so(service):
    with pytest.raises(CannotAnswerError) as info:
        service.translate("tell me a joke about penguins")
    assert "'joke'" in info.value.message and "penguins" in info.value.understood["unplaced_all"]
    assert info.value.hint


@pytest.mark.parametrize(
    ("question", "said"),
    [("real GDP on 2005-02-30", "'2005 02 30'"), ("real GDP on February 30, 2005", "'february 30 2005'")],
)
def test_a_day_that_is_no_calendar_date_is_refused(service, question, said):
    """A date-shaped mention that is no calendar day is refused, not read as the year around it."""
    with pytest.raises(CannotAnswerError) as info:
        service.translate(question)
    assert info.value.message == f"{said} is not a calendar date" and info.value.hint
    assert service.translate("real GDP on 2005-02-28").plan["periods"][0]["start"] == "2005-02-28"


def _reply(content: str) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})


def _reply(content: str) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})


def test_llm_translator_prompt_and_guard(service):
    """The LLM proposes a plan that covary compiles; SQL from a model is refused, never run
    (hostile and nonsensical replies: tests/serve/test_llm_plan.py)."""
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = json.loads(request.content)
        seen["auth"] = request.headers.get("authorization")
        plan = {"intent": "sql", "table": "gold.series_values", "measure": "test.jobless", "grain": "year"}
        return _reply(json.dumps(plan))

    llm = LLMTranslator(
        "http://llm.local/v1", "test-model", service.layer(), api_key="k", transport=httpx.MockTransport(handler)
    )
    t = llm.translate("yearly jobless rate")
    prompt = seen["body"]["messages"][1]["content"]
    assert "gold.series_values" in prompt and "Unemployment rate" in prompt and "EXAMPLES" in prompt
    assert seen["auth"] == "Bearer k" and seen["body"]["model"] == "test-model"
    assert t.translator == "llm" and "series_id = 'test.jobless'" in t.sql
    assert service.run_sql(t.sql)["row_count"] == len({d.year for d in QUARTERS})

    def hostile(request: httpx.Request) -> httpx.Response:
        return _reply("```sql\nSELECT * FROM read_csv('/etc/passwd')\n```")

    bad = LLMTranslator("http://llm.local/v1", "m", service.layer(), transport=httpx.MockTransport(hostile))
    with pytest.raises(CannotAnswerError, match="wrote SQL"):
        bad.translate("show me the passwords")


def test_findings_latest_run_show_and_nl(tmp_path):
    """Findings routes over the real gold.correlation_findings schema: latest run only, show with caveats."""
    from datetime import UTC, datetime, timedelta

    import pyarrow as pa

    from lakehouse import Lakehouse, get_spec
    from tests.serve.conftest import write_planted

    lake = Lakehouse(tmp_path / "lake")
    write_planted(lake)
    fs, rs = get_spec("gold.correlation_findings"), get_spec("gold.correlation_runs")
    now = datetime.now(UTC)
    filler = {"string": "x", "int64": 1, "double": 0.0, "bool": True}

    def row(spec, **kw):
        return {c.name: kw.get(c.name, None if c.nullable else filler.get(str(c.type), now)) for c in spec.columns}

    runs = [
        row(rs, run_id=r, started_at=now + timedelta(hours=i), finished_at=now + timedelta(hours=i, minutes=1))
        for i, r in enumerate(["r1", "r2"])
    ]
    found = [
        row(fs, run_id=r, finding_id="f1", a="test.output", b="test.follower", r=0.5 + i / 10, caveat="not causal")
        for i, r in enumerate(["r1", "r2"])
    ]
    found.append(row(fs, run_id="r2", finding_id="f2", a="test.jobless", b="test.follower", r=-0.2, change="new"))

    def schema(spec):
        return pa.schema([f for f in spec.schema if f.name != "_load_id"])

    with lake.load("tests.findings") as load:
        load.write("gold.correlation_runs", pa.Table.from_pylist(runs, schema=schema(rs)))
        load.write("gold.correlation_findings", pa.Table.from_pylist(found, schema=schema(fs)))
    svc = QueryService(lake, EngineOptions(llm_mode="off"))
    try:
        listed = svc.findings(filters={"series": "test.output"})
        assert [dict(zip(listed["columns"], r, strict=True))["r"] for r in listed["rows"]] == [pytest.approx(0.6)]
        assert svc.findings(filters={"state": "new"})["row_count"] == 1
        shown = svc.finding("f1")
        assert shown["finding"]["run_id"] == "r2" and shown["caveats"]["caveat"] == "not causal"
        nl = svc.ask("which series correlate with gdp?")
        assert nl["intent"] == "relation" and [f["run_id"] for f in nl["answer"]["findings"]] == ["r2"]
    finally:
        svc.close()
