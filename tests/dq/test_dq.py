"""Data quality: hand-computed metrics on small tables, PSI/KS against scipy, drift between Delta versions."""

from __future__ import annotations

import json
import math
import pickle
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from jobs.dq import checks, drift, rules, runner
from jobs.dq.errors import DQFailedError, NoDQResultsError, RuleError
from jobs.reconcile import pipeline

NOW = datetime(2025, 1, 10, 12, tzinfo=UTC)


def _by(results, check, column=None):
    return next(r for r in results if r.check == check and r.column == column)


def test_profile_checks_match_hand_computed_values():
    table = pa.table(
        {
            "id": ["a", "b", "b", "c"],
            "amount": [1.0, None, 3.5, float("nan")],
            "qty": ["1", "2", "x", "4"] * 1 + [],
            "ts": pa.array([NOW - timedelta(hours=5), NOW - timedelta(hours=2), None, NOW - timedelta(hours=30)]),
        }
    )
    table = pa.table({**{n: table[n] for n in table.column_names}})
    res = checks.profile_checks(table, keys=("id",), nullable={"id": False}, now=NOW)
    assert _by(res, "row_count").value == 4
    assert _by(res, "null_rate", "amount").value == 0.25
    assert _by(res, "null_rate", "ts").value == 0.25
    assert _by(res, "null_rate", "id").status == "pass"
    assert _by(res, "key_uniqueness", "id").value == 1 and _by(res, "key_uniqueness", "id").status == "fail"
    rng = _by(res, "value_range", "amount")
    assert rng.value == 3.5 and "min 1.0" in rng.detail and "1 NaN/inf" in rng.detail and rng.status == "warn"
    assert _by(res, "freshness", "ts").value == pytest.approx(2.0)
    # 'qty' has only 4 values: too few to infer a dominant type, no verdict
    assert not [r for r in res if r.check == "type_violations"]


def test_type_violations_and_required_nulls():
    values = [str(i) for i in range(95)] + ["n/a", "12,5x", "", "7", "8"]
    table = pa.table({"count": values, "must": ["x"] * 99 + [None]})
    res = checks.profile_checks(table, nullable={"must": False}, now=NOW)
    tv = _by(res, "type_violations", "count")
    assert tv.value == pytest.approx(2 / 99) and tv.status == "warn" and "integer" in tv.detail
    assert _by(res, "null_rate", "count").value == pytest.approx(1 / 100)
    req = _by(res, "null_rate", "must")
    assert req.status == "fail" and req.value == pytest.approx(0.01)


def test_psi_against_hand_computation():
    expected = np.arange(100, dtype=float)  # deciles: 10 values per bin
    actual = np.concatenate([np.full(50, 5.0), np.arange(50, 100, dtype=float)])
    # bins from quantiles of expected; actual: 50 in bin 0, 0 in bins 1-4, 10 in each of bins 5-9
    e = np.full(10, 0.1)
    a = np.array([0.5, 1e-4, 1e-4, 1e-4, 1e-4, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert drift.psi(expected, actual) == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)
    assert drift.psi(expected, expected) == pytest.approx(0.0, abs=1e-12)
    cat = drift.psi_categorical(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20)
    assert cat == pytest.approx((0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5))


@pytest.mark.parametrize("shift,n,m", [(0.0, 200, 150), (0.4, 300, 250), (1.0, 50, 80)])
def test_ks_against_scipy(shift, n, m):
    rng = np.random.default_rng(int(shift * 10) + n)
    x, y = rng.normal(size=n), rng.normal(shift, 1, size=m)
    d, p = drift.ks_2samp(x, y)
    ref = stats.ks_2samp(x, y, method="asymp")
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)


def test_drift_detected_between_two_delta_versions(lake):
    rng = np.random.default_rng(0)

    def rows(mu: float, tag: str) -> list[dict]:
        return [
            {"source": "s", "source_id": f"{tag}{i}", "name": "x", "lifetime_value": f"{v:.2f}"}
            for i, v in enumerate(rng.normal(mu, 1, 400))
        ]

    # silver.customer_records is string-typed: use the canonical products table (float price) for numeric drift
    def canon(mu: float) -> list[dict]:
        return [
            {
                "entity_id": f"p{i}",
                "status": "active",
                "record_count": 1,
                "first_seen": NOW,
                "updated_at": NOW,
                "run_id": "r",
                "price": float(v),
                "size_unit": "ml",
            }
            for i, v in enumerate(rng.normal(mu, 1, 400) + 10)
        ]

    with lake.load("t") as load:
        load.write("silver.products", canon(0.0))
    first = runner.check_table(lake, "silver.products", now=NOW)
    assert not [r for r in first if r["check"].startswith("drift")]  # version 0 has no previous version
    with lake.load("t") as load:
        load.write("silver.products", canon(0.0), mode="append")  # same distribution (overwrites by key)
    same = runner.check_table(lake, "silver.products", now=NOW)
    psi_same = next(r for r in same if r["check"] == "drift_psi" and r["column_name"] == "price")
    assert psi_same["status"] == "pass"
    with lake.load("t") as load:
        load.write("silver.products", canon(1.5))
    shifted = runner.check_table(lake, "silver.products", now=NOW)
    psi = next(r for r in shifted if r["check"] == "drift_psi" and r["column_name"] == "price")
    ks = next(r for r in shifted if r["check"] == "drift_ks" and r["column_name"] == "price")
    assert psi["status"] == "fail" and psi["value"] > 0.25
    assert ks["status"] == "warn" and ks["value"] > 0.3
    per_load = {r["scope"] for r in shifted}
    assert any(s.startswith("load:") for s in per_load)
    assert rows  # helper kept for readability


