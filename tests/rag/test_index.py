"""The index job: documents from the lakehouse, incremental re-embedding, vanished documents, uploads, errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from jobs.index import DocumentError, VectorStore, VectorStoreUnavailableError, add_user_document, run_index
from jobs.index.chunking import chunk_text
from jobs.index.documents import build_documents
from lakehouse import Lakehouse
from tests.rag.planted import write_series


def test_session_index_covers_every_kind_with_metadata(rag_env):
    summary = rag_env["index"]
    assert summary["embedded"] == summary["documents"] > 60
    for kind in ("table", "series", "finding", "user", "readme"):
        assert summary["by_kind"].get(kind, 0) >= 1, kind
    ledger = {r["doc_id"]: r for r in rag_env["lake"].read("ops.rag_documents").to_pylist()}
    finding = next(r for r in ledger.values() if r["kind"] == "finding" and r["doc_id"] != "run:latest")
    assert finding["source_table"] == "gold.correlation_findings" and finding["source_version"] >= 1
    assert ledger["series:mkt.signups"]["chunks"] >= 1 and len(ledger["series:mkt.signups"]["content_hash"]) == 64


def test_incremental_only_changed_documents_are_reembedded(tmp_path: Path):
    lake = Lakehouse(tmp_path / "lake")
    write_series(lake, 1)
    kinds = ["series", "user"]
    with VectorStore(str(tmp_path / "m.db")) as store:
        first = run_index(lake, store=store, kinds=kinds, reports_dir=tmp_path)
        assert first["embedded"] == 5 and first["chunks"] == store.count()
        again = run_index(lake, store=store, kinds=kinds, reports_dir=tmp_path)
        assert again["embedded"] == 0 and again["unchanged"] == 5 and again["chunks"] == 0
        write_series(lake, 2)  # values change -> the series summaries change (same ids)
        changed = run_index(lake, store=store, kinds=kinds, reports_dir=tmp_path)
        assert 0 < changed["embedded"] <= 5 and store.count() == first["chunks"]  # old chunks replaced, not added
        add_user_document(lake, name="a.md", text="# A\nalpha beta")
        added = run_index(lake, store=store, kinds=kinds, reports_dir=tmp_path)
        assert added["embedded"] == 1 and store.count() == first["chunks"] + 1
        # a document that disappears from the sources loses its chunks (simulate with an explicit document list)
        docs = [d for d in build_documents(lake, tmp_path, kinds=kinds) if d.doc_id != "series:web.visits"]
        gone = run_index(lake, store=store, kinds=kinds, reports_dir=tmp_path, documents=docs)
        assert gone["deleted"] == 1 and store.doc_chunks("series:web.visits") == []
        ledger = {r["doc_id"]: r for r in lake.read("ops.rag_documents").to_pylist()}
        assert ledger["series:web.visits"]["deleted"] is True


def test_empty_store_with_a_ledger_reembeds_everything(tmp_path: Path):
    lake = Lakehouse(tmp_path / "lake")
    write_series(lake, 1)
    with VectorStore(str(tmp_path / "a.db")) as store:
        run_index(lake, store=store, kinds=["series"], reports_dir=tmp_path)
    with VectorStore(str(tmp_path / "fresh.db")) as store:  # e.g. the Milvus file was deleted
        again = run_index(lake, store=store, kinds=["series"], reports_dir=tmp_path)
        assert again["embedded"] == 5 and store.count() == 5


def test_user_documents_are_validated(tmp_path: Path):
    lake = Lakehouse(tmp_path / "lake")
    with pytest.raises(DocumentError, match="only Markdown or text"):
        add_user_document(lake, name="x.pdf", text=b"%PDF")
    with pytest.raises(DocumentError, match="not UTF-8"):
        add_user_document(lake, name="x.md", text=b"\xff\xfe\x00bad")
    with pytest.raises(DocumentError, match="empty"):
        add_user_document(lake, name="x.txt", text="   ")
    doc = add_user_document(lake, name="My Notes.md", text="# Quarterly notes\nbody")
    assert doc.doc_id == "user:my-notes" and doc.title == "Quarterly notes"


def test_milvus_lite_file_held_by_another_client_is_a_clear_error(tmp_path: Path):
    import multiprocessing as mp

    path = str(tmp_path / "held.db")
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(path, ready, stop))
    proc.start()
    try:
        assert ready.wait(60)
        with pytest.raises(VectorStoreUnavailableError) as err:
            VectorStore(path).count()
        assert "COVARY_MILVUS__URI" in (err.value.hint or "")
    finally:
        stop.set()
        proc.join(30)


def _hold(path: str, ready, stop) -> None:  # type: ignore[no-untyped-def]
    store = VectorStore(path)
    store.count()
    ready.set()
    stop.wait(60)
    store.close()


def test_errors_pickle():
    for exc in (DocumentError("x", hint="h"), VectorStoreUnavailableError("y", hint="z")):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and back.message == exc.message and back.hint == exc.hint


def test_chunking_keeps_order_and_size():
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 60 for i in range(10))
    chunks = chunk_text(text, max_chars=400)
    assert all(len(c) <= 400 for c in chunks) and len(chunks) >= 5
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")
