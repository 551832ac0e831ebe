from jobs.runtime import cli_entry

cli_entry("index")
