"""The root of covary's exception tree and the retry mixins every package shares.

    CovaryError
     ├── ConfigError            bad or missing setting (names the key and where it was read)
     ├── lakehouse.LakehouseError ...
     ├── connectors.ConnectorError ...
     ├── jobs.JobError ...
     └── serve.ServeError ...

    TransientError  mixin: retrying may succeed (drives Ray ``retry_exceptions``)
    TerminalError   mixin: retrying cannot succeed; fix the input, credential or setting

Every exception must pickle, because Ray ships them between processes: subclasses keep
their constructor arguments in ``self.args`` (via ``super().__init__``) or implement
``__reduce__``.
"""

from __future__ import annotations

from typing import Any


class CovaryError(Exception):
    """Root of every error covary raises on purpose.

    ``hint`` tells the user what to do next; the CLI prints ``message`` and ``hint`` on one line
    each and only shows a traceback with ``--debug``.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy()))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[CovaryError], state: dict[str, Any]) -> CovaryError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class TransientError(Exception):
    """Mixin: the operation may succeed if retried (network blips, commit races, 5xx)."""


class TerminalError(Exception):
    """Mixin: retrying cannot help; the message says which input to fix."""


class ConfigError(CovaryError, TerminalError, ValueError):
    """A setting is missing or invalid."""


__all__ = ["ConfigError", "CovaryError", "TerminalError", "TransientError"]
