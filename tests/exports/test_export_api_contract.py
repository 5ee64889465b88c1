"""Contract test of REST API v1 with schemathesis against a live server: no 5xx, responses match the schema.

Bounded (a few examples per operation) so it runs in well under a minute.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from export_world import build, graded_world
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

OURS = r"^/api/v1/(datasets|items|translations|assessments|rules|snapshots)/"


@pytest.fixture
def api_schema(live_server, settings, tmp_path, monkeypatch):
    settings.EXPORT_ROOT = tmp_path
    settings.API_V1_RATES = {"api_v1": "100000/minute", "snapshot_build": "100000/minute"}
    monkeypatch.setattr("exports.build._enqueue", lambda snapshot: None)  # no broker in this test
    _dataset, _campaign, admin = graded_world(12)
    build("high", {"min_grade": "high"})
    token = Token.objects.create(user=admin).key
    raw = requests.get(f"{live_server.url}/api/v1/schema/?format=json", headers={"Authorization": f"Token {token}"})
    raw.raise_for_status()
    schema = schemathesis.openapi.from_dict(raw.json()).include(path_regex=OURS)
    schema.config.base_url = live_server.url  # type: ignore[attr-defined]
    pytest.api_token = token  # type: ignore[attr-defined]
    return schema


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=OURS)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.django_db(transaction=True)
def test_api_v1_contract(case, live_server):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Token {pytest.api_token}"},  # type: ignore[attr-defined]
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


def test_docs_page_and_schema_are_served_without_a_cdn(admin_client):
    page = admin_client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower() and "/static/drf_spectacular_sidecar/" in page
    schema = admin_client.get("/api/v1/schema/?format=json").json()
    assert "/api/v1/snapshots/{snapshot_id}/download/" in schema["paths"]
