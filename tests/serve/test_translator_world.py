"""Linking on record-level tables the translator has no rules for (synth customers and orders with a region
column mixing US regions and ISO countries): values, aliases and refusal hints come from the data profile.
Numbers checked against polars over the same silver tables."""

from __future__ import annotations

import polars as pl
import pytest

from serve.query.service import EngineOptions, QueryService


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from connectors.synth import run_synth
    from lakehouse import Lakehouse

    lake = Lakehouse(tmp_path_factory.mktemp("nl-world") / "lake")
    run_synth(lake, days=120, seed=5, with_entities=False)
    svc = QueryService(lake, EngineOptions(llm_mode="off"))
    yield lake, svc
    svc.close()


def test_country_alias_links_an_iso_value_of_a_region_column(world) -> None:
    lake, svc = world
    orders = lake.read_polars("silver.synth_orders")
    assert {"GB", "Northeast"} <= set(orders["region"].unique())  # the shape this test is about
    out = svc.ask("how many orders from the UK")
    assert out["plan"]["table"] == "silver.synth_orders"
    assert out["rows"][0][0] == orders.filter(pl.col("region") == "GB").height
    assert any(s["role"] == "filter" and "GB" in str(s["value"]) for s in out["understood"])


def test_region_value_and_segment_group(world) -> None:
    lake, svc = world
    customers = lake.read_polars("silver.synth_customers")
    out = svc.ask("number of customers in the Midwest by segment")
    expected = dict(customers.filter(pl.col("region") == "Midwest").group_by("segment").len().iter_rows())
    assert dict((r[0], r[1]) for r in out["rows"]) == expected


def test_refusal_hint_names_the_tables_that_have_the_value(world) -> None:
    from serve.query.translator import DeterministicTranslator

    _lake, svc = world
    tr = DeterministicTranslator(svc.layer())
    hint = tr._values_elsewhere("silver.synth_marketing", [["Northeast", "region"]])
    assert "'Northeast' is a region value" in hint and "silver.synth_orders" in hint
    assert tr._values_elsewhere("silver.synth_marketing", [["support", "tickets", "after"]]) == ""
    column = tr._values_elsewhere("silver.synth_marketing", [["segment"]])
    assert "'segment' is a column of" in column and "silver.synth_customers" in column
