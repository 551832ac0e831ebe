"""Table families: one module per family, each declaring its tables with ``register``."""
