"""Schema mapping: accuracy on the shipped messy files, required fields, saved mappings, LLM refinement."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
import yaml

from connectors import mapping
from connectors.mapping import store
from connectors.mapping.errors import LLMRefineError, MappingFileError, UnmappedRequiredError
from connectors.mapping.llm import LLMRefiner

FIXTURES = Path(__file__).resolve().parents[2] / "connectors" / "mapping" / "fixtures"
TRUTH = yaml.safe_load((FIXTURES / "truth.yaml").read_text())


def _accuracy(embedder=None) -> tuple[float, list[str]]:
    total = right = 0
    wrong = []
    for name, truth in TRUTH.items():
        suggestion = mapping.suggest(
            store.read_table(FIXTURES / name), mapping.get_schema(truth["entity"]), embedder=embedder
        )
        for col in suggestion.columns:
            total += 1
            if col.target == truth["columns"][col.source_column]:
                right += 1
            else:
                wrong.append(f"{name}:{col.source_column}->{col.target}")
    return right / total, wrong


def test_shipped_set_is_realistic():
    assert len(TRUTH) >= 10
    languages = {"kunden_de.csv", "clients_fr.csv", "clientes_es.csv", "artikel_de.csv"}
    assert languages <= set(TRUTH)
    assert any(v is None for t in TRUTH.values() for v in t["columns"].values())  # distractor columns exist


def test_top1_accuracy_on_shipped_set():
    accuracy, wrong = _accuracy()
    assert accuracy >= 0.90, wrong


@pytest.mark.slow
def test_top1_accuracy_with_embeddings():
    accuracy, wrong = _accuracy(mapping.HeaderEmbedder())
    assert accuracy >= 0.90, wrong


def test_embeddings_contribute_to_scores():
    table = store.read_table(FIXTURES / "catalog_abbrev.csv")
    s = mapping.suggest(table, mapping.get_schema("products"), embedder=mapping.HeaderEmbedder())
    truth = TRUTH["catalog_abbrev.csv"]["columns"]
    assert sum(c.target == truth[c.source_column] for c in s.columns) >= 0.9 * len(s.columns)
    assert all("embedding" in c.reason for c in s.columns if c.target)


def test_values_rescue_uninformative_headers():
    table = pa.table(
        {
            "c1": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "c2": ["Jane Doe", "John Roe", "Mr. Ali Khan", "Eva Marie Berg", "Li Wei", "Ann Fox"],
            "c3": ["j@x.com", "jr@y.org", "ak@z.de", "eb@q.net", "lw@w.cn", "af@f.io"],
            "c4": [
                "+1 555 201 3344",
                "(555) 201-3345",
                "555.201.3346",
                "0049 30 1234567",
                "555-201-3348",
                "5552013349",
            ],
        }
    )
    s = mapping.suggest(table, mapping.get_schema("customers"))
    assert s.mapping["c3"] == "email" and s.mapping["c4"] == "phone"


def test_unmapped_required_columns_are_reported_not_guessed():
    table = pa.table({"Notes": ["call back", "VIP", "moved"], "E-Mail": ["a@b.com", "c@d.com", "e@f.com"]})
    s = mapping.suggest(table, mapping.get_schema("customers"))
    assert set(s.unmapped_required) == {"source_id", "name"}
    assert s.mapping["Notes"] is None  # free text is not forced onto `name`
    assert "REQUIRED BUT UNMAPPED" in s.to_yaml("x")
    with pytest.raises(UnmappedRequiredError) as info:
        mapping.apply_mapping(table, s.mapping, mapping.get_schema("customers"), source="x")
    assert info.value.missing == ["source_id", "name"]
    clone = pickle.loads(pickle.dumps(info.value))
    assert clone.missing == ["source_id", "name"] and clone.hint


def test_bad_mapping_files(tmp_path):
    table = store.read_table(FIXTURES / "crm_export_en.csv")
    schema = mapping.get_schema("customers")
    with pytest.raises(MappingFileError):
        mapping.validate({"Nope": "email"}, schema, table.column_names)
    with pytest.raises(MappingFileError):
        mapping.validate(
            {"Customer ID": "source_id", "Full Name": "name", "Company": "name"}, schema, table.column_names
        )
    bad = tmp_path / "m.yaml"
    bad.write_text("just text")
    with pytest.raises(MappingFileError):
        store.load_mapping_file(bad)
    for exc in (MappingFileError("m", hint="h"), LLMRefineError("x")):
        assert pickle.loads(pickle.dumps(exc)).message == exc.message


def test_saved_mapping_is_reused_for_next_file(lake, tmp_path):
    schema = mapping.get_schema("customers")
    first = store.read_table(FIXTURES / "LEGACY_CAPS.csv")
    s1 = mapping.suggest(first, schema)
    path = tmp_path / "mapping.yaml"
    path.write_text(s1.to_yaml("legacy"))
    _, entity, cols = store.load_mapping_file(path)
    assert entity == "customers" and cols == s1.mapping
    cols["TOWN"] = None  # the reviewer decides to ignore TOWN
    assert store.save(lake, "legacy", "customers", cols, suggestion=s1) == 1
    version, saved = store.latest(lake, "legacy", "customers")
    assert version == 1 and saved["TOWN"] is None
    rows = lake.read("ops.schema_mappings").to_pylist()
    assert {r["method"] for r in rows if r["source_column"] == "TOWN"} == {"edited"}
    # the next file from the same source: same columns -> every column comes from the saved mapping
    s2 = mapping.suggest(first.slice(0, 10), schema, saved=saved)
    assert all(c.method == "saved" and c.confidence == 1.0 for c in s2.columns)
    assert s2.mapping["TOWN"] is None
    # a new column in the next file is still suggested
    extra = first.append_column("Mail2", pa.array(["x@y.com"] * first.num_rows))
    s3 = mapping.suggest(extra, schema, saved=saved)
    assert {c.source_column: c.method for c in s3.columns}["Mail2"] == "suggested"


def _llm_transport(answer: dict | str, status: int = 200, seen: list | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(json.loads(request.content))
        assert request.url.path.endswith("/chat/completions")
        assert request.headers["authorization"] == "Bearer sk-test"
        content = answer if isinstance(answer, str) else json.dumps(answer)
        return httpx.Response(status, json={"choices": [{"message": {"role": "assistant", "content": content}}]})

    return httpx.MockTransport(handler)


def test_llm_refinement_adopts_valid_answers():
    table = pa.table(
        {"k": ["1", "2", "3"], "who": ["Ann Fox", "Li Wei", "Jo Berg"], "x9": ["Acme", "Initech", "Hooli"]}
    )
    schema = mapping.get_schema("customers")
    seen: list = []
    refiner = LLMRefiner(
        base_url="http://llm.local/v1",
        model="test-model",
        api_key="sk-test",
        transport=_llm_transport({"mapping": {"k": "source_id", "x9": "company", "who": "bogus_field"}}, seen=seen),
    )
    s = mapping.suggest(table, schema, refine=refiner)
    by = {c.source_column: c for c in s.columns}
    assert by["x9"].target == "company" and by["x9"].method in ("llm", "suggested")
    assert by["k"].target == "source_id"
    assert by["who"].target == "name"  # an invalid LLM answer is ignored, the local suggestion stays
    prompt = json.loads(seen[0]["messages"][1]["content"])
    assert {c["column"] for c in prompt["columns"]} == {"k", "who", "x9"} and seen[0]["model"] == "test-model"


def test_llm_failure_falls_back_to_local_engine():
    table = pa.table({"Customer ID": ["1", "2"], "Full Name": ["Ann Fox", "Li Wei"]})
    refiner = LLMRefiner(
        base_url="http://llm.local/v1", model="m", api_key="sk-test", transport=_llm_transport({}, 503)
    )
    s = mapping.suggest(table, mapping.get_schema("customers"), refine=refiner)
    assert s.mapping == {"Customer ID": "source_id", "Full Name": "name"}
    assert refiner.last_error and "503" in refiner.last_error
    garbage = LLMRefiner(
        base_url="http://llm.local/v1", model="m", api_key="sk-test", transport=_llm_transport("no json")
    )
    assert mapping.suggest(table, mapping.get_schema("customers"), refine=garbage).mapping == s.mapping
    assert "JSON" in (garbage.last_error or "")


def test_refiner_from_settings(covary_home, monkeypatch):
    from covary.settings import get_settings, reset_settings

    assert LLMRefiner.from_settings(get_settings()) is None
    monkeypatch.setenv("COVARY_LLM__BASE_URL", "http://vllm:8000/v1")
    monkeypatch.setenv("COVARY_LLM__MODEL", "qwen")
    reset_settings()
    refiner = LLMRefiner.from_settings(get_settings())
    assert refiner is not None and refiner.base_url == "http://vllm:8000/v1"


def test_cli_map_suggest_then_apply(covary_home, tmp_path):
    from covary.cli import main

    out = tmp_path / "m.yaml"
    code = main(
        [
            "source",
            "map",
            "de_crm",
            "--entity",
            "customers",
            "--file",
            str(FIXTURES / "kunden_de.csv"),
            "--out",
            str(out),
            "--no-embed",
        ]
    )
    assert code == 0 and "Kundennummer" in out.read_text()
    code = main(
        [
            "source",
            "map",
            "de_crm",
            "--entity",
            "customers",
            "--file",
            str(FIXTURES / "kunden_de.csv"),
            "--apply",
            str(out),
            "--no-embed",
            "--json",
        ]
    )
    assert code == 0
    from covary.settings import get_settings
    from jobs.reconcile import pipeline
    from lakehouse import Lakehouse

    lake = Lakehouse.from_settings(get_settings())
    records = pipeline.read_records(lake, "customers")
    assert len(records) == store.read_table(FIXTURES / "kunden_de.csv").num_rows
    assert all(r["source"] == "de_crm" for r in records)
    assert store.latest(lake, "de_crm", "customers")[0] == 1
    # missing required columns: non-zero exit with the fields named
    bad = tmp_path / "bad.csv"
    bad.write_text("Notes,E-Mail\nhi,a@b.com\n")
    assert main(["source", "map", "x", "--entity", "customers", "--file", str(bad), "--no-embed"]) == 2
