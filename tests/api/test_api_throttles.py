"""Every API is throttled per user (api/throttles.py), the translation jobs API included; the counts live
in the cache (Redis when REDIS_URL is set, so every gunicorn worker counts against one limit)."""

from __future__ import annotations

import pytest
from campaign_world import make_user
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("url", ["/api/v1/translation/jobs/", "/api/v1/translation/jobs/999999/"])
def test_the_translation_api_answers_429_past_the_rate(settings, url):
    settings.API_V1_RATES = {"api_v1": "3/minute"}
    rev = client_for(make_user("rev", "reviewer"))
    assert [rev.get(url).status_code for _ in range(3)] in ([200] * 3, [404] * 3)
    over = rev.get(url)
    assert over.status_code == 429 and "throttled" in over.json()["detail"]
    assert int(over["Retry-After"]) > 0
    assert client_for(make_user("boss", "admin")).get(url).status_code in (200, 404)  # per user


def test_the_grading_api_has_its_own_rate(settings):
    settings.API_V1_RATES = {"api_v1": "1/minute", "grading": "2/minute"}
    ann = client_for(make_user("ann", "annotator"))
    assert [ann.get("/api/audit/grades/mine/").status_code for _ in range(3)] == [200, 200, 429]
    assert ann.get("/api/v1/assessments/").status_code == 200  # a count of its own


def test_counts_are_kept_in_redis_where_every_worker_sees_them(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL: without it each process keeps its own counts in memory")
    import redis
    from django.core.cache import cache

    rev = make_user("rev", "reviewer")
    assert client_for(rev).get("/api/v1/translation/jobs/").status_code == 200
    stored = redis.Redis.from_url(settings.REDIS_URL)  # as another gunicorn worker would read it
    assert stored.exists(cache.make_key(f"throttle_api_v1_{rev.pk}"))
