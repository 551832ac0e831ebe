"""Built-in GitHub connector: models, declarative spec, recorded fixtures."""
