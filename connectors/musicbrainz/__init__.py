"""Built-in MusicBrainz connector: models, declarative spec, recorded fixtures."""
