"""Built-in World Bank connector: indicator observations per country (World Development Indicators API v2)."""
