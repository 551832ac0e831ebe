"""``python -m jobs.ingest [--config-json JSON]``."""

from jobs.runtime import cli_entry

cli_entry("ingest")
