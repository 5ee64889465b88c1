"""Failed logins are limited per username + client address, on every login page (django-axes).

Five wrong passwords lock that username *from that address* for 15 minutes, the right
password included; the same user from anywhere else still logs in, so a stranger cannot
lock anyone out. Usernames are counted as they log in: ' rev1' and 'ｒｅｖ１' are rev1.
"""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_user
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


def attempt(client: Client, path: str, username: str, password: str, ip: str = ATTACKER, **extra):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def fail_until_locked(client: Client, path: str, username: str, ip: str = ATTACKER):
    """LIMIT wrong passwords: the first LIMIT-1 show the form again, the last one the lockout page."""
    statuses = [attempt(client, path, username, "wrong", ip).status_code for _ in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429], f"wrong passwords on {path} answered {statuses}"


def assert_lockout_page(response):
    html = response.content.decode()
    assert response.status_code == 429, f"expected 429, got {response.status_code}"
    assert "Too many failed logins" in html and "Try again after" in html and "(in 15 minutes)" in html
    assert '<header class="bar">' in html, "the lockout page should be inside the site layout"


def test_too_many_failures_lock_the_username_from_that_address_with_a_styled_429():
    make_user("ann", "annotator", password=True)
    client = Client()
    fail_until_locked(client, "/accounts/login/", "ann")
    locked = attempt(client, "/accounts/login/", "ann", PASSWORD)
    assert_lockout_page(locked)
    assert "_auth_user_id" not in client.session


def test_the_owner_logs_in_from_another_address_while_the_attacker_is_locked_out():
    make_user("ann", "annotator", password=True)
    fail_until_locked(Client(), "/accounts/login/", "ann", ATTACKER)
    owner = Client()
    response = attempt(owner, "/accounts/login/", "ann", PASSWORD, OWNER)
    assert response.status_code == 302, "a stranger's failures must not lock the owner out"
    assert owner.session["_auth_user_id"] == str(User.objects.get(username="ann").pk)
    assert attempt(Client(), "/accounts/login/", "ann", PASSWORD, ATTACKER).status_code == 429


def test_admin_login_is_throttled_too():
    make_user("boss", "admin", password=True)
    client = Client()
    fail_until_locked(client, "/admin/login/", "boss")
    locked = attempt(client, "/admin/login/", "boss", PASSWORD)
    assert_lockout_page(locked)
    assert "_auth_user_id" not in client.session
    assert attempt(Client(), "/admin/login/", "boss", PASSWORD, OWNER).status_code == 302


def test_failures_on_either_login_page_add_up():
    make_user("boss", "admin", password=True)
    client = Client()
    for _ in range(LIMIT - 1):
        assert attempt(client, "/admin/login/", "boss", "wrong").status_code == 200
    assert attempt(client, "/accounts/login/", "boss", "wrong").status_code == 429


@pytest.mark.parametrize("variant", ["rev1 ", " rev1", "ｒｅｖ１", "\u3000rev1"])
def test_spellings_that_log_in_as_the_same_user_are_counted_as_that_user(variant):
    make_user("rev1", "reviewer", password=True)
    client = Client()
    assert attempt(client, "/accounts/login/", variant, PASSWORD).status_code == 302, f"{variant!r} logs in as rev1"
    client.logout()
    for _ in range(LIMIT - 1):
        assert attempt(client, "/accounts/login/", "rev1", "wrong").status_code == 200
    assert_lockout_page(attempt(client, "/accounts/login/", variant, "wrong"))
    assert_lockout_page(attempt(client, "/accounts/login/", variant, PASSWORD))


def test_a_good_login_clears_earlier_failures():
    make_user("bob", "annotator", password=True)
    client = Client()
    for _ in range(LIMIT - 1):
        assert attempt(client, "/accounts/login/", "bob", "wrong").status_code == 200
    assert attempt(client, "/accounts/login/", "bob", PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        assert attempt(client, "/accounts/login/", "bob", "wrong").status_code == 200
    assert attempt(client, "/accounts/login/", "bob", PASSWORD).status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_count_by_default():
    make_user("ann", "annotator", password=True)
    client = Client()
    for n in range(LIMIT):
        attempt(client, "/accounts/login/", "ann", "wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    assert attempt(client, "/accounts/login/", "ann", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.99").status_code == 429


def test_behind_trusted_proxies_the_address_they_saw_is_counted(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_user("ann", "annotator", password=True)
    proxy = "10.0.0.2"
    client = Client()
    # The client wrote the first entry itself; the proxy appended the address it saw.
    for _ in range(LIMIT):
        attempt(client, "/accounts/login/", "ann", "wrong", proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}")
    blocked = attempt(client, "/accounts/login/", "ann", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=f"5.6.7.8, {ATTACKER}")
    assert blocked.status_code == 429
    owner = attempt(Client(), "/accounts/login/", "ann", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=OWNER)
    assert owner.status_code == 302, "another client behind the same proxy is not locked out"


def test_authenticate_without_a_request_checks_the_password_uncounted():
    """Scripts and the test client's login() call authenticate() with no request: no client to count."""
    from django.contrib.auth import authenticate

    make_user("ann", "annotator", password=True)
    assert authenticate(username=" ann", password=PASSWORD).username == "ann"
    assert authenticate(username="ann", password="wrong") is None
