"""Schema mapping of uploaded files onto covary's entity schemas (names, value profiles, embeddings, LLM)."""

from __future__ import annotations

from connectors.mapping.engine import (
    ColumnMapping,
    HeaderEmbedder,
    MappingSuggestion,
    apply_mapping,
    missing_required,
    suggest,
    validate,
)
from connectors.mapping.errors import (
    LLMRefineError,
    MappingError,
    MappingFileError,
    UnknownEntitySchemaError,
    UnmappedRequiredError,
)
from connectors.mapping.schema import SCHEMAS, TargetField, TargetSchema, get_schema

__all__ = [
    "SCHEMAS",
    "ColumnMapping",
    "HeaderEmbedder",
    "LLMRefineError",
    "MappingError",
    "MappingFileError",
    "MappingSuggestion",
    "TargetField",
    "TargetSchema",
    "UnknownEntitySchemaError",
    "UnmappedRequiredError",
    "apply_mapping",
    "get_schema",
    "missing_required",
    "suggest",
    "validate",
]
