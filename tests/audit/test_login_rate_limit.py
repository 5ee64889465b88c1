"""Failed logins are limited per username; a good password after the limit is still refused for a while."""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_user
from django.test import Client

from audit.login_limit import MAX_PER_USERNAME

pytestmark = pytest.mark.django_db


def test_too_many_failures_lock_the_username_with_a_429():
    make_user("ann", "annotator", password=True)
    client = Client()
    for _ in range(MAX_PER_USERNAME):
        assert client.post("/accounts/login/", {"username": "ann", "password": "wrong"}).status_code == 200
    locked = client.post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    assert locked.status_code == 429 and b"Too many failed attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_good_login_clears_earlier_failures():
    make_user("bob", "annotator", password=True)
    client = Client()
    for _ in range(MAX_PER_USERNAME - 1):
        client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(MAX_PER_USERNAME - 1):
        assert client.post("/accounts/login/", {"username": "bob", "password": "wrong"}).status_code == 200
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302
