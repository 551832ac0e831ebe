"""Every /v1 route's 200 response is a named schema in OpenAPI, and the models keep every key a route returns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder

from serve.auth import KeyStore
from serve.query.app import AppContext, QueryAppArgs, create_fastapi

# Routes whose 200 is not a JSON body (server-sent events).
NOT_JSON = {("/v1/ask/stream", "post")}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("openapi")
    app = create_fastapi(AppContext(None, None, None, QueryAppArgs(lake_root=str(root)), {}), KeyStore(root / "k.yaml"))  # type: ignore[arg-type]
    return app.openapi()


def _named(node: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """A $ref to a component with properties, or an array of such (a list of typed records)."""
    if "$ref" in node:
        target = schemas[node["$ref"].rsplit("/", 1)[-1]]
        return bool(target.get("properties") or target.get("oneOf") or target.get("anyOf"))
    if node.get("type") == "array":
        return _named(node.get("items", {}), schemas)
    if "oneOf" in node or "anyOf" in node:
        return all(_named(n, schemas) for n in node.get("oneOf", node.get("anyOf", [])))
    return False


def test_every_v1_route_has_a_named_200_schema(schema: dict[str, Any]) -> None:
    schemas = schema["components"]["schemas"]
    checked, untyped = 0, []
    for path, item in schema["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            if (path, method) in NOT_JSON:
                continue
            ok = op["responses"].get("200") or op["responses"].get("201")
            body = (ok or {}).get("content", {}).get("application/json", {}).get("schema", {})
            checked += 1
            if not _named(body, schemas):
                untyped.append(f"{method.upper()} {path}: {json.dumps(body)[:80]}")
    assert not untyped, "routes without a typed 200 response:\n" + "\n".join(untyped)
    assert checked > 25
    for name in ("UploadReply", "ForecastReply", "Health", "TableInfo", "Findings", "KpiResult", "AskStatus"):
        assert name in schemas, name


def test_walker_flags_an_untyped_route() -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/v1/bare")
    def bare() -> dict[str, Any]:
        return {}

    spec = app.openapi()
    body = spec["paths"]["/v1/bare"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert not _named(body, spec.get("components", {}).get("schemas", {}))


def _roundtrip(model: Any, payload: Any) -> Any:
    """What FastAPI sends for ``payload`` under ``response_model=model, response_model_exclude_unset=True``."""
    from pydantic import TypeAdapter

    adapter = TypeAdapter(model)
    return jsonable_encoder(adapter.dump_python(adapter.validate_python(payload), mode="json", exclude_unset=True))


def test_upload_reply_keeps_every_key_of_a_real_upload(lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from connectors.files import upload_bytes
    from serve.query.uploads import UploadReply

    data = b"sku,price,day\n" + b"".join(b"s%d,%d.5,2024-01-%02d\n" % (i, i, 1 + i % 28) for i in range(30))
    data += b"x,call us,oops\n"
    out = upload_bytes(lake, data, file_name="p.csv", name="p") | {"uploaded_by": "k1"}
    assert out["cells_invalid"] == 2
    assert _roundtrip(UploadReply, out) == jsonable_encoder(out)


@pytest.mark.parametrize(
    ("model_path", "payload"),
    [
        ("serve.query.routes:Health", {"status": "ok"}),
        ("serve.query.routes:Health", {"status": "ok", "engine": {"tables": ["a"]}, "audit": None, "uptime_s": 1.5}),
        (
            "serve.query.routes:SeriesValues",
            {
                "series_id": "a.b",
                "meta": None,
                "columns": ["ts", "value"],
                "types": ["DATE", "DOUBLE"],
                "rows": [["2024-01-01", 1.5]],
                "row_count": 1,
                "truncated": False,
                "elapsed_ms": 0.4,
                "new_key": {"x": 1},
            },
        ),
        (
            "serve.query.routes:KpiResult",
            {"kpi": "k", "description": None, "unit": "%", "sql": "SELECT 1", "query_hash": "h", "rows": [[1]]},
        ),
        (
            "serve.query.routes:Finding",
            {"table": "gold.f", "finding": {"r": 0.5}, "caveats": {}, "columns": {"r": None}},
        ),
        (
            "serve.query.forecast_routes:ForecastReply",
            {"series_id": "s", "lower_bound": 0, "points": [{"ts": "d", "mean": 1.0}]},
        ),
        ("serve.rag.routes:AskStatus", {"store": "milvus", "collection": "c", "chunks": 3, "backends": ["extractive"]}),
    ],
)
def test_models_neither_drop_nor_add_keys(model_path: str, payload: dict[str, Any]) -> None:
    import importlib

    module, name = model_path.split(":")
    model = getattr(importlib.import_module(module), name)
    assert _roundtrip(model, payload) == payload
    assert _roundtrip(list[model], [payload]) == [payload]  # type: ignore[valid-type]
