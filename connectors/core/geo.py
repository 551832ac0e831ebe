"""Location link key: resolve lat/lon to the nearest known city and its country (small built-in gazetteer)."""

from __future__ import annotations

import math
from dataclasses import dataclass

# name, ISO country code, country name, lat, lon (city-centre coordinates, rounded)
_CITIES: tuple[tuple[str, str, str, float, float], ...] = (
    ("Seattle", "US", "United States", 47.6062, -122.3321),
    ("New York", "US", "United States", 40.7128, -74.0060),
    ("San Francisco", "US", "United States", 37.7749, -122.4194),
    ("Los Angeles", "US", "United States", 34.0522, -118.2437),
    ("Chicago", "US", "United States", 41.8781, -87.6298),
    ("Atlanta", "US", "United States", 33.7490, -84.3880),
    ("Boston", "US", "United States", 42.3601, -71.0589),
    ("Washington", "US", "United States", 38.9072, -77.0369),
    ("Miami", "US", "United States", 25.7617, -80.1918),
    ("Austin", "US", "United States", 30.2672, -97.7431),
    ("Denver", "US", "United States", 39.7392, -104.9903),
    ("Toronto", "CA", "Canada", 43.6532, -79.3832),
    ("Vancouver", "CA", "Canada", 49.2827, -123.1207),
    ("Mexico City", "MX", "Mexico", 19.4326, -99.1332),
    ("São Paulo", "BR", "Brazil", -23.5505, -46.6333),
    ("Buenos Aires", "AR", "Argentina", -34.6037, -58.3816),
    ("London", "GB", "United Kingdom", 51.5074, -0.1278),
    ("Manchester", "GB", "United Kingdom", 53.4808, -2.2426),
    ("Dublin", "IE", "Ireland", 53.3498, -6.2603),
    ("Paris", "FR", "France", 48.8566, 2.3522),
    ("Berlin", "DE", "Germany", 52.5200, 13.4050),
    ("Munich", "DE", "Germany", 48.1351, 11.5820),
    ("Amsterdam", "NL", "Netherlands", 52.3676, 4.9041),
    ("Madrid", "ES", "Spain", 40.4168, -3.7038),
    ("Rome", "IT", "Italy", 41.9028, 12.4964),
    ("Stockholm", "SE", "Sweden", 59.3293, 18.0686),
    ("Warsaw", "PL", "Poland", 52.2297, 21.0122),
    ("Zurich", "CH", "Switzerland", 47.3769, 8.5417),
    ("Istanbul", "TR", "Turkey", 41.0082, 28.9784),
    ("Cairo", "EG", "Egypt", 30.0444, 31.2357),
    ("Lagos", "NG", "Nigeria", 6.5244, 3.3792),
    ("Nairobi", "KE", "Kenya", -1.2921, 36.8219),
    ("Johannesburg", "ZA", "South Africa", -26.2041, 28.0473),
    ("Dubai", "AE", "United Arab Emirates", 25.2048, 55.2708),
    ("Mumbai", "IN", "India", 19.0760, 72.8777),
    ("Bangalore", "IN", "India", 12.9716, 77.5946),
    ("Singapore", "SG", "Singapore", 1.3521, 103.8198),
    ("Beijing", "CN", "China", 39.9042, 116.4074),
    ("Shanghai", "CN", "China", 31.2304, 121.4737),
    ("Seoul", "KR", "South Korea", 37.5665, 126.9780),
    ("Tokyo", "JP", "Japan", 35.6762, 139.6503),
    ("Sydney", "AU", "Australia", -33.8688, 151.2093),
    ("Melbourne", "AU", "Australia", -37.8136, 144.9631),
    ("Auckland", "NZ", "New Zealand", -36.8485, 174.7633),
)

MAX_DISTANCE_KM = 75.0


@dataclass(frozen=True)
class Place:
    location_id: str
    lat: float
    lon: float
    city: str | None
    country: str | None
    country_code: str | None
    distance_km: float | None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def location_id(lat: float, lon: float) -> str:
    """Stable id of a point: lat/lon rounded to 2 decimals (about 1 km)."""
    return f"{lat:.2f},{lon:.2f}"


def resolve(lat: float, lon: float, *, max_km: float = MAX_DISTANCE_KM) -> Place:
    """The nearest gazetteer city within ``max_km`` (else city/country unknown)."""
    best = min(_CITIES, key=lambda c: haversine_km(lat, lon, c[3], c[4]))
    dist = haversine_km(lat, lon, best[3], best[4])
    if dist > max_km:
        return Place(location_id(lat, lon), lat, lon, None, None, None, None)
    return Place(location_id(lat, lon), lat, lon, best[0], best[2], best[1], round(dist, 3))


def city_coordinates(name: str) -> tuple[float, float]:
    """Centre coordinates of a gazetteer city (for planning weather partitions by city name)."""
    for city, _code, _country, lat, lon in _CITIES:
        if city.lower() == name.lower():
            return lat, lon
    known = ", ".join(c[0] for c in _CITIES)
    raise KeyError(f"unknown city {name!r}; known: {known} (or give lat/lon)")


__all__ = ["Place", "city_coordinates", "haversine_km", "location_id", "resolve"]
