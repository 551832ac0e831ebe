"""The vector store: a Milvus collection (Milvus Lite file or server) with dense vectors and BM25 full text."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jobs.index.embed import DIM
from jobs.index.errors import VectorStoreUnavailableError

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "vector", "keyword"]
MAX_TEXT = 8000
RRF_K = 60


@dataclass(frozen=True)
class Chunk:
    """One stored passage and the metadata every citation needs."""

    chunk_id: str
    doc_id: str
    kind: str
    title: str
    body: str
    content_hash: str
    position: int = 0
    source_table: str = ""
    source_version: int = -1
    finding_id: str = ""

    @property
    def text(self) -> str:
        """What is embedded and BM25-indexed: the title gives every chunk its context."""
        return f"{self.title}\n{self.body}"[:MAX_TEXT]


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks it had in each retriever."""

    chunk: Chunk
    score: float
    vector_rank: int | None = None
    keyword_rank: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.chunk) | {
            "score": self.score,
            "vector_rank": self.vector_rank,
            "keyword_rank": self.keyword_rank,
        }


FIELDS = [
    "chunk_id",
    "doc_id",
    "kind",
    "title",
    "body",
    "content_hash",
    "position",
    "source_table",
    "source_version",
    "finding_id",
]


def milvus_uri_for(lake_root: str | None = None) -> str:
    """``settings.milvus.uri`` if set; else Milvus Lite next to a local lake root (home/lake -> home/milvus.db)."""
    from covary.settings import get_settings

    settings = get_settings()
    if settings.milvus.uri:
        return settings.milvus.uri
    if lake_root and "://" not in lake_root:
        return str(Path(lake_root).resolve().parent / "milvus.db")
    return settings.milvus_uri


