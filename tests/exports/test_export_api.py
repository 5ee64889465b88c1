"""REST API v1: rules and snapshots (create -> job -> status -> download), filters, 4xx naming the field."""

from __future__ import annotations

import hashlib

import pytest
from export_world import graded_world
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exports.build import run_build, snapshot_path
from exports.models import Snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def world():
    return graded_world(24)


def client_for(user, *, token: bool = True) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    else:
        client.force_login(user)
    return client


def test_build_and_download_through_the_api(world):
    _dataset, _campaign, admin = world
    api = client_for(admin)
    rule = api.post("/api/v1/rules/", {"name": "high", "spec": {"min_grade": "high"}}, format="json")
    assert rule.status_code == 201, rule.json()
    created = api.post("/api/v1/snapshots/", {"rule": rule.json()["id"], "format": "jsonl"}, format="json")
    assert created.status_code == 202 and created.json()["state"] == "queued"
    again = api.post("/api/v1/snapshots/", {"rule": rule.json()["id"], "format": "jsonl"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]  # one job
    snapshot_id = created.json()["id"]
    early = api.get(f"/api/v1/snapshots/{snapshot_id}/download/")
    assert early.status_code == 409 and early.json()["state"] == "queued"
    run_build(snapshot_id)  # what the Celery task does
    status = api.get(f"/api/v1/snapshots/{snapshot_id}/").json()
    assert status["state"] == "done" and status["item_count"] == 6
    assert status["balance"]["yes_no"] == {"yes": 0, "no": 6, "yes_share": 0.0}  # even items answer "Non"
    whole = api.get(status["download"])
    body = b"".join(whole.streaming_content)
    assert whole.status_code == 200 and hashlib.sha256(body).hexdigest() == status["sha256"]
    assert whole["Accept-Ranges"] == "bytes"
    part = api.get(status["download"], HTTP_RANGE="bytes=100-")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-{len(body) - 1}/{len(body)}"
    assert b"".join(part.streaming_content) == body[100:]
    tail = api.get(status["download"], HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == body[-10:]
    outside = api.get(status["download"], HTTP_RANGE=f"bytes={len(body)}-")
    assert outside.status_code == 416 and outside["Content-Range"] == f"bytes */{len(body)}"


def test_session_auth_works_too_and_annotators_are_refused(world):
    _dataset, _campaign, admin = world
    assert client_for(admin, token=False).get("/api/v1/datasets/").json()[0]["item_count"] == 24
    from django.contrib.auth.models import User

    annotator = User.objects.get(username="ann1")
    assert client_for(annotator).get("/api/v1/snapshots/").status_code == 403
    assert APIClient().get("/api/v1/snapshots/").status_code in (401, 403)


def test_unknown_rule_field_or_value_is_a_400_naming_it(world):
    api = client_for(world[2])
    bad_field = api.post("/api/v1/rules/", {"name": "x", "spec": {"min_grad": "high"}}, format="json")
    assert bad_field.status_code == 400 and bad_field.json()["field"] == "spec.min_grad"
    assert "min_grad" in bad_field.json()["detail"]
    bad_value = api.post("/api/v1/rules/", {"name": "x", "spec": {"min_grade": "perfect"}}, format="json")
    assert bad_value.status_code == 400 and bad_value.json()["field"] == "spec.min_grade"
    assert "'perfect'" in bad_value.json()["detail"]
    bad_filter = api.get("/api/v1/items/?colour=red")
    assert bad_filter.status_code == 400 and bad_filter.json()["field"] == "colour"
    bad_grade = api.get("/api/v1/translations/?grade=great")
    assert bad_grade.status_code == 400 and bad_grade.json()["field"] == "grade"
    bad_format = api.post("/api/v1/snapshots/", {"rule": 1, "format": "csv"}, format="json")
    assert bad_format.status_code == 400 and bad_format.json()["field"] == "format"


def test_a_rule_selecting_nothing_is_refused_without_a_snapshot(world):
    api = client_for(world[2])
    rule = api.post("/api/v1/rules/", {"name": "none", "spec": {"engine": "vllm"}}, format="json").json()
    refused = api.post("/api/v1/snapshots/", {"rule": rule["id"]}, format="json")
    assert refused.status_code == 422 and "selects nothing" in refused.json()["detail"]
    assert not Snapshot.objects.exists()


def test_items_and_translations_filter_and_page_with_cursors(world):
    api = client_for(world[2])
    first = api.get("/api/v1/items/?page_size=10").json()
    assert len(first["results"]) == 10 and first["next"]
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]
    assert len(seen) == len(set(seen)) == 24
    high = api.get("/api/v1/items/?grade=high&page_size=100").json()["results"]
    assert sorted(r["external_id"] for r in high) == sorted(f"mini-{i}" for i in range(0, 24, 4))
    ungraded = api.get("/api/v1/translations/?status=ungraded").json()["results"]
    assert len(ungraded) == 6 and all(r["final_grade"] is None for r in ungraded)
    low = api.get("/api/v1/translations/?grade=low&engine=apertium").json()["results"]
    assert len(low) == 6 and {r["final_grade"] for r in low} == {"low"}


def test_download_of_a_failed_snapshot_is_a_409_with_its_state(world):
    api = client_for(world[2])
    rule = api.post("/api/v1/rules/", {"name": "mix", "spec": {"min_grade": "high"}}, format="json").json()
    made = api.post("/api/v1/snapshots/", {"rule": rule["id"], "format": "benchmark"}, format="json").json()
    failed = run_build(made["id"])
    assert failed.state == "failed" and "benchmark" in failed.message
    response = api.get(f"/api/v1/snapshots/{made['id']}/download/")
    assert response.status_code == 409 and response.json()["state"] == "failed"
    assert not list(snapshot_path("snapshots").glob("*.json"))
