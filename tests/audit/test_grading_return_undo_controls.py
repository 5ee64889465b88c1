"""What the grading page relies on from the server: skipped items come back once at the end, undo goes
several steps back with the whole grade, controls stay far from their originals under their own id.

Each behaviour is checked through the page's endpoints: grade-next (the PostgreSQL hot path in
audit/grade_next.py, the ORM path on SQLite) and next/ (the ORM path on both).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.test import Client
from django.utils import timezone

from audit.assignment import CONTROL_DISTANCE, MAX_HELD
from audit.models import Assessment, Entry

pytestmark = pytest.mark.django_db


def session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def next_item(client: Client, campaign, exclude=()) -> dict | None:
    response = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {"exclude": list(exclude)},
                           content_type="application/json")  # fmt: skip
    assert response.status_code in (200, 204), response.content
    return response.json()["item"] if response.status_code == 200 else None


def grade_next(client: Client, assignment: int, **body) -> dict:
    response = client.post(f"/api/audit/assignments/{assignment}/grade-next/", {"grade": "high", **body},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()


def skip(client: Client, assignment: int, **body) -> None:
    response = client.post(f"/api/audit/assignments/{assignment}/skip/", body, content_type="application/json")
    assert response.status_code == 200, response.content


def tally(client: Client, campaign) -> dict:
    body = client.get(f"/api/audit/campaigns/{campaign.pk}/tally/").json()
    return {key: body[key] for key in ("graded", "skipped", "flagged")}


@pytest.fixture
def solo():
    """One annotator, five items, each graded once."""
    ann = make_user("ann", "annotator")
    return make_campaign(make_dataset(5), [ann], overlap=1, control_share=0), ann


def test_a_skipped_item_comes_back_once_after_everything_else_through_the_grading_hot_path(solo):
    campaign, ann = solo
    client = session(ann)
    first = next_item(client, campaign)
    skip(client, first["assignment"])
    item, seen = next_item(client, campaign), []
    while item is not None:
        seen.append(item["entry"])
        item = grade_next(client, item["assignment"], next=True, exclude=[item["assignment"]])["next"]
    assert seen[-1] == first["entry"] and len(seen) == 5 and len(set(seen)) == 5
    assert tally(client, campaign) == {"graded": 5, "skipped": 0, "flagged": 0}  # graded when it came back


def test_an_item_skipped_twice_or_flagged_stays_out_and_the_tally_says_so(solo):
    campaign, ann = solo
    client = session(ann)
    skipped = next_item(client, campaign)
    skip(client, skipped["assignment"])
    flagged = next_item(client, campaign)
    skip(client, flagged["assignment"], flag=True, reason="no image")
    served = []
    while (item := next_item(client, campaign)) is not None:
        served.append(item["entry"])
        if item["entry"] == skipped["entry"]:
            skip(client, item["assignment"])  # it came back; skipped again, it is set aside for good
        else:
            grade_next(client, item["assignment"])
    assert served[-1] == skipped["entry"] and served.count(skipped["entry"]) == 1
    assert flagged["entry"] not in served
    assert tally(client, campaign) == {"graded": 3, "skipped": 1, "flagged": 1}
    assert Entry.objects.get(pk=flagged["entry"]).flagged


def test_undo_goes_back_step_by_step_returning_each_grade_with_its_form(solo):
    campaign, ann = solo
    client = session(ann)
    item, done = next_item(client, campaign), []
    for n, grade in enumerate(("high", "moderate", "low")):
        form = {"grade": grade, "categories": ["fluency"] if n else [], "comment": f"note {n}",
                "post_edit": [f"Question {n}", f"Réponse {n}"]}  # fmt: skip
        done.append((item["assignment"], form))
        item = grade_next(client, item["assignment"], next=True, exclude=[item["assignment"]], **form)["next"]
    undo = f"/api/audit/campaigns/{campaign.pk}/undo/"
    for assignment, form in reversed(done):
        body = client.post(undo, {}, content_type="application/json").json()
        assert body["item"]["assignment"] == assignment
        assert {key: body["undone"][key] for key in form} == form
    assert client.post(undo, {}, content_type="application/json").status_code == 404
    assert not Assessment.objects.exists() and body["progress"]["mine"] == 0


def test_undo_of_a_given_assignment_and_its_refusals(solo):
    campaign, ann = solo
    client = session(ann)
    first = next_item(client, campaign)
    second = grade_next(client, first["assignment"], grade="low", next=True, exclude=[first["assignment"]])["next"]
    grade_next(client, second["assignment"])
    undo = f"/api/audit/campaigns/{campaign.pk}/undo/"
    bad = client.post(undo, {"assignment": "first"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "assignment"
    body = client.post(undo, {"assignment": first["assignment"]}, content_type="application/json").json()
    assert body["item"]["assignment"] == first["assignment"] and body["undone"]["grade"] == "low"
    assert list(Assessment.objects.values_list("assignment_id", flat=True)) == [second["assignment"]]
    missing = client.post(undo, {"assignment": first["assignment"]}, content_type="application/json")
    assert missing.status_code == 404 and missing.json()["field"] == "assignment"
    Assessment.objects.update(created_at=timezone.now() - timedelta(hours=1))
    late = client.post(undo, {}, content_type="application/json")
    assert late.status_code == 409 and "can no longer be undone" in late.json()["detail"]


def test_the_page_can_hold_its_prefetch_queue():
    ann = make_user("ann", "annotator")
    campaign = make_campaign(make_dataset(10), [ann], overlap=1, control_share=0)
    client, held = session(ann), []
    for _ in range(MAX_HELD):
        held.append(next_item(client, campaign, exclude=held)["assignment"])
    assert len(set(held)) == MAX_HELD >= 1 + 3 + 2  # on screen, three prefetched, two grades on their way


@pytest.mark.parametrize("through", ["grade-next", "next"])
def test_controls_stay_far_from_their_originals_and_show_their_own_id(through):
    dataset = make_dataset(120)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0.2)
    client = session(ann)
    item, sequence = next_item(client, campaign), []
    while len(sequence) < 80:  # well before the end, where an original may have to come sooner
        sequence.append(item)
        if through == "grade-next":
            item = grade_next(client, item["assignment"], next=True, exclude=[item["assignment"]])["next"]
        else:
            grade_next(client, item["assignment"])
            item = next_item(client, campaign)
    entries = Entry.objects.in_bulk([i["entry"] for i in sequence])
    where = {(entries[i["entry"]].translation_id, entries[i["entry"]].is_control): n for n, i in enumerate(sequence)}
    controls = [(t, n) for (t, is_control), n in where.items() if is_control]
    assert len(controls) >= 10
    pairs = [(n, where[(t, False)]) for t, n in controls if (t, False) in where]
    assert pairs, "no original of a served control was served: the test proves nothing"
    assert all(abs(control - original) >= CONTROL_DISTANCE for control, original in pairs), pairs
    labels = {i["entry"]: i["label"] for i in sequence}
    assert len(set(labels.values())) == len(labels) == 80  # a control never shows its original's id
    mine = client.get(f"/api/audit/grades/mine/?campaign={campaign.pk}").json()
    assert len({g["item"] for g in mine}) == 80 and {g["item"] for g in mine} == set(labels.values())
    page = client.get("/audit/my-grades/").content.decode()
    assert all(label in page for label in labels.values())
    assert not any(f"mini-{i}<" in page for i in range(120))  # dataset ids would pair a control with its original
