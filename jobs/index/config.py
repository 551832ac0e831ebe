"""Config of the index job."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from jobs.common.config import JobConfig


class IndexConfig(JobConfig):
    """``covary job run index --config-json '{"kinds": ["finding"], "full": true}'``."""

    job: ClassVar[str] = "index"
    kinds: list[str] | None = Field(
        None, description="document kinds to (re)index, see jobs.index.documents.KINDS (default: every kind)"
    )
    full: bool = Field(False, description="re-embed every document, not only the changed ones")


__all__ = ["IndexConfig"]
