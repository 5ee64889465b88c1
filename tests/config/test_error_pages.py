"""Error pages a user can live with: 403, 404, 405 and 500 inside the site's layout, saying what
happened with a link home; API paths keep JSON. GET on a form's POST address shows the 405 page
(or, for the new-evaluation form, the form itself); /api/ and /api/v1/ list the API."""

from __future__ import annotations

import sys
import types

import pytest
from campaign_world import make_user
from django.urls import include, path

pytestmark = pytest.mark.django_db

LAYOUT = '<link rel="stylesheet" href="/static/css/relecture.css">'
HOME_LINK = '<a href="/" data-testid="home-link">Go to the home page</a>'


def test_a_denied_page_is_styled_and_says_which_role_it_needs(client):
    client.force_login(make_user("ann", "annotator"))
    response = client.get("/results/")
    page = response.content.decode()
    assert response.status_code == 403 and LAYOUT in page and HOME_LINK in page
    assert "You cannot open this page" in page
    assert "needs the role reviewer or admin; you are annotator" in page
    assert 'href="/audit/campaigns/"' in page  # the site's navigation is there


def test_an_unknown_address_is_a_styled_404_naming_it(client):
    client.force_login(make_user("rev", "reviewer"))
    response = client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404 and LAYOUT in page and HOME_LINK in page
    assert "<code>/no/such/page/</code>" in page
    missing = client.get("/evaluations/999999/")  # get_object_or_404 inside a view: the same page
    assert missing.status_code == 404 and HOME_LINK in missing.content.decode()


def test_api_paths_keep_json_errors(client):
    client.force_login(make_user("rev", "reviewer"))
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    refused = client.post("/api/")
    assert refused.status_code == 405 and refused["Content-Type"] == "application/json"
    assert refused.json()["detail"] == "Method POST not allowed here; this address answers GET."


def test_get_on_a_post_only_address_shows_the_405_page(client):
    client.force_login(make_user("boss", "admin"))
    response = client.get("/study/start/")
    page = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert LAYOUT in page and HOME_LINK in page
    assert "It answers <code>POST</code>, not <code>GET</code>" in page


def test_get_new_evaluation_leads_to_the_form(client):
    client.force_login(make_user("boss", "admin"))
    response = client.get("/evaluations/new/")
    assert response.status_code == 302 and response["Location"] == "/evaluations/#new-evaluation"
    assert 'id="new-evaluation"' in client.get("/evaluations/").content.decode()


def test_a_server_error_is_a_styled_page_with_a_way_home(client, settings):
    def broken(request):
        raise RuntimeError("boom")

    urls = types.ModuleType("broken_urls")
    urls.urlpatterns = [path("broken/", broken), path("", include("config.urls"))]
    urls.handler500 = "config.errors.server_error"
    sys.modules["broken_urls"] = urls
    settings.ROOT_URLCONF = "broken_urls"
    client.raise_request_exception = False
    try:
        response = client.get("/broken/")
    finally:
        del sys.modules["broken_urls"]
    page = response.content.decode()
    assert response.status_code == 500 and LAYOUT in page
    assert "Something went wrong on our side" in page and '<a href="/" data-testid="home-link">' in page


def test_the_project_uses_these_handlers():
    from config import urls

    assert (urls.handler403, urls.handler404, urls.handler500) == (
        "config.errors.permission_denied", "config.errors.page_not_found", "config.errors.server_error",
    )  # fmt: skip


@pytest.mark.parametrize("debug", [False, True])
def test_the_api_roots_list_the_endpoints_and_the_docs(client, settings, debug):
    settings.DEBUG = debug  # with DEBUG on these addresses showed Django's URLconf listing
    root = client.get("/api/")
    assert root.status_code == 200 and root["Content-Type"] == "application/json"
    body = root.json()
    assert body["versions"]["v1"] == "http://testserver/api/v1/"
    assert body["docs"] == "http://testserver/api/v1/docs/" and body["schema"] == "http://testserver/api/v1/schema/"
    v1 = client.get("/api/v1/").json()
    assert set(v1["endpoints"]) >= {"datasets", "items", "translations", "snapshots", "training_jobs", "evaluations"}
    client.force_login(make_user("rev", "reviewer"))
    for url in [*v1["endpoints"].values(), *body["audit"].values(), v1["schema"]]:
        assert client.get(url).status_code == 200, url  # every listed address answers
