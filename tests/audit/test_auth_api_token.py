"""Users get their API token from /accounts/token/: created and shown once, replaced, revoked."""

from __future__ import annotations

import pytest
from campaign_world import make_user
from django.test import Client

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets/"


def logged_in(name: str = "ann") -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(name, "reviewer"))  # reviewers may list datasets
    client.get("/accounts/token/")  # sets the CSRF cookie, as a browser visiting the page would
    return client


def post(client: Client, path: str):
    return client.post(path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def refused(key: str) -> bool:
    """DRF answers 403 (session auth comes first, so no WWW-Authenticate) naming the bad token."""
    response = Client().get(API, HTTP_AUTHORIZATION=f"Token {key}")
    return response.status_code in (401, 403) and response.json()["detail"] == "Invalid token."


def key_on(html: str) -> str:
    return html.split('<code id="api-token-key">')[1].split("</code>")[0]


def test_a_token_is_shown_once_accepted_by_the_api_then_refused_once_revoked():
    client = logged_in()
    assert "You have no API token" in client.get("/accounts/token/").content.decode()

    created = post(client, "/accounts/token/create/")
    assert created.status_code == 200 and "shown only once" in created.content.decode()
    key = key_on(created.content.decode())
    assert key not in client.get("/accounts/token/").content.decode(), "the key must not be shown again"

    assert Client().get(API, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    revoked = post(client, "/accounts/token/revoke/")
    assert revoked.status_code == 302 and revoked["Location"] == "/accounts/token/"
    assert refused(key)


def test_creating_again_replaces_the_old_token():
    client = logged_in()
    first = key_on(post(client, "/accounts/token/create/").content.decode())
    second = key_on(post(client, "/accounts/token/create/").content.decode())
    assert first != second
    assert refused(first)
    assert Client().get(API, HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_the_page_needs_a_login_and_its_posts_a_csrf_token():
    assert Client().get("/accounts/token/")["Location"].startswith("/accounts/login/")
    client = logged_in()
    assert client.post("/accounts/token/create/").status_code == 403, "a POST without the CSRF token is refused"
    assert client.get("/accounts/token/create/").status_code == 405


def test_the_site_header_links_to_the_token_page():
    html = logged_in().get("/").content.decode()
    assert 'href="/accounts/token/"' in html
