"""Built-in TMDB connector: models, declarative spec, recorded fixtures."""
