"""Built-in PokeAPI connector: models, declarative spec, recorded fixtures."""
