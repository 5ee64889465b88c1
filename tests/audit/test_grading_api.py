"""The REST API for annotators: next item, grade, skip, undo, my grades, and every refusal (4xx, no change)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import Assessment, AssessmentChange, Assignment, FinalGrade, PendingAdjudication

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    dataset = make_dataset(6)
    ann, bob, eve = (make_user(n, "annotator") for n in ("ann", "bob", "eve"))
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    return campaign, ann, bob, eve


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def next_item(client, campaign, **body):
    response = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["item"]


def grade(client, assignment, **body):
    return client.post(f"/api/audit/assignments/{assignment}/grade/", {"grade": "high", **body}, format="json")


def test_next_item_shows_source_and_translation_turn_by_turn(world):
    campaign, ann, *_ = world
    item = next_item(client_for(ann), campaign)
    assert item["turns"][0]["source"].startswith("<image>\nIs shape")
    assert item["turns"][0]["target"].startswith("<image>\nLa forme")
    assert item["turns"][1]["role"] == "answer"


def test_grade_stores_everything_and_returns_the_next_item(world):
    campaign, ann, *_ = world
    client = client_for(ann)
    item = next_item(client, campaign)
    response = grade(client, item["assignment"], grade="moderate", categories=["fluency", "terminology"],
                     post_edit=["<image>\nLa forme est-elle rouge ?", "Oui"], comment="accord", seconds=4.2,
                     next=True)  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["progress"]["mine"] == 1 and body["next"]["assignment"] != item["assignment"]
    stored = Assessment.objects.get(annotator=ann)
    assert (stored.grade, stored.categories, stored.comment, stored.seconds) == (
        "moderate", ["fluency", "terminology"], "accord", 4.2)
    assert stored.post_edit[1] == "Oui"
    assert AssessmentChange.objects.filter(action="grade", changed_by=ann).count() == 1
    mine = client.get("/api/audit/grades/mine/").json()
    assert [g["grade"] for g in mine] == ["moderate"]
    assert client_for(world[2]).get("/api/audit/grades/mine/").json() == []  # bob sees only his own


def test_agreeing_grades_become_final_and_disagreement_waits_for_a_reviewer(world):
    campaign, ann, bob, _ = world
    a, b = client_for(ann), client_for(bob)
    first = next_item(a, campaign)
    assert grade(a, first["assignment"], grade="high").status_code == 201
    second = next_item(b, campaign)
    assert second["entry"] == first["entry"]  # the second slot of the same translation comes next
    assert grade(b, second["assignment"], grade="high").status_code == 201
    assert FinalGrade.objects.get(entry_id=first["entry"]).source == "consensus"
    third, fourth = next_item(a, campaign), next_item(b, campaign)
    grade(a, third["assignment"], grade="high")
    grade(b, fourth["assignment"], grade="low")
    assert PendingAdjudication.objects.filter(entry_id=third["entry"]).exists()
    assert not FinalGrade.objects.filter(entry_id=third["entry"]).exists()


@pytest.mark.parametrize(
    "body, field",
    [({"grade": "excellent"}, "grade"), ({"grade": "high", "categories": ["spelling"]}, "categories"),
     ({"grade": "high", "post_edit": ["only one turn"]}, "post_edit")],  # fmt: skip
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(world, body, field):
    campaign, ann, *_ = world
    client = client_for(ann)
    item = next_item(client, campaign)
    response = client.post(f"/api/audit/assignments/{item['assignment']}/grade/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field
    assert not Assessment.objects.exists()
    assert Assignment.objects.get(pk=item["assignment"]).state == "leased"


def test_refusals_twice_not_yours_expired_not_a_member(world):
    campaign, ann, bob, eve = world
    a = client_for(ann)
    item = next_item(a, campaign)
    assert grade(a, item["assignment"]).status_code == 201
    twice = grade(a, item["assignment"])
    assert twice.status_code == 409 and "already graded" in twice.json()["detail"]
    other = next_item(client_for(bob), campaign)
    stolen = grade(a, other["assignment"])
    assert stolen.status_code in (403, 409)
    not_member = client_for(eve).post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json")
    assert not_member.status_code == 403
    assert grade(client_for(eve), other["assignment"]).status_code == 403
    late = next_item(a, campaign)
    Assignment.objects.filter(pk=late["assignment"]).update(leased_until=timezone.now() - timedelta(seconds=1))
    expired = grade(a, late["assignment"])
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    assert grade(a, 999999).status_code == 404
    assert Assessment.objects.count() == 1


def test_skip_and_flag_never_bring_the_item_back(world):
    campaign, ann, *_ = world
    client = client_for(ann)
    item = next_item(client, campaign)
    response = client.post(f"/api/audit/assignments/{item['assignment']}/skip/", {"flag": True, "reason": "image missing"},
                           format="json")  # fmt: skip
    assert response.status_code == 200
    seen = set()
    while (r := client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json")).status_code == 200:
        nxt = r.json()["item"]
        seen.add(nxt["entry"])
        grade(client, nxt["assignment"])
    assert item["entry"] not in seen and len(seen) == 5


def test_undo_takes_back_the_last_grade_and_keeps_history(world):
    campaign, ann, bob, _ = world
    a, b = client_for(ann), client_for(bob)
    item = next_item(a, campaign)
    grade(a, item["assignment"], grade="low")
    partner = next_item(b, campaign)
    grade(b, partner["assignment"], grade="low")
    assert FinalGrade.objects.filter(entry_id=item["entry"]).exists()
    undone = a.post(f"/api/audit/campaigns/{campaign.pk}/undo/", {}, format="json")
    assert undone.status_code == 200 and undone.json()["item"]["assignment"] == item["assignment"]
    assert not Assessment.objects.filter(annotator=ann).exists()
    assert not FinalGrade.objects.filter(entry_id=item["entry"]).exists()  # consensus withdrawn with the grade
    assert AssessmentChange.objects.filter(action="undo", old__grade="low").exists()
    assert grade(a, item["assignment"], grade="high").status_code == 201  # graded again
    assert PendingAdjudication.objects.filter(entry_id=item["entry"]).exists()
    assert b.post(f"/api/audit/campaigns/{campaign.pk}/undo/", {}, format="json").status_code == 200
    assert a.post(f"/api/audit/campaigns/{campaign.pk}/undo/", {}, format="json").status_code == 200
    assert a.post(f"/api/audit/campaigns/{campaign.pk}/undo/", {}, format="json").status_code == 404