def test_rules_builtin_and_declared(tmp_path):
    table = pa.table({"status": ["active", "gone", None], "price": [1.0, -2.0, 3.0], "email": ["a@b.io", "bad", None]})
    path = tmp_path / "dq_rules.yaml"
    path.write_text(
        "silver.products:\n  - {check: max_null_rate, column: email, max: 0.2}\n  - {check: min_rows, min: 5}\n"
    )
    declared = rules.rules_for("silver.products", path=path)
    res = checks.rule_checks(table.append_column("size_unit", pa.array(["ml", "g", "oz"])), declared, now=NOW)
    status = {(r.column, r.detail.split(":")[0]): r.status for r in res}
    assert status[("status", "allowed(status)")] == "fail"
    assert status[("price", "range(price)")] == "fail"
    assert status[("size_unit", "allowed(size_unit)")] == "fail"
    assert status[("email", "max_null_rate(email)")] == "fail"
    assert status[(None, "min_rows")] == "fail"
    regex = checks.rule_checks(table, [{"check": "regex", "column": "email", "pattern": "@"}])[0]
    assert regex.value == pytest.approx(1 / 3)
    with pytest.raises(RuleError):
        rules.validate("t", {"check": "nonsense"})
    with pytest.raises(RuleError):
        checks.rule_checks(table, [{"check": "not_null", "column": "missing"}])


def test_run_stores_results_and_raises_alerts(lake, monkeypatch, tmp_path):
    counted: list[tuple] = []
    monkeypatch.setattr(runner.metrics, "inc", lambda name, value=1.0, **tags: counted.append((name, tags)))
    recs = [{"source": "s", "source_id": str(i), "name": f"n{i}", "email": "x@y.io"} for i in range(20)]
    pipeline.write_records(lake, "customers", recs, source="s", batch_id="1")
    with lake.load("t") as load:
        load.write(
            "silver.products",
            [
                {
                    "entity_id": "p1",
                    "status": "weird",
                    "record_count": 1,
                    "first_seen": NOW,
                    "updated_at": NOW,
                    "run_id": "r",
                    "price": -1.0,
                }
            ],
        )
    report = runner.run(lake)
    assert set(report["tables"]) >= {"silver.customer_records", "silver.products"}
    fails = [r for r in report["results"] if r["status"] == "fail"]
    assert fails and len(counted) == len(fails) and all(c == ("covary_alerts", {"kind": "dq"}) for c in counted)
    stored = runner.latest_alerts(lake)
    assert {(r["table_name"], r["check"]) for r in stored} == {(r["table_name"], r["check"]) for r in fails}
    html = runner.render_html(report, tmp_path / "dq.html").read_text()
    assert "silver.products" in html and "fail" in html
    assert json.loads(runner.to_json(report))["run_id"] == report["run_id"]


def test_cli_dq_report(covary_home, tmp_path, capsys):
    from covary.cli import main
    from covary.settings import get_settings
    from lakehouse import Lakehouse

    assert main(["dq", "report"]) == 2  # nothing to check yet: a terminal error with a hint
    lake = Lakehouse.from_settings(get_settings())
    pipeline.write_records(
        lake, "customers", [{"source": "s", "source_id": "1", "name": "A"}], source="s", batch_id="1"
    )
    capsys.readouterr()
    code = main(["dq", "report", "silver.customer_records", "--json", "--html", str(tmp_path / "r.html")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tables"] == ["silver.customer_records"] and (tmp_path / "r.html").exists()


def test_dq_errors_pickle():
    for exc in (RuleError("r", hint="h"), NoDQResultsError("n"), DQFailedError("f", hint="x")):
        clone = pickle.loads(pickle.dumps(exc))
        assert type(clone) is type(exc) and clone.message == exc.message and clone.hint == exc.hint


def test_drift_skips_id_lineage_and_source_columns():
    import pyarrow as pa

    rng = np.random.default_rng(0)
    n = 400
    old = pa.table(
        {
            "series_id": [f"a.{i % 5}" for i in range(n)],
            "source": ["github"] * n,
            "lineage": ["silver.github_commits"] * n,
            "content_hash": [f"{i:08x}" for i in range(n)],
            "source_system": ["crm"] * n,
            "value": rng.normal(0, 1, n),
            "price": rng.normal(10, 1, n),
        }
    )
    new = pa.table(
        {
            "series_id": [f"b.{i % 7}" for i in range(n)],  # a new source: new ids, sources, lineage
            "source": ["tmdb"] * (n // 2) + ["github"] * (n // 2),
            "lineage": ["silver.tmdb_movies"] * n,
            "content_hash": [f"{i + n:08x}" for i in range(n)],
            "source_system": ["erp"] * n,
            "value": rng.normal(0, 1, n),
            "price": rng.normal(14, 1, n),  # real drift
        }
    )
    results = checks.drift_checks(old, new)
    columns = {r.column for r in results}
    assert columns == {"value", "price"}
    price = next(r for r in results if r.column == "price" and r.check == "drift_psi")
    assert price.status == "fail"
    assert all(r.status == "pass" for r in results if r.column == "value")
    for name in ("series_id", "source", "lineage", "load_id", "_load_id", "record_key", "derived_from"):
        assert checks.not_a_distribution(name), name
    for name in ("price", "revenue", "country", "days", "value"):
        assert not checks.not_a_distribution(name), name
