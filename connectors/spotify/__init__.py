"""Built-in Spotify connector: models, declarative spec, recorded fixtures."""
