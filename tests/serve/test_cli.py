"""`covary sql` / `covary query` / `covary serve keys` in-process over a local lake."""

from __future__ import annotations

import json

from covary.cli import main


def test_sql_and_query_cli(covary_home, capsys):
    from covary.settings import get_settings
    from lakehouse import Lakehouse
    from tests.serve.conftest import write_planted

    write_planted(Lakehouse(get_settings().lake_root))
    assert main(["sql", "SELECT count(*) AS n FROM gold.series_values", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == [[120]]
    assert main(["sql", "DROP TABLE gold.series_values", "--json"]) == 2
    blocked = json.loads(capsys.readouterr().out)
    assert blocked["blocked"] is True and blocked["reason"] == "ddl"
    assert main(["sql", "COPY gold.series_values TO '/tmp/x.csv'"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["query", "unemployment rate in 2009", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sql"].startswith("SELECT") and out["explanation"] and len(out["rows"]) == 1
    audit = sorted(Lakehouse(get_settings().lake_root).read("ops.audit").to_pylist(), key=lambda a: a["at"])
    assert [a["status"] for a in audit] == [200, 400, 400, 200] and audit[1]["blocked_reason"] == "ddl"


def test_keys_cli(covary_home, capsys):
    assert main(["serve", "keys", "create", "--role", "analyst", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["token"].startswith("cvk_") and created["role"] == "analyst"
    assert main(["serve", "keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["key_id"] == created["key_id"] and "token" not in listed[0] and "hash" not in listed[0]
    assert main(["serve", "keys", "create", "--role", "root"]) == 2
