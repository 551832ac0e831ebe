"""Config of the report job."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jobs.common.config import IsoDate, JobConfig


class ReportConfig(JobConfig):
    """``covary job run report --config-json '{"as_of": "2024-06-30", "notion_database_id": "..."}'``."""

    job: ClassVar[str] = "report"
    as_of: IsoDate | None = Field(
        None, description="YYYY-MM-DD in the report's week (default: the data's last complete week)"
    )
    out_dir: str | None = Field(
        None, description="directory for the HTML and Markdown (default: settings' reports dir)"
    )
    notion_database_id: str | None = Field(None, description="also export the report to this Notion database")


__all__ = ["ReportConfig"]
