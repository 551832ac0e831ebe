"""RAG and reporting tables: indexed documents (content hashes), user documents, report runs and alerts."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")
STR, I64 = pa.string(), pa.int64()

RAG_DOCUMENTS = register(
    TableSpec(
        name="ops.rag_documents",
        description=(
            "What the vector index holds: one row per indexed document with its content hash, so the index "
            "job re-embeds only documents whose text changed and deletes the chunks of vanished ones."
        ),
        columns=(
            col("doc_id", STR, "Stable document id, e.g. table:gold.series_values or finding:<id>.", nullable=False),
            col(
                "kind",
                STR,
                "table, series, finding, kpi, forecast, anomaly, alert, dq, report, readme, user.",
                nullable=False,
            ),
            col("title", STR, "Human title of the document."),
            col("source_table", STR, "Lakehouse table the document was built from, if any."),
            col("source_version", I64, "Delta version of that table when indexed."),
            col("content_hash", STR, "sha256 of the document text (what decides re-embedding).", nullable=False),
            col("chunks", I64, "Chunks stored in the vector index for this document.", nullable=False),
            col("indexed_at", TS, "When the document was (re-)embedded.", nullable=False),
            col("deleted", pa.bool_(), "True once the document vanished and its chunks were removed.", nullable=False),
        ),
        keys=("doc_id",),
        write_mode="merge",
        track_loads=False,
        synonyms=("rag index", "indexed documents", "vector index"),
    )
)

USER_DOCUMENTS = register(
    TableSpec(
        name="silver.user_documents",
        description="Markdown/text documents people uploaded for question answering (`covary ask --add-doc`).",
        columns=(
            col("doc_id", STR, "Document id: user:<file stem>.", nullable=False),
            col("title", STR, "Title (first Markdown heading or the file name).", nullable=False),
            col("text", STR, "Full text of the document.", nullable=False),
            col("content_hash", STR, "sha256 of the text.", nullable=False),
            col("uploaded_by", STR, "Who uploaded it (key id or cli)."),
            col("uploaded_at", TS, "When it was uploaded.", nullable=False),
        ),
        keys=("doc_id",),
        write_mode="merge",
        synonyms=("documents", "uploaded documents", "notes"),
    )
)

REPORT_RUNS = register(
    TableSpec(
        name="gold.report_runs",
        description="Insight reports written by the report job: period, correlation run compared, files, counts.",
        columns=(
            col("report_id", STR, "Report id: the ISO week and a run suffix.", nullable=False),
            col("created_at", TS, "When the report was written.", nullable=False),
            col("period_start", pa.date32(), "First day of the reported week."),
            col("correlation_run", STR, "gold.correlation_runs run_id the report describes."),
            col("compared_to", STR, "Previous correlation run it was compared with."),
            col("html_path", STR, "Where the HTML report was written."),
            col("markdown_path", STR, "Where the Markdown report was written."),
            col("alerts", I64, "Correlation-change alerts raised."),
            col("notion_page", STR, "Notion page id, if exported."),
        ),
        keys=("report_id",),
        write_mode="merge",
        synonyms=("reports", "weekly report", "insights report"),
    )
)

CORRELATION_ALERTS = register(
    TableSpec(
        name="gold.correlation_alerts",
        description=(
            "Alerts raised by the report job when a correlation is new, strengthened, weakened or vanished "
            "compared with the previous discovery run."
        ),
        columns=(
            col("alert_id", STR, "Stable id: run_id:finding_id.", nullable=False),
            col("run_id", STR, "Correlation run the change was seen in.", nullable=False),
            col("finding_id", STR, "Finding (pair) that changed.", nullable=False),
            col("a", STR, "First series.", nullable=False),
            col("b", STR, "Second series.", nullable=False),
            col("change", STR, "new, strengthened, weakened or vanished.", nullable=False),
            col("r", pa.float64(), "r in this run (null when vanished)."),
            col("r_previous", pa.float64(), "r in the previous run."),
            col("q", pa.float64(), "q in this run."),
            col("message", STR, "The alert in words.", nullable=False),
            col("report_id", STR, "Report that raised it."),
            col("raised_at", TS, "When it was raised.", nullable=False),
        ),
        keys=("alert_id",),
        write_mode="merge",
        synonyms=("correlation alerts", "relationship changes"),
    )
)

__all__ = ["CORRELATION_ALERTS", "RAG_DOCUMENTS", "REPORT_RUNS", "USER_DOCUMENTS"]