class VectorStore:
    """Chunks in one Milvus collection: ``FLOAT_VECTOR`` (cosine) + a BM25 function over ``text``.

    Milvus Lite (a local ``.db`` file) is single-process: while the Serve app holds it, other processes
    get :class:`VectorStoreUnavailableError` (use a Milvus server via ``COVARY_MILVUS__URI`` to share it).
    """

    def __init__(self, uri: str, *, token: str | None = None, collection: str = "covary_docs") -> None:
        self.uri = uri
        self.token = token
        self.collection = collection
        self._client: Any = None
        self._lock = threading.RLock()
        self._local: LocalIndex | None = None  # in-process ranking over a Lite file; rebuilt after writes
        self.ranking: Literal["local", "milvus"] = "local" if self.is_lite else "milvus"

    @classmethod
    def from_settings(cls, lake_root: str | None = None) -> VectorStore:
        from covary.settings import get_settings

        settings = get_settings()
        token = settings.milvus.token.get_secret_value() if settings.milvus.token else None
        return cls(milvus_uri_for(lake_root), token=token, collection=settings.milvus.collection)

    @property
    def is_lite(self) -> bool:
        return "://" not in self.uri

    # ------------------------------------------------------------------------------- lifecycle
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from pymilvus import MilvusClient

                if self.is_lite:
                    Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._client = MilvusClient(self.uri, token=self.token or "")
                except Exception as exc:  # pymilvus raises several unrelated types for "cannot open"
                    hint = (
                        "the Milvus Lite file is probably open in another process (the Serve app?): stop it "
                        "(`covary serve down`), add documents through POST /v1/ask/documents, or use a Milvus "
                        "server (COVARY_MILVUS__URI)"
                        if self.is_lite
                        else "check COVARY_MILVUS__URI / COVARY_MILVUS__TOKEN and that the server is up"
                    )
                    raise VectorStoreUnavailableError(f"cannot open Milvus at {self.uri}: {exc}", hint=hint) from exc
                self._ensure_collection()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None
                    if self.is_lite:
                        _release_lite(self.uri)

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_collection(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self._client
        if c.has_collection(self.collection):
            c.load_collection(self.collection)
            return
        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
        schema.add_field("kind", DataType.VARCHAR, max_length=32)
        schema.add_field("title", DataType.VARCHAR, max_length=1024)
        schema.add_field("body", DataType.VARCHAR, max_length=MAX_TEXT * 4)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT * 4, enable_analyzer=True)
        schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
        schema.add_field("position", DataType.INT64)
        schema.add_field("source_table", DataType.VARCHAR, max_length=256)
        schema.add_field("source_version", DataType.INT64)
        schema.add_field("finding_id", DataType.VARCHAR, max_length=64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
            )
        )
        index = c.prepare_index_params()
        index.add_index("vector", index_type="FLAT" if self.is_lite else "HNSW", metric_type="COSINE")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        c.create_collection(self.collection, schema=schema, index_params=index)
        c.load_collection(self.collection)

    # ---------------------------------------------------------------------------------- writes
    def insert(self, chunks: list[Chunk], vectors: np.ndarray, *, batch: int = 2000) -> int:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        client = self.client()
        for start in range(0, len(chunks), batch):
            rows = [
                asdict(ch) | {"text": ch.text, "vector": vec.tolist()}
                for ch, vec in zip(chunks[start : start + batch], vectors[start : start + batch], strict=True)
            ]
            self._call(client.insert, self.collection, rows)
        self._call(client.flush, self.collection)  # seal segments: growing ones are searched slowly
        self._local = None
        return len(chunks)

    def delete_docs(self, doc_ids: list[str]) -> None:
        client = self.client()
        for start in range(0, len(doc_ids), 200):
            ids = doc_ids[start : start + 200]
            self._call(client.delete, self.collection, filter=f"doc_id in {_list_literal(ids)}")
        self._local = None

    def count(self) -> int:
        client = self.client()
        res = self._call(
            client.query, self.collection, filter="", output_fields=["count(*)"], consistency_level="Strong"
        )
        return int(res[0]["count(*)"]) if res else 0

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        client = self.client()
        rows = self._call(
            client.query,
            self.collection,
            filter=f"doc_id == {_literal(doc_id)}",
            output_fields=FIELDS,
            consistency_level="Strong",
        )
        return sorted((_chunk(r) for r in rows), key=lambda c: c.position)

    # ---------------------------------------------------------------------------------- search
    def search(
        self,
        vector: np.ndarray | None,
        text: str,
        *,
        k: int = 5,
        mode: Mode = "hybrid",
        kinds: list[str] | None = None,
        candidates: int = 30,
    ) -> list[Hit]:
        """Top ``k`` chunks: dense (cosine), keyword (BM25) or both fused by reciprocal rank (RRF, k=60).

        Against a Milvus server both rankings run in Milvus. For a Milvus Lite file (one process owns it) they
        run in process over the stored vectors and texts (see :class:`LocalIndex`), which is what makes 100k
        chunks fast enough; Milvus stays the store of record.
        """
        if self.ranking == "local":
            return self._local_index().search(vector, text, k=k, mode=mode, kinds=kinds, candidates=candidates)
        client = self.client()
        flt = f"kind in {_list_literal(kinds)}" if kinds else ""
        n = max(k, candidates)
        dense: list[dict[str, Any]] = []
        sparse: list[dict[str, Any]] = []
        if mode in ("hybrid", "vector"):
            if vector is None:
                raise ValueError("vector search needs the question's embedding")
            res = self._call(
                client.search,
                self.collection,
                data=[vector.tolist()],
                anns_field="vector",
                limit=n,
                filter=flt,
                output_fields=FIELDS,
                search_params={"metric_type": "COSINE"},
                consistency_level="Strong",
            )
            dense = list(res[0]) if res else []
        if mode in ("hybrid", "keyword") and text.strip():
            res = self._call(
                client.search,
                self.collection,
                data=[text],
                anns_field="sparse",
                limit=n,
                filter=flt,
                output_fields=FIELDS,
                search_params={"metric_type": "BM25"},
                consistency_level="Strong",
            )
            sparse = list(res[0]) if res else []
        return fuse(dense, sparse, k=k)

    def _local_index(self) -> LocalIndex:
        with self._lock:
            if self._local is None:
                self._local = LocalIndex(self._all_rows(with_vectors=True))
            return self._local

    def _all_rows(self, *, with_vectors: bool = False) -> list[dict[str, Any]]:
        client = self.client()
        out: list[dict[str, Any]] = []
        fields = [*FIELDS, "vector"] if with_vectors else FIELDS
        iterator = client.query_iterator(self.collection, batch_size=5000, filter="", output_fields=fields)
        while True:
            batch = iterator.next()
            if not batch:
                iterator.close()
                break
            out.extend(batch)
        return out

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return fn(*args, **kwargs)
        except VectorStoreUnavailableError:
            raise
        except Exception as exc:
            from pymilvus.exceptions import MilvusException

            if isinstance(exc, MilvusException):
                raise VectorStoreUnavailableError(
                    f"Milvus at {self.uri} failed: {exc}", hint="re-run `covary job run index`; check the Milvus logs"
                ) from exc
            raise


