"""Local HTTP servers that play GitHub, Open-Meteo and OpenWeather for the enrichment tests.

One pytest-httpserver instance serves all three under different path prefixes; the app's
base URLs point at it, so the real clients (requests, retries, timeouts) are exercised.
"""

from __future__ import annotations

import json
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

GITHUB = "/github"
GEOCODING = "/open-meteo-geocoding/v1"
FORECAST = "/open-meteo/v1"
OPENWEATHER = "/openweather/data/2.5"
# Short timeouts keep the "slower than the timeout" tests fast; the fake sleeps longer.
READ_TIMEOUT = 0.4
SLOW = 1.0

REPO_BODY = {
    "full_name": "pallets/flask",
    "stargazers_count": 1234,
    "description": "The Python micro framework for building web applications.",
    "html_url": "https://github.com/pallets/flask",
}
PARIS = {"results": [{"name": "Paris", "country": "France", "latitude": 48.85,
                      "longitude": 2.35}]}
FORECAST_BODY = {"current_units": {"temperature_2m": "°C"},
                 "current": {"time": "2026-11-22T03:00", "temperature_2m": 18.46,
                             "weather_code": 2}}
OPENWEATHER_BODY = {"name": "Paris", "sys": {"country": "FR"}, "main": {"temp": 11.2},
                    "weather": [{"main": "Rain", "description": "light rain"}]}


class FakeServices:
    """Helpers to make the fake services answer one way or another, and count their hits."""

    def __init__(self, server: HTTPServer):
        self.server = server

    def url(self, prefix: str) -> str:
        return self.server.url_for(prefix)

    def repo(self, full_name: str = "pallets/flask", body: dict | None = None,
             status: int = 200, headers: dict | None = None, oneshot: bool = False):
        expect = self.server.expect_oneshot_request if oneshot else self.server.expect_request
        body = dict(REPO_BODY, full_name=full_name) if body is None else body
        expect(f"{GITHUB}/repos/{full_name}").respond_with_json(
            body, status=status, headers=headers
        )

    def raw(self, path: str, data: str, status: int = 200, content_type="application/json"):
        self.server.expect_request(path).respond_with_data(
            data, status=status, content_type=content_type
        )

    def slow(self, path: str, body: dict):
        def handler(_request: Request) -> Response:
            time.sleep(SLOW)
            return Response(json.dumps(body), content_type="application/json")

        self.server.expect_request(path).respond_with_handler(handler)

    def weather(self, places: dict = PARIS, forecast: dict = FORECAST_BODY):
        self.server.expect_request(f"{GEOCODING}/search").respond_with_json(places)
        self.server.expect_request(f"{FORECAST}/forecast").respond_with_json(forecast)

    def hits(self, path: str) -> int:
        return sum(1 for request, _ in self.server.log if request.path == path)


@pytest.fixture
def fake(httpserver: HTTPServer, app, monkeypatch) -> FakeServices:
    """Enrichment switched on, every base URL pointing at the local fake services."""
    services = FakeServices(httpserver)
    for key, value in {
        "ENRICHMENT_ENABLED": True,
        "GITHUB_API_BASE": services.url(GITHUB),
        "GITHUB_TOKEN": None,
        "OPEN_METEO_GEOCODING_BASE": services.url(GEOCODING),
        "OPEN_METEO_FORECAST_BASE": services.url(FORECAST),
        "OPENWEATHER_API_BASE": services.url(OPENWEATHER),
        "OPENWEATHER_API_KEY": None,
        "ENRICHMENT_CONNECT_TIMEOUT": 1.0,
        "ENRICHMENT_READ_TIMEOUT": READ_TIMEOUT,
        "ENRICHMENT_RETRY_BACKOFF": 0.01,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return services
