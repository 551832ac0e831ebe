"""Built-in Weather (Open-Meteo, OpenWeatherMap) connector: models, declarative spec, recorded fixtures."""
