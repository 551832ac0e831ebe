"""Dimensions shared by the world, the system exports and the record layer (platforms, regions, products)."""

from __future__ import annotations

PLATFORMS = ("google_ads", "meta_ads", "tiktok_ads")
PLATFORM_SHARE = (0.55, 0.32, 0.13)
COUNTRIES = ("US", "GB", "DE")
COUNTRY_SHARE = (0.6, 0.25, 0.15)
US_REGIONS = ("Northeast", "Southeast", "Midwest", "West")
REGION_SHARE = (0.3, 0.25, 0.2, 0.25)
"""Share of US activity per region (adds up to 1)."""
REGIONS = (*US_REGIONS, "GB", "DE")
"""Sales regions: four US census regions, then the two non-US countries (region = country)."""
REGION_CITY = {
    "Northeast": "New York",
    "Southeast": "Atlanta",
    "Midwest": "Chicago",
    "West": "Los Angeles",
    "GB": "London",
    "DE": "Berlin",
}
SEGMENTS = ("consumer", "smb", "enterprise")
SEGMENT_SHARE = (0.7, 0.22, 0.08)

# products, their features and list prices (USD)
PRODUCTS: dict[str, tuple[tuple[str, ...], float]] = {
    "Atlas": (("sync", "dashboard", "export", "login"), 49.0),
    "Beacon": (("alerts", "mobile_app", "billing", "search"), 29.0),
    "Cobalt": (("api", "integrations", "reports", "permissions"), 99.0),
}
TEAMS = ("sales", "marketing", "operations", "support", "finance")
"""HR departments; projects belong to one of them."""
PLANT_CITY = {"plant-north": "Chicago", "plant-south": "Atlanta"}
