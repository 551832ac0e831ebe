"""``python -m jobs.ingest.recording``."""

from jobs.ingest.recording import main

main()
