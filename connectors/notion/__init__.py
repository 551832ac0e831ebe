"""Built-in Notion connector: models, declarative spec, recorded fixtures."""
