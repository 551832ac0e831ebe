"""The RAG app graph, bound by ``serve.query.app.build_app`` and passed around by handle:

``Embedder`` (all-MiniLM-L6-v2 from ``covary.embedding``, loaded once per replica), ``VectorStore`` (Milvus Lite
or server, dense + BM25 hybrid ranking from ``jobs.index.retrieval``), ``Answerer`` (the grounded CPU answerer;
LLM backends), the optional ``VLLMEngine`` (vLLM on a GPU, imported only inside that replica) and ``RagEngine``,
which orchestrates the three for ``/v1/ask`` (retrieval, confidence, sources, composed answer).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from ray.serve.handle import DeploymentHandle

from covary.errors import CovaryError
from jobs.index.retrieval import Chunk, Hit, Mode, VectorStore, embed, load_embedder
from serve.query.deployments import Failure, _lake, unwrap
from serve.rag.answer import Source
from serve.rag.answerer import GroundedAnswerer
from serve.rag.engine import RagEngine
from serve.rag.vllm import VLLMAppArgs

log = logging.getLogger(__name__)


def _expected(call: Any, *args: Any, **kwargs: Any) -> Any:
    """A user-facing error is returned by value (``Failure``), so the replica logs no traceback for it."""
    try:
        return call(*args, **kwargs)
    except CovaryError as exc:
        return Failure(exc)


# ----------------------------------------------------------------------------------- deployments
class EmbedderDeployment:
    """``Embedder``: sentence embeddings for questions, confidence sentences and uploaded documents."""

    def __init__(self) -> None:
        try:  # HF_HUB_OFFLINE=1: the bundled weights only, never a download
            load_embedder()
        except CovaryError as exc:  # the app still starts; /v1/ask answers with the loader's error and hint
            log.warning("embedding model not loaded: %s", exc)

    def embed(self, texts: list[str]) -> np.ndarray | Failure:
        return _expected(embed, texts)  # type: ignore[no-any-return]


class VectorStoreDeployment:
    """``VectorStore``: the one process that holds the Milvus Lite file (single-process), so one replica."""

    def __init__(self, lake_root: str | None) -> None:
        self.lake_root = lake_root
        self._store: VectorStore | None = None

    def _get(self) -> VectorStore:
        if self._store is None:
            self._store = VectorStore.from_settings(_lake(self.lake_root).root)
        return self._store

    def search(
        self, vector: np.ndarray | None, text: str, k: int, mode: Mode, kinds: list[str] | None
    ) -> list[Hit] | Failure:
        return _expected(lambda: self._get().search(vector, text, k=k, mode=mode, kinds=kinds))

    def doc_chunks(self, doc_id: str) -> list[Chunk] | Failure:
        return _expected(lambda: self._get().doc_chunks(doc_id))

    def count(self) -> int | Failure:
        return _expected(lambda: self._get().count())

    def insert(self, chunks: list[Chunk], vectors: np.ndarray) -> int | Failure:
        return _expected(lambda: self._get().insert(chunks, vectors))

    def delete_docs(self, doc_ids: list[str]) -> Failure | None:
        return _expected(lambda: self._get().delete_docs(doc_ids))  # type: ignore[func-returns-value]

    def describe(self) -> dict[str, Any]:
        store = self._get()
        return {"store": store.uri, "collection": store.collection}


class AnswererDeployment:
    """``Answerer``: composes the grounded answer (records read at the cited versions) and runs LLM backends.
    ``vllm``: the app's ``VLLMEngine`` deployment when ``build_app`` bound one, else the HTTP endpoint."""

    def __init__(self, lake_root: str | None, vllm: DeploymentHandle | None = None) -> None:
        self.lake_root = lake_root
        self.vllm = vllm
        self._answerer: GroundedAnswerer | None = None

    def _get(self) -> GroundedAnswerer:
        if self._answerer is None:
            self._answerer = GroundedAnswerer(_lake(self.lake_root))
        return self._answerer

    def compose(self, question: str, sources: list[Source], causal: bool, no_sources: str) -> dict[str, Any]:
        return _expected(lambda: self._get().compose(question, sources, causal=causal, no_sources=no_sources))  # type: ignore[no-any-return]

    async def stream(self, messages: list[dict[str, str]], backend: str) -> AsyncIterator[Any]:
        """The backend's text in pieces; an expected error ends the stream as one ``Failure``."""
        try:
            if backend == "vllm" and self.vllm is not None:
                pieces: Any = self.vllm.options(stream=True).stream.remote(messages)  # a response generator
                async for piece in pieces:
                    yield piece
            else:
                async for piece in self._get().astream(messages, backend):
                    yield piece
        except CovaryError as exc:
            yield Failure(exc)


