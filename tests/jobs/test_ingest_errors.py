"""The ingest job's errors pickle (Ray ships them between processes) with their message and hint."""

from __future__ import annotations

import pickle


def test_ingest_errors_pickle() -> None:
    from jobs.ingest.errors import IngestConfigError, LimiterUnavailableError, PartitionFailedError

    for cls in (IngestConfigError, LimiterUnavailableError, PartitionFailedError):
        err = cls("boom", hint="do this")
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is cls and back.message == "boom" and back.hint == "do this"
