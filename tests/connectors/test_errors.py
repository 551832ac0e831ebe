"""Every connector exception pickles (Ray ships them) and keeps its message, hint and extra fields."""

from __future__ import annotations

import inspect
import pickle

import connectors.errors as errors_mod
from connectors.errors import HTTPStatusError, RetryAfterTooLongError
from covary.errors import CovaryError, TerminalError, TransientError


def _classes() -> list[type[CovaryError]]:
    return [
        c
        for _, c in inspect.getmembers(errors_mod, inspect.isclass)
        if issubclass(c, CovaryError) and c.__module__ == errors_mod.__name__
    ]


def test_every_exception_pickles() -> None:
    classes = _classes()
    assert len(classes) >= 12
    for cls in classes:
        if issubclass(cls, HTTPStatusError):
            err = cls("boom 401", status=401, url="https://x/y?api_key=***", hint="fix it")
        elif cls is RetryAfterTooLongError:
            err = cls("wait too long", retry_after_s=999.0, hint="fix it")
        else:
            err = cls("boom", hint="fix it")
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is cls
        assert back.message == err.message and back.hint == "fix it" and str(back) == err.message
        if isinstance(err, HTTPStatusError):
            assert back.status == 401 and back.url == err.url
        if isinstance(err, RetryAfterTooLongError):
            assert back.retry_after_s == 999.0


def test_every_exception_is_transient_or_terminal_or_root() -> None:
    for cls in _classes():
        if cls.__name__ in ("ConnectorError", "HTTPStatusError"):
            continue
        assert issubclass(cls, TransientError) != issubclass(cls, TerminalError), cls
