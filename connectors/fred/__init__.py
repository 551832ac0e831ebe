"""Built-in FRED connector: models, declarative spec, recorded fixtures."""