class VLLMEngine:
    """``VLLMEngine`` (bound only with ``vllm.enabled``): vLLM's async engine on this replica's GPU. vLLM is
    imported here, on the replica, never by ``build_app`` or the CPU deployments."""

    def __init__(self, args: dict[str, Any]) -> None:
        from vllm import AsyncEngineArgs, AsyncLLMEngine, SamplingParams

        self.args = VLLMAppArgs(**args)
        engine_args: dict[str, Any] = {
            "model": self.args.model_source,
            "served_model_name": self.args.model_id,
            "max_model_len": self.args.max_model_len,
            "tensor_parallel_size": self.args.tensor_parallel_size,
        }
        if self.args.load_format:
            engine_args["load_format"] = self.args.load_format
        self.engine = AsyncLLMEngine.from_engine_args(AsyncEngineArgs(**engine_args))
        self.sampling = SamplingParams(temperature=0, max_tokens=self.args.max_tokens)
        self._requests = 0

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        """New text as vLLM generates it (its outputs are cumulative)."""
        tokenizer = await self.engine.get_tokenizer()
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        self._requests += 1
        sent = ""
        async for out in self.engine.generate(prompt, self.sampling, request_id=f"covary-{id(self)}-{self._requests}"):
            text = out.outputs[0].text
            if len(text) > len(sent):
                yield text[len(sent) :]
                sent = text


class RagDeployment:
    """``RagEngine``: the orchestrator behind ``/v1/ask`` (``ctx.extra["rag"]``). Runs :class:`RagEngine` with
    the Embedder, VectorStore and Answerer deployments in place of in-process parts. Built on the first call,
    so a lake without an index does not stop the app."""

    def __init__(
        self,
        lake_root: str | None,
        embedder: DeploymentHandle | None = None,
        store: DeploymentHandle | None = None,
        answerer: DeploymentHandle | None = None,
    ) -> None:
        self.lake_root = lake_root
        self.handles = (embedder, store, answerer)
        self._engine: RagEngine | None = None

    def _get(self) -> RagEngine:
        if self._engine is None:
            embedder, store, answerer = self.handles
            lake = _lake(self.lake_root)
            self._engine = RagEngine(
                lake,
                StoreClient(store) if store is not None else None,  # type: ignore[arg-type]
                embedder=EmbedClient(embedder) if embedder is not None else embed,
                answerer=AnswererClient(answerer) if answerer is not None else None,  # type: ignore[arg-type]
            )
        return self._engine

    def call(self, method: str, kwargs: dict[str, Any]) -> Any:
        if method not in {"prepare", "add_document", "stats"}:
            raise ValueError(f"unknown RAG call {method!r}")
        return _expected(lambda: getattr(self._get(), method)(**kwargs))


# ------------------------------------------------- the deployments seen as RagEngine's in-process parts
# RagDeployment's methods are sync (Serve runs them in a thread), so these clients wait with ``result()``.
class EmbedClient:
    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle

    def __call__(self, texts: list[str]) -> np.ndarray:
        return unwrap(self.handle.embed.remote(texts).result())  # type: ignore[no-any-return]


class StoreClient:
    """The ``VectorStore`` deployment with the :class:`jobs.index.retrieval.VectorStore` methods RAG uses."""

    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle
        info = handle.describe.remote().result()
        self.uri, self.collection = info["store"], info["collection"]

    def _call(self, method: str, *args: Any) -> Any:
        return unwrap(getattr(self.handle, method).remote(*args).result())

    def search(
        self, vector: np.ndarray | None, text: str, *, k: int = 5, mode: Mode = "hybrid", kinds: list[str] | None = None
    ) -> list[Hit]:
        return self._call("search", vector, text, k, mode, kinds)  # type: ignore[no-any-return]

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        return self._call("doc_chunks", doc_id)  # type: ignore[no-any-return]

    def count(self) -> int:
        return self._call("count")  # type: ignore[no-any-return]

    def insert(self, chunks: list[Chunk], vectors: np.ndarray) -> int:
        return self._call("insert", chunks, vectors)  # type: ignore[no-any-return]

    def delete_docs(self, doc_ids: list[str]) -> None:
        self._call("delete_docs", doc_ids)

    def close(self) -> None:
        """The deployment owns the Milvus connection."""


class AnswererClient:
    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle

    def compose(self, question: str, sources: list[Source], *, causal: bool, no_sources: str) -> dict[str, Any]:
        return unwrap(self.handle.compose.remote(question, sources, causal, no_sources).result())  # type: ignore[no-any-return]


__all__ = [
    "AnswererDeployment",
    "EmbedderDeployment",
    "RagDeployment",
    "VLLMEngine",
    "VectorStoreDeployment",
]
