"""REST API v1 assessments: annotators read only their own, reviewers and admins everyone's; filters; cursors."""

from __future__ import annotations

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
GRADES = ("high", "moderate", "low")


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def grade_all(client: APIClient, campaign, start: int) -> None:
    """Grade every item this annotator is served, through the grading API (grades cycle from `start`)."""
    i = start
    while (served := client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json")).status_code == 200:
        response = client.post(f"/api/audit/assignments/{served.json()['item']['assignment']}/grade/",
                               {"grade": GRADES[i % 3], "comment": f"c{i}"}, format="json")  # fmt: skip
        assert response.status_code == 201, response.content
        i += 1
    assert served.status_code == 204, served.content


@pytest.fixture
def graded():
    """Two annotators grade all 6 items of a campaign (k=2, no controls) through the grading API."""
    dataset = make_dataset(6)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    grade_all(client_for(ann), campaign, 0)
    grade_all(client_for(bob), campaign, 1)
    return campaign, ann, bob


def every(client: APIClient, url: str) -> list[dict]:
    page = client.get(url).json()
    rows = page["results"]
    while page["next"]:
        page = client.get(page["next"]).json()
        rows += page["results"]
    return rows


def test_an_annotator_sees_only_their_own_assessments(graded):
    campaign, ann, bob = graded
    api = client_for(ann)
    mine = every(api, "/api/v1/assessments/?page_size=4")
    assert len(mine) == 6 and {r["annotator_name"] for r in mine} == {"ann"}
    assert all(r["is_control"] is None for r in mine)  # which items were controls stays hidden
    assert sorted(r["comment"] for r in mine) == sorted(f"c{i}" for i in range(6))
    refused = api.get(f"/api/v1/assessments/?annotator={bob.pk}")
    assert refused.status_code == 403 and refused.json()["field"] == "annotator"
    bobs = client_for(bob).get("/api/v1/assessments/").json()["results"]
    assert api.get(f"/api/v1/assessments/{bobs[0]['id']}/").status_code == 404
    own = api.get(f"/api/v1/assessments/{mine[0]['id']}/")
    assert own.status_code == 200 and own.json()["grade"] == mine[0]["grade"]


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_reviewers_and_admins_see_everyone_and_filter(graded, role):
    campaign, ann, bob = graded
    api = client_for(make_user("rita", role))
    rows = every(api, "/api/v1/assessments/?page_size=5")
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12
    assert {r["annotator_name"] for r in rows} == {"ann", "bob"} and {r["is_control"] for r in rows} == {False}
    by_bob = every(api, f"/api/v1/assessments/?annotator={bob.pk}&campaign={campaign.pk}")
    assert len(by_bob) == 6 and {r["annotator"] for r in by_bob} == {bob.pk}
    translation = rows[0]["translation"]
    both = api.get(f"/api/v1/assessments/?translation={translation}").json()["results"]
    assert len(both) == 2 and {r["annotator_name"] for r in both} == {"ann", "bob"}
    high = every(api, "/api/v1/assessments/?grade=high")
    assert high and len(high) == sum(r["grade"] == "high" for r in rows)
    assert api.get(f"/api/v1/assessments/{rows[0]['id']}/").json()["translation"] == rows[0]["translation"]


def test_bad_filters_and_users_without_a_role_are_refused(graded):
    api = client_for(make_user("rita", "reviewer"))
    assert api.get("/api/v1/assessments/?grade=great").json()["field"] == "grade"
    assert api.get("/api/v1/assessments/?campaign=abc").json()["field"] == "campaign"
    unknown = api.get("/api/v1/assessments/?colour=red")
    assert unknown.status_code == 400 and "colour" in unknown.json()["detail"]
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nobody")
    assert client_for(nobody).get("/api/v1/assessments/").status_code == 403
    assert APIClient().get("/api/v1/assessments/").status_code in (401, 403)
