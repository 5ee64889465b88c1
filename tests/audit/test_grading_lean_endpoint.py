"""The lean grade-and-next endpoint (the grading page's hot path): same rules, shapes and refusals as the DRF one.

POST /api/audit/assignments/<id>/grade-next/ skips DRF and runs three or four prepared statements
on PostgreSQL (audit/grade_next.py); these tests hold it to what api.grade promises.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from audit.models import Assessment, AssessmentChange, Assignment, FinalGrade, PendingAdjudication


def token_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")


def first_item(client: Client, campaign) -> dict:
    response = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["item"]


def grade_next(client: Client, assignment: int, **body):
    return client.post(f"/api/audit/assignments/{assignment}/grade-next/", {"grade": "high", **body},
                       content_type="application/json")  # fmt: skip


@pytest.fixture
def world(db):
    dataset = make_dataset(6)
    ann, bob, eve = (make_user(n, "annotator") for n in ("ann", "bob", "eve"))
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    return campaign, ann, bob, eve


def test_a_grade_is_stored_with_its_history_and_the_next_item_comes_back(world):
    campaign, ann, *_ = world
    client = token_client(ann)
    item = first_item(client, campaign)
    response = grade_next(client, item["assignment"], grade="moderate", categories=["fluency", "terminology"],
                          post_edit=["<image>\nLa forme est-elle rouge ?", "Oui"], comment="accord", seconds=4.2,
                          next=True, exclude=[item["assignment"]])  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["grade"] == "moderate" and body["progress"] == {"mine": 1, "campaign_done": 1, "campaign_total": 12,
                                                                  "remaining": 11}  # fmt: skip
    nxt = body["next"]
    assert nxt["assignment"] != item["assignment"] and nxt["turns"][0]["target"].startswith("<image>\nLa forme")
    assert nxt["turns"][1]["role"] == "answer" and nxt["lease_until"]
    stored = Assessment.objects.get(pk=body["assessment"])
    assert (stored.grade, stored.categories, stored.comment, stored.seconds, stored.post_edit[1]) == (
        "moderate", ["fluency", "terminology"], "accord", 4.2, "Oui")
    change = AssessmentChange.objects.get(action="grade", changed_by=ann)
    assert change.new == {"grade": "moderate", "categories": ["fluency", "terminology"], "comment": "accord",
                          "post_edit": ["<image>\nLa forme est-elle rouge ?", "Oui"], "seconds": 4.2}  # fmt: skip
    assert Assignment.objects.get(pk=item["assignment"]).state == "done"
    # Without "next" the answer carries no item, and no new slot is leased.
    held = Assignment.objects.filter(annotator=ann, state="leased").count()
    later = grade_next(client, nxt["assignment"], grade="low").json()
    assert "next" not in later and later["progress"]["mine"] == 2
    assert Assignment.objects.filter(annotator=ann, state="leased").count() == held - 1


def test_the_next_item_is_a_held_lease_first_and_never_the_item_just_graded(world):
    campaign, ann, *_ = world
    client = token_client(ann)
    first = first_item(client, campaign)
    held = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {"exclude": [first["assignment"]]},
                       content_type="application/json").json()["item"]  # fmt: skip
    # No "exclude": the page lost track of what it holds. The slot just graded is done, so
    # the answer is the other lease the annotator holds, and no new slot is taken.
    body = grade_next(client, first["assignment"], next=True).json()
    assert body["next"]["assignment"] == held["assignment"] != first["assignment"]
    assert Assignment.objects.filter(annotator=ann, state="leased").count() == 1
    after = grade_next(client, held["assignment"], next=True).json()["next"]
    assert after["assignment"] not in (first["assignment"], held["assignment"])


def test_agreement_becomes_final_and_disagreement_waits_for_a_reviewer(world):
    campaign, ann, bob, _ = world
    a, b = token_client(ann), token_client(bob)
    first = first_item(a, campaign)
    assert grade_next(a, first["assignment"], grade="low").status_code == 201
    second = first_item(b, campaign)
    assert second["entry"] == first["entry"]
    third = grade_next(b, second["assignment"], grade="low", next=True).json()["next"]
    final = FinalGrade.objects.get(entry_id=first["entry"])
    assert (final.grade, final.source) == ("low", "consensus")
    fourth = first_item(a, campaign)
    assert fourth["entry"] == third["entry"]
    grade_next(b, third["assignment"], grade="high")
    grade_next(a, fourth["assignment"], grade="moderate")
    assert PendingAdjudication.objects.filter(entry_id=third["entry"]).exists()
    assert not FinalGrade.objects.filter(entry_id=third["entry"]).exists()


@pytest.mark.parametrize(
    "body, field",
    [({"grade": "excellent"}, "grade"), ({"grade": "high", "categories": ["spelling"]}, "categories"),
     ({"grade": "high", "post_edit": ["only one turn"]}, "post_edit"), ({"grade": "high", "next": "yes"}, "next"),
     ({"grade": "high", "exclude": ["a"]}, "exclude")],  # fmt: skip
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(world, body, field):
    campaign, ann, *_ = world
    client = token_client(ann)
    item = first_item(client, campaign)
    response = client.post(f"/api/audit/assignments/{item['assignment']}/grade-next/", body,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400 and response.json()["field"] == field, response.content
    assert not Assessment.objects.exists() and not AssessmentChange.objects.exists()
    assert Assignment.objects.get(pk=item["assignment"]).state == "leased"


def test_refusals_twice_not_yours_expired_missing_not_json_and_wrong_credentials(world):
    campaign, ann, bob, eve = world
    a = token_client(ann)
    item = first_item(a, campaign)
    assert grade_next(a, item["assignment"]).status_code == 201
    twice = grade_next(a, item["assignment"])
    assert twice.status_code == 409 and "already graded" in twice.json()["detail"]
    b = token_client(bob)
    same_entry = first_item(b, campaign)  # the second slot of the item ann graded
    other = grade_next(b, same_entry["assignment"], next=True).json()["next"]
    stolen = grade_next(a, other["assignment"])
    assert stolen.status_code == 403 and "not assigned to you" in stolen.json()["detail"]
    outsider = grade_next(token_client(eve), other["assignment"])
    assert outsider.status_code == 403 and "not an annotator of campaign" in outsider.json()["detail"]
    late = first_item(a, campaign)
    Assignment.objects.filter(pk=late["assignment"]).update(leased_until=timezone.now() - timedelta(seconds=1))
    expired = grade_next(a, late["assignment"])
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    assert grade_next(a, 999999).status_code == 404
    garbled = a.post(f"/api/audit/assignments/{late['assignment']}/grade-next/", "{grade",
                     content_type="application/json")  # fmt: skip
    assert garbled.status_code == 400 and garbled.json()["field"] == "body"
    wrong = Client(HTTP_AUTHORIZATION="Token not-a-real-token").post(
        f"/api/audit/assignments/{other['assignment']}/grade-next/", {"grade": "high"}, content_type="application/json")
    assert wrong.status_code == 403 and wrong.json()["detail"] == "Invalid token."
    reviewer = grade_next(token_client(make_user("rev", "reviewer")), other["assignment"])
    assert reviewer.status_code == 403 and "needs the role annotator" in reviewer.json()["detail"]
    assert Client().get(f"/api/audit/assignments/{other['assignment']}/grade-next/").status_code == 405
    assert Assessment.objects.count() == 2


def test_the_page_session_needs_its_csrf_token(world):
    campaign, ann, *_ = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    page = client.get(f"/audit/campaigns/{campaign.pk}/grade/")
    assert b"/grade-next/" in page.content  # the page posts its grades to the lean endpoint
    item = first_item(token_client(ann), campaign)
    refused = grade_next(client, item["assignment"])
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not Assessment.objects.exists()
    accepted = client.post(f"/api/audit/assignments/{item['assignment']}/grade-next/", {"grade": "high"},
                           content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert accepted.status_code == 201, accepted.content


@pytest.mark.django_db(transaction=True)
def test_eight_annotators_over_http_fill_every_slot_exactly_once(live_server):
    """Real HTTP, real threads: nothing over k, never the same annotator twice, every 201 stored."""
    dataset = make_dataset(30)
    people = [make_user(f"a{i}", "annotator") for i in range(8)]
    campaign = make_campaign(dataset, people, overlap=3, control_share=0.1)
    tokens = [Token.objects.create(user=user).key for user in people]
    address = urlparse(live_server.url)
    accepted: list[int] = []
    errors: list[str] = []

    def annotate(index: int) -> None:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        headers = {"Authorization": f"Token {tokens[index]}", "Content-Type": "application/json"}

        def post(path: str, body: dict) -> tuple[int, dict]:
            conn.request("POST", path, json.dumps(body), headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, (json.loads(data) if data else {})

        status, body = post(f"/api/audit/campaigns/{campaign.pk}/next/", {})
        item = body.get("item") if status == 200 else None
        while item is not None:
            status, body = post(f"/api/audit/assignments/{item['assignment']}/grade-next/",
                                {"grade": ("high", "low")[index % 2], "next": True})  # fmt: skip
            if status != 201:
                errors.append(f"{status} {body}")
                return
            accepted.append(body["assessment"])
            item = body["next"]
        conn.close()

    threads = [threading.Thread(target=annotate, args=(i,)) for i in range(len(people))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sorted(Assessment.objects.values_list("pk", flat=True)) == sorted(accepted)
    pairs = list(Assessment.objects.values_list("entry_id", "annotator_id"))
    assert len(set(pairs)) == len(pairs)
    per_entry = Counter(Assessment.objects.filter(entry__is_control=False).values_list("entry_id", flat=True))
    assert set(per_entry.values()) == {3} and len(per_entry) == 30
    settled = FinalGrade.objects.count() + PendingAdjudication.objects.count()
    assert settled == 30  # every translation got its consensus or went to a reviewer
