"""Errors of the RAG service: bad questions, unavailable answer backends."""

from __future__ import annotations

from covary.errors import TerminalError, TransientError
from serve.errors import ServeError


class RagError(ServeError):
    """Root of the RAG (ask) errors."""


class AnswerBackendError(RagError, TransientError, ConnectionError):
    """The configured LLM backend failed or is not configured."""


class BadQuestionError(RagError, TerminalError, ValueError):
    """The question is empty, too long or asks for an unknown document kind."""


class RagUnavailableError(RagError, TerminalError):
    """The query app was built without the RAG deployment."""


__all__ = ["AnswerBackendError", "BadQuestionError", "RagError", "RagUnavailableError"]
