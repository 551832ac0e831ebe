"""``/v1/ask`` (JSON or SSE), ``/v1/ask/documents`` and ``/v1/ask/status``: the RAG routes of the query app, over
the ``RagEngine`` and ``Answerer`` deployments that ``build_app`` passes to the ingress by handle."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from serve.auth import Principal, require_role
from serve.guard.policy import query_hash
from serve.query.deployments import unwrap
from serve.rag.answer import Answer, Source
from serve.rag.backends import BACKENDS
from serve.rag.engine import finish
from serve.rag.safety import StreamSanitizer, is_causal, sanitize

router = APIRouter()
MAX_DOC_BYTES = 5 * 1024 * 1024


class AskRequest(BaseModel):
    question: str = Field(..., min_length=2, max_length=2000, examples=["why did unemployment change?"])
    k: int = Field(5, ge=1, le=50, description="Passages to retrieve.")
    kinds: list[str] | None = Field(None, description="Only these document kinds (table, series, finding, ...).")
    mode: Literal["hybrid", "vector", "keyword"] = "hybrid"
    backend: Literal["extractive", "openai", "vllm"] | None = Field(
        None, description="Answer backend; default settings.llm.answer_backend."
    )
    lookup: bool = Field(False, description="Also run the question through NL->SQL (guarded) and cite the result.")
    stream: bool = Field(False, description="Answer as Server-Sent Events (same as POST /v1/ask/stream).")


class AskResponse(BaseModel):
    question: str
    answer: str
    citations: list[dict[str, Any]]
    causal: bool
    caveat: str | None
    backend: str
    grounded: bool
    unverified_numbers: list[str]
    elapsed_ms: float
    evidence: bool = True  # False: retrieval confidence was low and the answer says "no evidence in the lake"
    confidence: float | None = None  # the retrieval confidence the evidence decision was made on


class DocumentAdded(BaseModel):
    """A document added to (or already in) the vector index."""

    model_config = ConfigDict(extra="allow")

    doc_id: str = ""
    title: str | None = None
    content_hash: str | None = None
    index: dict[str, Any] | None = Field(None, description="What the index did (chunks added, skipped...).")


class AskStatus(BaseModel):
    """The vector index behind ``/v1/ask``."""

    model_config = ConfigDict(extra="allow")

    store: str | None = Field(None, description="Vector store URI.")
    collection: str | None = None
    chunks: int | None = Field(None, description="Chunks in the collection.")
    backends: list[str] = Field([], description="Answer backends that can be asked for.")


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


def _handle(request: Request, name: str) -> Any:
    handle = _ctx(request).extra.get(name)
    if handle is None:
        from serve.rag.errors import RagUnavailableError

        raise RagUnavailableError(
            f"this query app was built without the RAG deployments (no {name!r} handle)",
            hint=f"serve.query.app.build_app binds them; an app context built by hand needs extra[{name!r}]",
        )
    return handle


async def _call(request: Request, method: str, kwargs: dict[str, Any]) -> Any:
    """One call on the ``RagEngine`` deployment (retrieval, confidence, sources, the composed answer)."""
    return unwrap(await _handle(request, "rag").call.remote(method, kwargs))


async def _generate(request: Request, backend: str, messages: list[dict[str, str]]) -> AsyncIterator[str]:
    """An LLM backend's text in pieces, from the ``Answerer`` deployment (vLLM: the bound ``VLLMEngine``)."""
    answerer = _handle(request, "answerer")
    async for piece in answerer.options(stream=True).stream.remote(messages, backend):
        yield unwrap(piece)


async def _lookup(request: Request, question: str) -> list[dict[str, Any]]:
    """NL->SQL through the query service's translator and guarded engine; the result becomes one more source."""
    from serve.query.deployments import Failure

    ctx = _ctx(request)
    translation = await ctx.translator.translate.remote(question)
    if isinstance(translation, Failure):
        return []
    result = await ctx.engine.run_sql.remote(translation.sql, 20)
    if isinstance(result, Failure):
        return []
    rows = result["rows"][:10]
    cols = result["columns"]
    lines = [", ".join(f"{c} = {v}" for c, v in zip(cols, row, strict=True)) for row in rows]
    tables = result.get("tables") or []
    text = (
        f"Query result computed by the query service (guarded SQL over {', '.join(tables) or 'the lakehouse'}; "
        f"{result['row_count']} rows). " + ". ".join(lines) + "."
    )
    return [
        {
            "doc_id": f"query:{query_hash(translation.sql)[:12]}",
            "kind": "query",
            "title": "Query result",
            "text": text,
            "source_table": tables[0] if tables else "",
            "sql": translation.sql,
        }
    ]


