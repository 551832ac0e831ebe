"""``python -m jobs.reconcile [--config-json JSON]``."""

from jobs.runtime import cli_entry

cli_entry("reconcile")
