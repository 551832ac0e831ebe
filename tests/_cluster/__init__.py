"""Test helpers that start real clusters (Ray, object storage) on loopback."""
