"""Weather: the current temperature and condition for a city.

Open-Meteo (geocoding, then forecast) needs no key and is the default; OpenWeather is used
when OPENWEATHER_API_KEY is set.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from .http import FetchError, NotFoundError, get_json

# WMO weather interpretation codes, as Open-Meteo documents them.
WMO_CODES = {
    0: "Clear sky", 1: "Mainly clear", 2: "Partly cloudy", 3: "Overcast",
    45: "Fog", 48: "Depositing rime fog",
    51: "Light drizzle", 53: "Moderate drizzle", 55: "Dense drizzle",
    56: "Light freezing drizzle", 57: "Dense freezing drizzle",
    61: "Slight rain", 63: "Moderate rain", 65: "Heavy rain",
    66: "Light freezing rain", 67: "Heavy freezing rain",
    71: "Slight snowfall", 73: "Moderate snowfall", 75: "Heavy snowfall", 77: "Snow grains",
    80: "Slight rain showers", 81: "Moderate rain showers", 82: "Violent rain showers",
    85: "Slight snow showers", 86: "Heavy snow showers",
    95: "Thunderstorm", 96: "Thunderstorm with slight hail", 99: "Thunderstorm with heavy hail",
}
CITY_NOT_FOUND = "no such city found"


def provider() -> str:
    """The weather provider in use: "openweather" when a key is configured, else "open-meteo"."""
    return "openweather" if current_app.config.get("OPENWEATHER_API_KEY") else "open-meteo"


def fetch_weather(city: str) -> dict[str, Any]:
    """The current weather in the city: location, temperature, unit, condition, provider."""
    if provider() == "openweather":
        return _openweather(city)
    return _open_meteo(city)


def _number(value: Any, service: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FetchError(f"{service} sent an unexpected answer")
    return round(float(value), 1)


def _open_meteo(city: str) -> dict[str, Any]:
    config = current_app.config
    service = "Open-Meteo"
    places = get_json(
        service, f"{config['OPEN_METEO_GEOCODING_BASE'].rstrip('/')}/search",
        params={"name": city, "count": 1, "language": "en", "format": "json"},
        not_found=CITY_NOT_FOUND,
    )
    results = places.get("results") or []
    if not isinstance(results, list):
        raise FetchError(f"{service} sent an unexpected answer")
    if not results:
        raise NotFoundError(CITY_NOT_FOUND)
    place = results[0] if isinstance(results[0], dict) else {}
    latitude = _number(place.get("latitude"), service)
    longitude = _number(place.get("longitude"), service)
    forecast = get_json(
        service, f"{config['OPEN_METEO_FORECAST_BASE'].rstrip('/')}/forecast",
        params={"latitude": latitude, "longitude": longitude,
                "current": "temperature_2m,weather_code"},
    )
    current = forecast.get("current")
    if not isinstance(current, dict):
        raise FetchError(f"{service} sent an unexpected answer")
    code = current.get("weather_code")
    units = forecast.get("current_units") if isinstance(forecast.get("current_units"), dict) else {}
    return {
        "location": _place_name(place.get("name"), place.get("country"), city),
        "temperature": _number(current.get("temperature_2m"), service),
        "unit": str(units.get("temperature_2m") or "°C")[:8],
        "condition": WMO_CODES.get(code, "Unknown conditions") if isinstance(code, int)
        else "Unknown conditions",
        "provider": "open-meteo",
    }


def _openweather(city: str) -> dict[str, Any]:
    config = current_app.config
    service = "OpenWeather"
    body = get_json(
        service, f"{config['OPENWEATHER_API_BASE'].rstrip('/')}/weather",
        params={"q": city, "appid": config["OPENWEATHER_API_KEY"], "units": "metric"},
        not_found=CITY_NOT_FOUND,
    )
    main = body.get("main")
    conditions = body.get("weather")
    if not isinstance(main, dict):
        raise FetchError(f"{service} sent an unexpected answer")
    condition = "Unknown conditions"
    if isinstance(conditions, list) and conditions and isinstance(conditions[0], dict):
        text = conditions[0].get("description")
        if isinstance(text, str) and text:
            condition = text[:60].capitalize()
    sys = body.get("sys") if isinstance(body.get("sys"), dict) else {}
    return {
        "location": _place_name(body.get("name"), sys.get("country"), city),
        "temperature": _number(main.get("temp"), service),
        "unit": "°C",
        "condition": condition,
        "provider": "openweather",
    }


def _place_name(name: Any, country: Any, fallback: str) -> str:
    parts = [p for p in (name, country) if isinstance(p, str) and p]
    return (", ".join(parts) or fallback)[:100]
