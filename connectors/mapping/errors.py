"""Schema-mapping errors.

CovaryError
 └── connectors.ConnectorError
      └── MappingError
           ├── UnknownEntitySchemaError (Terminal, KeyError)   no target schema by that name
           ├── MappingFileError         (Terminal, ValueError) a mapping.yaml names unknown columns/fields
           ├── UnmappedRequiredError    (Terminal, ValueError) required target fields have no column
           └── LLMRefineError           (Transient)            the LLM endpoint failed or answered garbage
"""

from __future__ import annotations

from connectors.errors import ConnectorError
from covary.errors import TerminalError, TransientError


class MappingError(ConnectorError):
    """Root of schema-mapping errors."""


class UnknownEntitySchemaError(MappingError, TerminalError, KeyError):
    def __str__(self) -> str:
        return self.message


class MappingFileError(MappingError, TerminalError, ValueError):
    """A mapping file is malformed or names columns/fields that do not exist."""


class UnmappedRequiredError(MappingError, TerminalError, ValueError):
    """Required target fields are not mapped; ``missing`` lists them."""

    def __init__(self, message: str, *, missing: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.missing = missing


class LLMRefineError(MappingError, TransientError):
    """The configured LLM endpoint failed; suggestions fall back to the local engine."""


__all__ = ["LLMRefineError", "MappingError", "MappingFileError", "UnknownEntitySchemaError", "UnmappedRequiredError"]