async def _prepare(request: Request, body: AskRequest) -> dict[str, Any]:
    request.state.query_hash = query_hash(body.question)
    extra = await _lookup(request, body.question) if body.lookup and not is_causal(body.question) else []
    return await _call(
        request,
        "prepare",
        {"question": body.question, "k": body.k, "kinds": body.kinds, "mode": body.mode, "extra": extra},
    )


def _backend(body: AskRequest) -> str:
    from covary.settings import get_settings

    return body.backend or get_settings().llm.answer_backend


@router.post(
    "/v1/ask",
    tags=["ask"],
    response_model=AskResponse,
    summary="Answer a question from the indexed sources, with citations (stream=true for SSE)",
)
async def ask(
    body: AskRequest, request: Request, stream: bool = Query(False), _: Principal = Depends(require_role("viewer"))
) -> Any:
    if stream or body.stream:
        return _sse(request, body)
    started = time.perf_counter()
    prep = await _prepare(request, body)
    backend = _backend(body)
    if backend == "extractive" or not prep["sources"]:
        text = prep["extractive"]
    else:
        text = sanitize("".join([piece async for piece in _generate(request, backend, prep["messages"])]))
    answer = finish(prep, text, backend, started)
    request.state.rows = len(answer.citations)
    return answer.as_dict()


@router.post("/v1/ask/stream", tags=["ask"], summary="Answer as Server-Sent Events: sources, tokens, caveat, done")
async def ask_stream(body: AskRequest, request: Request, _: Principal = Depends(require_role("viewer"))) -> Any:
    return _sse(request, body)


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def _sse(request: Request, body: AskRequest) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        started = time.perf_counter()
        try:
            prep = await _prepare(request, body)
            sources: list[Source] = prep["sources"]
            yield _event("sources", {"citations": [s.citation() for s in sources], "causal": prep["causal"]})
            backend = _backend(body)
            pieces: list[str] = []
            if backend == "extractive" or not sources:
                for word in _pieces(prep["extractive"]):
                    pieces.append(word)
                    yield _event("token", {"text": word})
                    await asyncio.sleep(0)
            else:  # sanitise over the assembled text: a link or tag split across chunks is still removed
                cleaner = StreamSanitizer()
                async for piece in _generate(request, backend, prep["messages"]):
                    clean = cleaner.feed(piece)
                    if clean:
                        yield _event("token", {"text": clean})
                rest, replaced = cleaner.close()
                if replaced:
                    yield _event("replace", {"text": rest})
                elif rest:
                    yield _event("token", {"text": rest})
                pieces = [cleaner.text]
            answer: Answer = finish(prep, sanitize("".join(pieces)), backend, started)
            if answer.caveat:
                yield _event("caveat", {"caveat": answer.caveat})
            yield _event("done", answer.as_dict())
        except Exception as exc:  # the stream is open: report the error as an event, not a broken connection
            from covary.errors import CovaryError

            if not isinstance(exc, CovaryError):
                raise
            yield _event("error", {"error": exc.message, "hint": exc.hint})

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _pieces(text: str) -> list[str]:
    """Stream the extractive answer in small pieces (words with their trailing space/newline)."""
    out, word = [], ""
    for ch in text:
        word += ch
        if ch in " \n":
            out.append(word)
            word = ""
    if word:
        out.append(word)
    return out


@router.post(
    "/v1/ask/documents",
    tags=["ask"],
    response_model=DocumentAdded,
    response_model_exclude_unset=True,
    summary="Add a Markdown/text document to the index (analyst)",
)
async def add_document(
    request: Request, file: UploadFile = File(...), principal: Principal = Depends(require_role("analyst"))
) -> dict[str, Any]:
    data = await file.read(MAX_DOC_BYTES + 1)
    if len(data) > MAX_DOC_BYTES:
        raise HTTPException(413, f"documents are limited to {MAX_DOC_BYTES} bytes")
    return await _call(
        request,
        "add_document",
        {"name": file.filename or "document.md", "text": data, "uploaded_by": principal.key_id},
    )


@router.get(
    "/v1/ask/status",
    tags=["ask"],
    response_model=AskStatus,
    response_model_exclude_unset=True,
    summary="The vector index: store, collection, chunks",
)
async def status(request: Request, _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    return await _call(request, "stats", {}) | {"backends": list(BACKENDS)}


__all__ = ["AskRequest", "AskResponse", "AskStatus", "DocumentAdded", "router"]
