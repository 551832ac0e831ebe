"""Spec validation names the bad key and the valid choices; the example spec and CLI work end to end."""

from __future__ import annotations

import json

import pytest

from connectors.core import load_spec, parse_spec
from connectors.core.sources import SPECS_DIR
from connectors.errors import SpecError

SHOP = SPECS_DIR / "shop.yaml"
BASE = {"name": "s", "base_url": "https://x", "endpoints": [{"name": "e", "path": "/e"}]}


def _err(data: dict) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    return info.value


def test_unknown_key_is_named_with_valid_keys() -> None:
    err = _err(BASE | {"endpoints": [{"name": "e", "path": "/e", "paginatr": "cursor"}]})
    assert "endpoints[0].paginatr" in err.message and "unknown key" in err.message
    assert "paginator" in (err.hint or "") and "primary_key" in (err.hint or "")


def test_unknown_paginator_and_auth_list_choices() -> None:
    err = _err(BASE | {"endpoints": [{"name": "e", "paginator": {"type": "pages"}}]})
    assert "endpoints[0].paginator" in err.message and "page_number" in err.message and "graphql" in err.message
    err = _err(BASE | {"auth": {"type": "basic"}})
    assert "auth" in err.message and "oauth2_client_credentials" in err.message and "bearer" in err.message


def test_bad_field_type_method_and_parent() -> None:
    assert "list[str]" in _err(BASE | {"endpoints": [{"name": "e", "fields": {"a": "integer"}}]}).message
    assert "'GET' or 'POST'" in _err(BASE | {"endpoints": [{"name": "e", "method": "PUT"}]}).message
    err = _err(BASE | {"endpoints": [{"name": "e"}, {"name": "c", "parent": {"endpoint": "x", "fields": {}}}]})
    assert "parent.endpoint 'x'" in err.message and "valid choices: e, c" in err.message
    assert "required key is missing" in _err({"name": "s", "endpoints": []}).message


def test_example_spec_loads() -> None:
    spec = load_spec(SHOP)
    assert [e.name for e in spec.ordered()] == ["products", "orders", "order_lines"]
    model = spec.endpoint("products").record_model()
    assert model is not None and set(model.model_fields) == {"id", "sku", "name", "price", "in_stock"}


def test_cli_add_list_check_run_upload(tmp_path, monkeypatch, capsys) -> None:
    from connectors.replay import ReplayServer
    from covary.cli import main

    monkeypatch.setenv("SHOP_API_KEY", "demo-key")
    spec = tmp_path / "myshop.yaml"
    spec.write_text(SHOP.read_text().replace("name: shop", "name: myshop"))
    assert main(["source", "add", str(spec), "--json"]) == 0
    assert main(["source", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n}\n", 1)[1])
    assert {"myshop", "shop"} <= {s["name"] for s in listed}
    with ReplayServer(["shop"]) as server:
        base = server.base_url("shop")
        assert main(["source", "check", "myshop", "--base-url", base, "--json"]) == 0
        check = json.loads(capsys.readouterr().out)
        assert check["ok"] and check["endpoints"][0]["invalid"] == 1
        assert main(["source", "run", "myshop", "-e", "products", "--base-url", base, "--json"]) == 0
        run = json.loads(capsys.readouterr().out)
        assert run[0]["rows"] == 56 and run[0]["quarantined"] == 1
    monkeypatch.delenv("SHOP_API_KEY")
    assert main(["source", "check", "myshop", "--json"]) == 1
    captured = capsys.readouterr()
    assert "SHOP_API_KEY" in captured.out and "SHOP_API_KEY" in captured.err
