"""An empty, NULL or zero answer over a period: refused when the table has no rows in that period (a gap in its
data, named with the spans it covers), answered with a note when rows exist but none match, a true zero kept.

The lake holds planted movies: one release on the 15th of every month of 2006-2010 and 2023-2024 (nothing in
2011-2022), Drama except Westerns in 2023 only and Horror films (all without a revenue) in 2009."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from serve.query.errors import CannotAnswerError
from serve.query.no_data import covered_spans, describe_spans, needs_check
from serve.query.service import EngineOptions, QueryService

SPANS = "2006-01-15 to 2010-12-15 and 2023-01-15 to 2024-12-15"


def _movies() -> list[dict[str, Any]]:
    rows = []
    months = [(y, m) for y in (*range(2006, 2011), 2023, 2024) for m in range(1, 13)]
    for i, (y, m) in enumerate(months):
        genre = "Western" if y == 2023 and m % 2 else "Horror" if y == 2009 and m <= 4 else "Drama"
        day = date(y, m, 15)
        rows.append(
            {
                "movie_id": i + 1,
                "title": f"Planted {i}",
                "release_date": day,
                "date": day,
                "primary_genre": genre,
                "revenue_usd": None if genre == "Horror" else 1_000_000 * (i + 1),
                "budget_usd": 100_000,
            }
        )
    return rows


@pytest.fixture(scope="module")
def movies(tmp_path_factory):
    from lakehouse import BatchKey, Lakehouse

    lake = Lakehouse(tmp_path_factory.mktemp("no-data") / "lake")
    rows = _movies()
    with lake.load("tests.no_data") as load:
        load.write("silver.tmdb_movies", rows, batch=BatchKey("tests/no_data/movies"))
    svc = QueryService(lake, EngineOptions(llm_mode="off"))
    yield svc, rows
    svc.close()


def _refusal(svc: QueryService, question: str) -> CannotAnswerError:
    with pytest.raises(CannotAnswerError) as err:
        svc.ask(question)
    return err.value


def test_a_period_in_the_gap_is_refused_naming_the_covered_spans(movies) -> None:
    svc, _rows = movies
    for question in ("total box office revenue in 2015", "how many movies were released in 2015?"):
        assert svc.translate(question).intent == "sql"  # 2015 lies inside [min, max]: the translator lets it pass
        err = _refusal(svc, question)
        assert err.message == f"silver.tmdb_movies has no rows in 2015: its data covers {SPANS}"
        assert SPANS in (err.hint or "") and err.understood["unplaced"] == "2015"
    # a comparison with a period in the gap: the 2015 column would be NULL, so it is refused too
    assert "no rows in 2015" in _refusal(svc, "how many movies in 2015 vs 2024").message
    # by month: no rows at all, refused the same way (not an empty table presented as the answer)
    assert "no rows in 2015" in _refusal(svc, "box office revenue by month in 2015").message


def test_a_true_zero_count_in_a_covered_period_is_answered_with_a_note(movies) -> None:
    svc, rows = movies
    out = svc.ask("how many Western movies were released in 2009")
    assert out["rows"] == [[0]]
    assert out["note"] == "no rows of silver.tmdb_movies match primary_genre = 'Western' in 2009"
    # the same question where Westerns exist: a plain answer, no note
    out = svc.ask("how many Western movies were released in 2023")
    assert out["rows"] == [[sum(r["primary_genre"] == "Western" for r in rows)]] == [[6]]
    assert "note" not in out
    # a day without a release inside the data's span is a true zero, said so (not a refusal)
    out = svc.ask("how many movies were released on 2009-03-16")
    assert out["rows"] == [[0]] and out["plan"]["periods"][0]["end"] == "2009-03-17"  # a day, not all 2009
    assert svc.ask("how many movies were released on March 15, 2009")["rows"] == [[1]]
    assert (
        out["note"] == "silver.tmdb_movies has no rows in 2009-03-16, inside its data's span 2006-01-15 to 2010-12-15"
    )


def test_a_null_sum_in_a_covered_period_says_why(movies) -> None:
    svc, rows = movies
    out = svc.ask("revenue of Western movies in 2009")
    assert out["rows"] == [[None]]
    assert out["note"] == "no rows of silver.tmdb_movies match primary_genre = 'Western' in 2009"
    horror = [r for r in rows if r["primary_genre"] == "Horror"]
    out = svc.ask("revenue of Horror movies in 2009")
    assert out["rows"] == [[None]] and len(horror) == 4
    assert out["note"] == (
        "4 row(s) of silver.tmdb_movies match primary_genre = 'Horror' in 2009, but revenue_usd is NULL over them"
    )
    out = svc.ask("total box office revenue in 2009")  # an answer with a value: untouched
    assert out["rows"] == [[sum(r["revenue_usd"] or 0 for r in rows if r["date"].year == 2009)]]
    assert "note" not in out


def test_covered_spans_merge_consecutive_months_and_fall_back_to_years() -> None:
    months = [date(2020, m, 1) for m in (1, 2, 3, 6, 7, 11)] + [date(2021, m, 1) for m in (1, 4, 8, 10)]

    def run(sql: str) -> list[list[Any]]:
        assert "DATE_TRUNC('month', release_date)" in sql and "genre = 'x'" in sql
        return [[d, d.replace(day=3), d.replace(day=20)] for d in months]

    # 2020-11 and 2021-01 are not consecutive (December is missing): 7 month runs, more than MAX_SPANS
    spans = covered_spans(run, "t", "release_date", ["genre = 'x'"])
    assert spans == [("2020-01-03", "2021-10-20")]  # merged by year: 2020 and 2021 both hold rows
    assert covered_spans(lambda sql: run(sql)[:6], "t", "release_date", ["genre = 'x'"]) == [
        ("2020-01-03", "2020-03-20"),
        ("2020-06-03", "2020-07-20"),
        ("2020-11-03", "2020-11-20"),
    ]
    assert describe_spans([("2020-01-03", "2020-03-20"), ("2020-11-03", "2020-11-03")]) == (
        "2020-01-03 to 2020-03-20 and 2020-11-03"
    )


def test_only_empty_null_or_zero_answers_are_checked() -> None:
    plan = {"intent": "sql", "table": "t", "periods": [{"start": "2015-01-01"}], "dimensions": ["genre"]}
    assert needs_check(plan, {"columns": ["genre", "n"], "rows": []})
    assert needs_check(plan, {"columns": ["genre", "n"], "rows": [["a", None], ["b", None]]})
    assert needs_check(plan, {"columns": ["n"], "rows": [[0]]})
    assert not needs_check(plan, {"columns": ["genre", "n"], "rows": [["a", 0], ["b", None]]})
    assert not needs_check(plan, {"columns": ["n"], "rows": [[3]]})
    assert not needs_check(plan | {"periods": []}, {"columns": ["n"], "rows": []})  # no period: nothing to check


def test_the_query_route_refuses_a_gap_period(movies) -> None:
    """The /v1/query route (serve/query/routes.py) over the same engine calls (no Ray: plain stand-ins for
    the deployment handles, which call the same QueryService methods the SqlEngine deployment does)."""
    from serve.query import routes

    svc, _rows = movies

    class Handle:
        def __init__(self, fn: Any) -> None:
            self.fn = fn

        async def remote(self, *args: Any) -> Any:
            return self.fn(*args)

    class Engine:
        run_sql = Handle(lambda sql, max_rows, pii: svc.run_sql(sql, max_rows=max_rows, pii=pii))
        call = Handle(lambda method, kwargs: getattr(svc, method)(**kwargs))

    class Translator:
        translate = Handle(svc.translate)

    class State:
        ctx = type("Ctx", (), {"engine": Engine(), "translator": Translator()})()

    request: Any = type("Req", (), {"app": type("App", (), {"state": State()})(), "state": type("S", (), {})()})()
    principal: Any = type("P", (), {"pii": False})()

    def ask(question: str) -> dict[str, Any]:
        return asyncio.run(routes.query(routes.QueryRequest(question=question), request, principal))

    with pytest.raises(CannotAnswerError, match=f"no rows in 2015: its data covers {SPANS}"):
        ask("total box office revenue in 2015")
    out = ask("revenue of Western movies in 2009")
    assert out["rows"] == [[None]] and out["note"].startswith("no rows of silver.tmdb_movies match")
