"""RAG over the lakehouse: hybrid retrieval in Milvus, grounded answers with citations, /v1/ask (JSON and SSE)."""
