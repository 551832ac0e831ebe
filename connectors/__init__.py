"""Every source enters covary here: the connector framework (``connectors.core``), uploads and the replay server."""