class LocalIndex:
    """Dense (normalised matrix, exact cosine) and BM25 rankings over every stored chunk, in memory.

    Used for Milvus Lite files: Lite scores BM25 per segment (late inserts get tiny IDFs) and its exact
    search took ~570 ms p95 at 100k chunks on the 2-core dev machine; a matrix-vector product takes ~10 ms.
    """

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        from jobs.index.bm25 import BM25

        self.rows = [{f: r.get(f) for f in FIELDS} for r in rows]
        vectors = np.asarray([r["vector"] for r in rows], dtype=np.float32).reshape(len(rows), DIM)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.matrix = vectors / np.where(norms == 0, 1.0, norms)
        self.kinds = np.array([r["kind"] for r in rows], dtype=object)
        self.bm25 = BM25([f"{r['title']}\n{r['body']}" for r in rows])

    def search(
        self,
        vector: np.ndarray | None,
        text: str,
        *,
        k: int,
        mode: Mode,
        kinds: list[str] | None,
        candidates: int,
    ) -> list[Hit]:
        n = max(k, candidates)
        allowed = np.isin(self.kinds, kinds) if kinds else None
        dense: list[dict[str, Any]] = []
        sparse: list[dict[str, Any]] = []
        if mode in ("hybrid", "vector") and len(self.rows):
            if vector is None:
                raise ValueError("vector search needs the question's embedding")
            scores = self.matrix @ np.asarray(vector, dtype=np.float32)
            if allowed is not None:
                scores = np.where(allowed, scores, -np.inf)
            top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
            top = top[np.argsort(-scores[top], kind="stable")]
            dense = [self.rows[i] for i in top if np.isfinite(scores[i])]
        if mode in ("hybrid", "keyword") and text.strip():
            hits = self.bm25.top(text, n * 4 if kinds else n)
            sparse = [self.rows[i] for i, _ in hits if allowed is None or allowed[i]][:n]
        return fuse(dense, sparse, k=k)


def _release_lite(uri: str) -> None:
    """Stop this process's Milvus Lite server for ``uri`` so other processes may open the file."""
    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:  # a Milvus Lite without the per-path server manager keeps it until exit
        return
    server_manager_instance.release_server(str(Path(uri).resolve()))


def fuse(dense: list[dict[str, Any]], sparse: list[dict[str, Any]], *, k: int, rrf_k: int = RRF_K) -> list[Hit]:
    """Reciprocal-rank fusion: score = sum over retrievers of 1 / (rrf_k + rank)."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for name, hits in (("vector", dense), ("keyword", sparse)):
        for rank, hit in enumerate(hits, start=1):
            entity = hit.get("entity", hit)
            cid = str(entity.get("chunk_id", hit.get("id")))
            rows.setdefault(cid, entity)
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (rrf_k + rank)
            ranks.setdefault(cid, {})[name] = rank
    order = sorted(scores, key=lambda c: (-scores[c], min(ranks[c].values())))[:k]
    return [Hit(_chunk(rows[c]), scores[c], ranks[c].get("vector"), ranks[c].get("keyword")) for c in order]


def _chunk(row: dict[str, Any]) -> Chunk:
    defaults = {"position": 0, "source_version": -1}
    values: dict[str, Any] = {f: row.get(f) if row.get(f) is not None else defaults.get(f, "") for f in FIELDS}
    return Chunk(**values)


def _literal(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list_literal(values: list[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


__all__ = ["Chunk", "Hit", "LocalIndex", "Mode", "VectorStore", "fuse", "milvus_uri_for"]
