"""Config of the dq job."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jobs.common.config import JobConfig


class DqConfig(JobConfig):
    """``covary job run dq --config-json '{"tables": ["silver.customers"]}'``."""

    job: ClassVar[str] = "dq"
    tables: list[str] | None = Field(None, description="tables to check (default: every table with data)")
    loads: int = Field(3, ge=0, description="recent loads of each table checked on their own")


__all__ = ["DqConfig"]
