"""Shared library code of the model jobs (MLflow tracking/registry helpers, time-series utilities); not a job."""
