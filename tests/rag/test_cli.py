"""``covary ask``: --add-doc then a question, JSON with citations; errors as one line with a hint."""

from __future__ import annotations

import json
import pickle

import pytest

from covary.cli import main


def test_cli_add_doc_and_ask_json(covary_home, tmp_path, capsys):
    from covary.settings import get_settings
    from jobs.index import run_index
    from lakehouse import Lakehouse
    from tests.rag.planted import write_series

    lake = Lakehouse.from_settings(get_settings())
    write_series(lake, 1)
    run_index(lake, kinds=["series"])
    doc = tmp_path / "handbook.md"
    doc.write_text("# Support handbook\nTickets are triaged within 4 hours by the on-call agent.\n")
    assert main(["ask", "--add-doc", str(doc), "how fast are tickets triaged?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"][0]["doc_id"] == "user:handbook"
    assert "4 hours" in out["answer"] and out["citations"][0]["doc_id"] == "user:handbook" and out["grounded"]
    assert main(["ask", "what does the weekly support tickets series measure"]) == 0
    text = capsys.readouterr().out
    assert "Weekly support tickets opened" in text and "Sources:" in text


def test_cli_errors_are_one_line_with_a_hint(covary_home, tmp_path, capsys):
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"%PDF-1.4")
    assert main(["ask", "--add-doc", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "hint: " in err and "Traceback" not in err
    assert main(["ask"]) == 2


def test_rag_and_report_errors_pickle():
    from jobs.report.errors import NotionExportError
    from serve.rag.errors import AnswerBackendError, BadQuestionError

    for exc in (AnswerBackendError("a", hint="b"), BadQuestionError("c"), NotionExportError("d", hint="e")):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and back.message == exc.message and back.hint == exc.hint
    with pytest.raises(ValueError):
        raise BadQuestionError("x")


def test_vllm_app_is_typed_and_imported_lazily():
    import sys

    from pydantic import ValidationError

    from serve.rag.vllm import VLLMAppArgs

    args = VLLMAppArgs(load_format="dummy", accelerator_type="H100")
    assert args.model_id == "covary-llm" and args.load_format == "dummy"
    assert "vllm" not in sys.modules  # nothing GPU-side is imported until build_llm_app runs on a GPU image
    with pytest.raises(ValidationError):
        VLLMAppArgs(gpus=2)
