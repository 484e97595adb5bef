"""With REDIS_URL, enrichment answers are cached in Redis and shared by every app instance."""

from __future__ import annotations

import os
import uuid

import pytest

from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import cache, db
from webapp.models import User
from webapp.services import enrichment

from .conftest import GITHUB


@pytest.fixture
def two_instances(app, database_url, fake):
    """Two app instances on the same database and the same Redis (TEST_REDIS_URL)."""
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set: the Redis cache test needs a Redis server")
    settings = {key: app.config[key] for key in (
        "ENRICHMENT_ENABLED", "GITHUB_API_BASE", "ENRICHMENT_READ_TIMEOUT",
        "ENRICHMENT_RETRY_BACKOFF")}
    prefix = f"taskdeck-test-{uuid.uuid4().hex}:"
    instances = [
        create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_url,
                   CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url,
                   CACHE_KEY_PREFIX=prefix, **settings)
        for _ in range(2)
    ]
    yield instances
    for instance in instances:
        with instance.app_context():
            cache.clear()  # only the keys under this test's prefix
            db.engine.dispose()


def test_repository_fetched_by_one_instance_is_cached_for_the_other(two_instances, fake,
                                                                    make_task, user):
    fake.repo()
    first = make_task(user, "On instance one", repo="pallets/flask")
    second = make_task(user, "On instance two", repo="pallets/flask")
    for instance, task_id in zip(two_instances, (first, second), strict=True):
        with instance.app_context():
            task = enrichment.load(db.session.get(User, user.id), task_id, "repo")
            assert task.repo_stars == 1234
            db.session.remove()
    assert fake.hits(f"{GITHUB}/repos/pallets/flask") == 1
