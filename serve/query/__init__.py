"""The query service: NL->SQL, guarded SQL, KPIs, findings, series and uploads over HTTP (Ray Serve)."""
