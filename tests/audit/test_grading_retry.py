"""A grade whose answer was lost is not refused on retry: the page's key gets the stored grade back.

The grading page (static/audit/grade.js) retries a grade after a 5xx or a network error.
When the first try was stored but its answer lost (a worker killed mid-response), the
retry used to be a 409 "already graded" and the page said "Grade refused" although the
grade was saved. Each grade now carries a fresh "key"; a retry with the same key answers
the stored grade, on both endpoints and both database paths (audit/grade_next.py).
"""

from __future__ import annotations

import uuid

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import Assessment, AssessmentChange

ENDPOINTS = ["grade-next", "grade"]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def graded(db):
    dataset = make_dataset(6)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    client = client_for(ann)
    item = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json").json()["item"]
    return client, item["assignment"]


def post(client, assignment: int, endpoint: str, **body):
    return client.post(f"/api/audit/assignments/{assignment}/{endpoint}/", {"grade": "moderate", "next": True, **body},
                       format="json")  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_retry_with_the_same_key_answers_the_stored_grade(graded, endpoint):
    client, assignment = graded
    key = str(uuid.uuid4())
    first = post(client, assignment, endpoint, key=key, comment="lost answer")
    assert first.status_code == 201, first.content
    retry = post(client, assignment, endpoint, key=key, comment="lost answer")
    assert retry.status_code == 201, retry.content
    body, again = first.json(), retry.json()
    assert again["assessment"] == body["assessment"] and again["grade"] == "moderate"
    assert again["progress"] == body["progress"]
    assert again["next"]["assignment"] == body["next"]["assignment"]  # the lease it holds, not a new one
    assert Assessment.objects.count() == 1 and AssessmentChange.objects.count() == 1
    assert str(Assessment.objects.get().client_key) == key


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_another_key_or_no_key_on_a_graded_item_is_still_refused(graded, endpoint):
    client, assignment = graded
    assert post(client, assignment, endpoint, key=str(uuid.uuid4())).status_code == 201
    assert post(client, assignment, endpoint, key=str(uuid.uuid4())).status_code == 409
    assert post(client, assignment, endpoint).status_code == 409
    assert Assessment.objects.count() == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_key_that_is_no_uuid_is_a_400(graded, endpoint):
    client, assignment = graded
    response = post(client, assignment, endpoint, key="not-a-uuid")
    assert response.status_code == 400, response.content
    assert not Assessment.objects.exists()


def test_someone_elses_key_gets_nothing_back(graded, db):
    client, assignment = graded
    key = str(uuid.uuid4())
    assert post(client, assignment, "grade-next", key=key).status_code == 201
    eve = make_user("eve", "annotator")
    assert post(client_for(eve), assignment, "grade-next", key=key).status_code == 403
