"""Incremental indexing: build documents, re-embed only changed ones, delete vanished ones, track hashes."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from jobs.index.documents import KINDS, Document, build_documents
from jobs.index.errors import DocumentError
from jobs.index.retrieval import Chunk, Embed, VectorStore, chunk_text, embed
from lakehouse import BatchKey, Lakehouse, get_spec

log = logging.getLogger(__name__)
LEDGER = "ops.rag_documents"
USER_DOCS = "silver.user_documents"
MAX_DOC_BYTES = 5 * 1024 * 1024
TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".text", ".rst"}


def chunks_of(doc: Document, *, max_chars: int = 900) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=f"{doc.content_hash[:16]}:{i}",
            doc_id=doc.doc_id,
            kind=doc.kind,
            title=doc.title[:1000],
            body=body,
            content_hash=doc.content_hash,
            position=i,
            source_table=doc.source_table,
            source_version=doc.source_version,
            finding_id=doc.finding_id,
        )
        for i, body in enumerate(chunk_text(doc.text, max_chars=max_chars))
    ]


def indexed(lake: Lakehouse) -> dict[str, dict[str, Any]]:
    """The ledger: live (not deleted) documents by id."""
    if not lake.exists(LEDGER):
        return {}
    return {r["doc_id"]: r for r in lake.read(LEDGER).to_pylist() if not r["deleted"]}


def run_index(
    lake: Lakehouse,
    *,
    store: VectorStore | None = None,
    reports_dir: Path | None = None,
    kinds: Iterable[str] | None = None,
    full: bool = False,
    documents: list[Document] | None = None,
    embedder: Embed = embed,
) -> dict[str, Any]:
    """Bring the vector index up to date with the lakehouse; returns counts and timings.

    Only documents whose content hash changed are chunked and embedded again; documents that vanished
    (of the kinds being indexed) lose their chunks. ``full`` re-embeds everything.
    """
    from covary.settings import get_settings

    started = time.perf_counter()
    wanted = set(kinds or KINDS)
    unknown = wanted - set(KINDS)
    if unknown:
        raise DocumentError(f"unknown document kind(s) {sorted(unknown)}", hint=f"kinds: {', '.join(KINDS)}")
    own_store = store is None
    store = store or VectorStore.from_settings(lake.root)
    reports_dir = reports_dir or get_settings().reports_dir
    try:
        docs = documents if documents is not None else build_documents(lake, reports_dir, kinds=wanted)
        built_s = time.perf_counter() - started
        previous = {k: v for k, v in indexed(lake).items() if v["kind"] in wanted}
        if previous and store.count() == 0:
            log.warning("the vector store is empty but the ledger lists %d documents: re-embedding all", len(previous))
            full = True
        changed = [d for d in docs if full or previous.get(d.doc_id, {}).get("content_hash") != d.content_hash]
        current = {d.doc_id for d in docs}
        vanished = sorted(set(previous) - current)
        stale = [d.doc_id for d in changed if d.doc_id in previous] + vanished
        if stale:
            store.delete_docs(stale)
        chunks = [c for d in changed for c in chunks_of(d)]
        t0 = time.perf_counter()
        vectors = embedder([c.text for c in chunks])  # the RAG app passes its Embedder deployment
        embed_s = time.perf_counter() - t0
        if chunks:
            store.insert(chunks, vectors)
        now = datetime.now(UTC)
        counts: dict[str, int] = {}
        for c in chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        rows = [
            {
                "doc_id": d.doc_id,
                "kind": d.kind,
                "title": d.title,
                "source_table": d.source_table or None,
                "source_version": d.source_version if d.source_version >= 0 else None,
                "content_hash": d.content_hash,
                "chunks": counts.get(d.doc_id, 0),
                "indexed_at": now,
                "deleted": False,
            }
            for d in changed
        ] + [previous[i] | {"chunks": 0, "indexed_at": now, "deleted": True} for i in vanished]
        if rows:
            lake.write(LEDGER, pa.Table.from_pylist(rows, schema=_schema(LEDGER)))
        by_kind: dict[str, int] = {}
        for d in docs:
            by_kind[d.kind] = by_kind.get(d.kind, 0) + 1
        return {
            "documents": len(docs),
            "embedded": len(changed),
            "unchanged": len(docs) - len(changed),
            "deleted": len(vanished),
            "chunks": len(chunks),
            "by_kind": by_kind,
            "store": store.uri,
            "collection": store.collection,
            "build_s": round(built_s, 2),
            "embed_s": round(embed_s, 2),
            "seconds": round(time.perf_counter() - started, 2),
        }
    finally:
        if own_store:
            store.close()


def _schema(name: str) -> pa.Schema:
    return get_spec(name).schema


def add_user_document(
    lake: Lakehouse, *, name: str, text: str | bytes, uploaded_by: str = "cli", title: str | None = None
) -> Document:
    """Store a Markdown/text document in ``silver.user_documents`` (indexed by the next index run)."""
    suffix = Path(name).suffix.lower()
    if suffix and suffix not in TEXT_SUFFIXES:
        raise DocumentError(
            f"{name}: only Markdown or text documents can be added ({', '.join(sorted(TEXT_SUFFIXES))})",
            hint="convert the document to Markdown or plain text first",
        )
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_DOC_BYTES:
        raise DocumentError(f"{name} is {len(raw)} bytes; the limit is {MAX_DOC_BYTES}", hint="split the document")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name} is not UTF-8 text", hint="save it as UTF-8 Markdown or text") from exc
    if "\x00" in body or not body.strip():
        raise DocumentError(f"{name} is empty or binary", hint="add a Markdown or text file with content")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(name).stem).strip("-").lower() or "document"
    heading = re.search(r"^#\s+(.+)$", body, flags=re.M)
    doc = Document(
        f"user:{stem}", "user", title or (heading.group(1).strip() if heading else Path(name).name), body, USER_DOCS
    )
    row = {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "text": body,
        "content_hash": doc.content_hash,
        "uploaded_by": uploaded_by,
        "uploaded_at": datetime.now(UTC),
    }
    digest = hashlib.sha256(f"{doc.doc_id}\x1f{doc.content_hash}".encode()).hexdigest()[:24]
    with lake.load("rag.documents") as load:
        load.write(USER_DOCS, [row], batch=BatchKey(f"rag/user_documents/{digest}"))
    return doc


__all__ = ["add_user_document", "chunks_of", "indexed", "run_index"]
