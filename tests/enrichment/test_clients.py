"""The outgoing clients against local fake services: answers, failures, retries, caching."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from webapp.extensions import db
from webapp.models import Task, User
from webapp.services import enrichment

from .conftest import FORECAST, GEOCODING, GITHUB, OPENWEATHER, OPENWEATHER_BODY, SLOW

FLASK = f"{GITHUB}/repos/pallets/flask"


def load(actor_id: int, task_id: int, kind: str, force: bool = False) -> Task:
    return enrichment.load(db.session.get(User, actor_id), task_id, kind, force=force)


@pytest.fixture
def repo_task(make_task, user):
    return make_task(user, "Review the release", repo="pallets/flask")


@pytest.fixture
def city_task(make_task, user):
    return make_task(user, "Pack an umbrella", city="Paris")


def test_github_answer_is_stored_with_stars_and_fetch_time(fake, ctx, user, repo_task):
    fake.repo()
    task = load(user.id, repo_task, "repo")
    assert (task.repo_status, task.repo_stars, task.repo_url) == (
        "ok", 1234, "https://github.com/pallets/flask")
    assert task.repo_description.startswith("The Python micro framework")
    assert datetime.now(UTC).replace(tzinfo=None) - task.repo_fetched_at < timedelta(seconds=30)


def test_github_request_carries_user_agent_and_token(fake, ctx, app, monkeypatch, user,
                                                     repo_task):
    monkeypatch.setitem(app.config, "GITHUB_TOKEN", "ghp_test_token")
    fake.repo()
    load(user.id, repo_task, "repo")
    request, _ = fake.server.log[0]
    assert request.headers["Authorization"] == "Bearer ghp_test_token"
    assert request.headers["User-Agent"].startswith("Taskdeck/")


def test_github_404_is_stored_as_repository_not_found(fake, ctx, user, repo_task):
    fake.repo(body={"message": "Not Found"}, status=404)
    task = load(user.id, repo_task, "repo")
    assert (task.repo_status, task.repo_error, task.repo_stars) == (
        "not_found", "repository not found", None)


def test_github_500_is_stored_as_unavailable_without_retrying(fake, ctx, user, repo_task):
    fake.repo(body={"message": "boom"}, status=500)
    task = load(user.id, repo_task, "repo")
    assert (task.repo_status, task.repo_error) == ("unavailable", "GitHub answered 500")
    assert fake.hits(FLASK) == 1


def test_github_503_is_retried_and_the_second_answer_is_used(fake, ctx, user, repo_task):
    fake.repo(body={"message": "busy"}, status=503, oneshot=True)
    fake.repo()
    task = load(user.id, repo_task, "repo")
    assert task.repo_status == "ok"
    assert fake.hits(FLASK) == 2


def test_github_502_every_time_gives_up_after_bounded_retries(fake, ctx, user, repo_task):
    fake.repo(body={"message": "bad gateway"}, status=502)
    task = load(user.id, repo_task, "repo")
    assert (task.repo_status, task.repo_error) == ("unavailable", "GitHub answered 502")
    assert fake.hits(FLASK) == 3  # the first try and ENRICHMENT_RETRIES (2) more


def test_github_slower_than_timeout_is_unavailable_quickly(fake, ctx, user, repo_task):
    fake.slow(FLASK, {"stargazers_count": 1})
    started = time.monotonic()
    task = load(user.id, repo_task, "repo")
    assert time.monotonic() - started < SLOW
    assert (task.repo_status, task.repo_error) == (
        "unavailable", "GitHub did not answer in time")
    time.sleep(SLOW)  # let the single-threaded fake finish before the next test


def test_github_malformed_json_is_unavailable(fake, ctx, user, repo_task):
    fake.raw(FLASK, "{not json")
    task = load(user.id, repo_task, "repo")
    assert (task.repo_status, task.repo_error) == (
        "unavailable", "GitHub sent an unexpected answer")


def test_github_json_without_star_count_is_unavailable(fake, ctx, user, repo_task):
    fake.repo(body={"full_name": "pallets/flask", "stargazers_count": "many"})
    task = load(user.id, repo_task, "repo")
    assert task.repo_status == "unavailable"


def test_github_link_that_is_not_a_web_address_is_replaced(fake, ctx, user, repo_task):
    fake.repo(body={"stargazers_count": 3, "html_url": "javascript:alert(1)"})
    task = load(user.id, repo_task, "repo")
    assert task.repo_url == "https://github.com/pallets/flask"


def test_refused_connection_is_unavailable(fake, ctx, app, monkeypatch, user, repo_task):
    # Port 9 on loopback: nothing listens there, the connection is refused at once.
    monkeypatch.setitem(app.config, "GITHUB_API_BASE", "http://127.0.0.1:9")
    task = load(user.id, repo_task, "repo")
    assert (task.repo_status, task.repo_error) == ("unavailable", "GitHub could not be reached")


@pytest.mark.parametrize("status", [403, 429])
def test_github_rate_limit_is_unavailable_until_reset(fake, ctx, user, repo_task, status):
    reset = int(time.time()) + 600
    fake.repo(body={"message": "API rate limit exceeded"}, status=status,
              headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    task = load(user.id, repo_task, "repo")
    until = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%d %H:%M")
    assert task.repo_status == "unavailable"
    assert task.repo_error == f"GitHub rate limit reached; unavailable until {until} UTC"


def test_github_is_not_asked_again_before_rate_limit_reset(fake, ctx, make_task, user,
                                                            repo_task):
    reset = str(int(time.time()) + 600)
    fake.repo(body={"message": "API rate limit exceeded"}, status=403,
              headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    fake.repo("psf/requests")
    other = make_task(user, "Other repository", repo="psf/requests")
    load(user.id, repo_task, "repo")
    task = load(user.id, other, "repo")
    assert task.repo_status == "unavailable"
    assert fake.hits(f"{GITHUB}/repos/psf/requests") == 0


def test_github_plain_403_is_not_a_rate_limit(fake, ctx, user, repo_task):
    fake.repo(body={"message": "Repository access blocked"}, status=403,
              headers={"X-RateLimit-Remaining": "42"})
    task = load(user.id, repo_task, "repo")
    assert task.repo_error == "GitHub answered 403"


def test_second_task_with_same_repository_is_served_from_cache(fake, ctx, make_task, user,
                                                               repo_task):
    fake.repo()
    other = make_task(user, "Same repository, other case", repo="Pallets/Flask")
    fake.repo("Pallets/Flask")
    load(user.id, repo_task, "repo")
    task = load(user.id, other, "repo")
    assert task.repo_stars == 1234
    assert fake.hits(FLASK) == 1
    assert fake.hits(f"{GITHUB}/repos/Pallets/Flask") == 0


def test_repository_not_found_is_cached_for_a_while(fake, ctx, make_task, user):
    fake.repo("ghost/missing", body={"message": "Not Found"}, status=404)
    first = make_task(user, "One", repo="ghost/missing")
    second = make_task(user, "Two", repo="ghost/missing")
    load(user.id, first, "repo")
    task = load(user.id, second, "repo")
    assert task.repo_status == "not_found"
    assert fake.hits(f"{GITHUB}/repos/ghost/missing") == 1


def test_failure_is_not_cached_so_retry_reaches_the_service(fake, ctx, user, repo_task):
    fake.repo(body={"message": "boom"}, status=500, oneshot=True)
    fake.repo()
    load(user.id, repo_task, "repo")
    task = load(user.id, repo_task, "repo", force=True)
    assert task.repo_status == "ok"
    assert fake.hits(FLASK) == 2


def test_refresh_asks_the_service_again_despite_the_cache(fake, ctx, user, repo_task):
    fake.repo(body=dict(stargazers_count=1, html_url="https://github.com/pallets/flask"),
              oneshot=True)
    fake.repo()
    load(user.id, repo_task, "repo")
    task = load(user.id, repo_task, "repo", force=True)
    assert task.repo_stars == 1234
    assert fake.hits(FLASK) == 2


def test_stored_snapshot_is_not_fetched_again_within_its_time(fake, ctx, user, repo_task):
    fake.repo()
    load(user.id, repo_task, "repo")
    task = load(user.id, repo_task, "repo")
    assert task.repo_status == "ok"
    assert fake.hits(FLASK) == 1


def test_snapshot_older_than_cache_time_is_due_again(fake, ctx, user, repo_task):
    fake.repo()
    task = load(user.id, repo_task, "repo")
    task.repo_fetched_at -= timedelta(minutes=11)
    assert enrichment.is_due(task, "repo")


def test_storing_snapshot_keeps_version_and_updated_at(fake, ctx, user, repo_task):
    fake.repo()
    before = db.session.get(Task, repo_task)
    version, updated_at = before.version, before.updated_at
    db.session.remove()
    task = load(user.id, repo_task, "repo")
    assert task.repo_status == "ok"
    assert (task.version, task.updated_at) == (version, updated_at)


def test_snapshot_for_a_changed_repository_is_dropped(ctx, user, repo_task):
    stored = enrichment.store_snapshot(
        repo_task, "repo", "someone/else", {"repo_status": "ok", "repo_stars": 5}
    )
    task = db.session.get(Task, repo_task)
    assert stored is False
    assert (task.repo_status, task.repo_stars) == (None, None)


def test_open_meteo_weather_is_stored_in_words(fake, ctx, user, city_task):
    fake.weather()
    task = load(user.id, city_task, "weather")
    assert task.weather_status == "ok"
    assert task.weather == {"location": "Paris, France", "temperature": 18.5, "unit": "°C",
                            "condition": "Partly cloudy", "provider": "open-meteo"}


def test_open_meteo_unknown_city_is_not_found(fake, ctx, user, city_task):
    fake.weather(places={"generationtime_ms": 0.5})
    task = load(user.id, city_task, "weather")
    assert (task.weather_status, task.weather_error) == ("not_found", "no such city found")


def test_open_meteo_forecast_500_is_unavailable(fake, ctx, user, city_task):
    fake.server.expect_request(f"{GEOCODING}/search").respond_with_json(
        {"results": [{"name": "Paris", "latitude": 48.85, "longitude": 2.35}]})
    fake.raw(f"{FORECAST}/forecast", "oops", status=500, content_type="text/plain")
    task = load(user.id, city_task, "weather")
    assert (task.weather_status, task.weather_error) == (
        "unavailable", "Open-Meteo answered 500")


def test_open_meteo_slow_geocoding_is_unavailable(fake, ctx, user, city_task):
    fake.slow(f"{GEOCODING}/search", {"results": []})
    task = load(user.id, city_task, "weather")
    assert task.weather_error == "Open-Meteo did not answer in time"
    time.sleep(SLOW)


def test_open_meteo_malformed_geocoding_is_unavailable(fake, ctx, user, city_task):
    fake.raw(f"{GEOCODING}/search", "<html>maintenance</html>", content_type="text/html")
    task = load(user.id, city_task, "weather")
    assert task.weather_error == "Open-Meteo sent an unexpected answer"


def test_open_meteo_rate_limit_is_unavailable_until_later(fake, ctx, user, city_task):
    fake.server.expect_request(f"{GEOCODING}/search").respond_with_json(
        {"error": True, "reason": "Too many requests"}, status=429)
    task = load(user.id, city_task, "weather")
    assert task.weather_status == "unavailable"
    assert task.weather_error.startswith("Open-Meteo rate limit reached; unavailable until")


def test_weather_for_same_city_is_served_from_cache(fake, ctx, make_task, user, city_task):
    fake.weather()
    other = make_task(user, "Second task in Paris", city="paris ")
    load(user.id, city_task, "weather")
    task = load(user.id, other, "weather")
    assert task.weather["temperature"] == 18.5
    assert (fake.hits(f"{GEOCODING}/search"), fake.hits(f"{FORECAST}/forecast")) == (1, 1)


def test_openweather_is_used_when_a_key_is_set(fake, ctx, app, monkeypatch, user, city_task):
    monkeypatch.setitem(app.config, "OPENWEATHER_API_KEY", "owm-key")
    fake.server.expect_request(
        f"{OPENWEATHER}/weather", query_string={"q": "Paris", "appid": "owm-key",
                                                 "units": "metric"}
    ).respond_with_json(OPENWEATHER_BODY)
    task = load(user.id, city_task, "weather")
    assert task.weather == {"location": "Paris, FR", "temperature": 11.2, "unit": "°C",
                            "condition": "Light rain", "provider": "openweather"}
    assert fake.hits(f"{GEOCODING}/search") == 0


def test_openweather_404_is_not_found(fake, ctx, app, monkeypatch, user, city_task):
    monkeypatch.setitem(app.config, "OPENWEATHER_API_KEY", "owm-key")
    fake.server.expect_request(f"{OPENWEATHER}/weather").respond_with_json(
        {"cod": "404", "message": "city not found"}, status=404)
    task = load(user.id, city_task, "weather")
    assert task.weather_status == "not_found"


def test_openweather_rate_limit_is_unavailable(fake, ctx, app, monkeypatch, user, city_task):
    monkeypatch.setitem(app.config, "OPENWEATHER_API_KEY", "owm-key")
    fake.server.expect_request(f"{OPENWEATHER}/weather").respond_with_json(
        {"cod": 429}, status=429, headers={"Retry-After": "60"})
    task = load(user.id, city_task, "weather")
    assert task.weather_status == "unavailable"
    assert "OpenWeather rate limit reached; unavailable until" in task.weather_error


def test_openweather_malformed_body_is_unavailable(fake, ctx, app, monkeypatch, user,
                                                   city_task):
    monkeypatch.setitem(app.config, "OPENWEATHER_API_KEY", "owm-key")
    fake.raw(f"{OPENWEATHER}/weather", '["not", "an", "object"]')
    task = load(user.id, city_task, "weather")
    assert task.weather_error == "OpenWeather sent an unexpected answer"


def test_switched_off_enrichment_makes_no_call(fake, ctx, app, monkeypatch, user, repo_task):
    monkeypatch.setitem(app.config, "ENRICHMENT_ENABLED", False)
    fake.repo()
    task = load(user.id, repo_task, "repo", force=True)
    assert task.repo_status is None
    assert len(fake.server.log) == 0


def test_enrichment_json_carries_status_and_fetch_time(fake, ctx, user, repo_task):
    fake.repo()
    task = load(user.id, repo_task, "repo")
    data = enrichment.enrichment_json(task)
    assert data["weather"] is None
    assert data["repo"]["status"] == "ok"
    assert data["repo"]["stars"] == 1234
    assert data["repo"]["fetchedAt"].endswith("Z")


def test_enrichment_json_of_unfetched_city_is_pending(ctx, make_task, user):
    task = db.session.get(Task, make_task(user, "Trip", city="Oslo"))
    assert enrichment.enrichment_json(task)["weather"]["status"] == "pending"
