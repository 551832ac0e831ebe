"""``python -m jobs.dq [--config-json JSON]``."""

from jobs.runtime import cli_entry

cli_entry("dq")
