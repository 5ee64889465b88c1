"""Every audit page and API endpoint, walked as annotator, reviewer, admin and anonymous: allowed or forbidden."""

from __future__ import annotations

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.test import Client

from audit.assignment import next_assignment

pytestmark = pytest.mark.django_db

OK, FORBIDDEN, LOGIN = "ok", "forbidden", "login"
# (method, url template, expected for annotator-in-campaign, reviewer, admin)
MATRIX = [
    ("get", "/audit/campaigns/", OK, OK, OK),
    ("get", "/audit/campaigns/new/", FORBIDDEN, FORBIDDEN, OK),
    ("get", "/audit/campaigns/{c}/", FORBIDDEN, OK, OK),
    ("get", "/audit/campaigns/{c}/estimates/", FORBIDDEN, OK, OK),
    ("get", "/audit/campaigns/{c}/adjudication/", FORBIDDEN, OK, OK),
    ("get", "/audit/campaigns/{c}/grade/", OK, FORBIDDEN, FORBIDDEN),
    ("get", "/audit/my-grades/", OK, OK, OK),
    ("get", "/api/audit/campaigns/", OK, OK, OK),
    ("post", "/api/audit/campaigns/", FORBIDDEN, FORBIDDEN, "bad"),  # admins get a 400 for an empty body
    ("get", "/api/audit/campaigns/{c}/stats/", FORBIDDEN, OK, OK),
    ("get", "/api/audit/campaigns/{c}/adjudication/", FORBIDDEN, OK, OK),
    ("post", "/api/audit/campaigns/{c}/next/", OK, FORBIDDEN, FORBIDDEN),
    ("post", "/api/audit/campaigns/{c}/undo/", "missing", FORBIDDEN, FORBIDDEN),  # nothing to undo yet: 404
    ("post", "/api/audit/assignments/{a}/grade/", "bad", FORBIDDEN, FORBIDDEN),  # empty grade: 400
    ("post", "/api/audit/assignments/{a}/grade-next/", "bad", FORBIDDEN, FORBIDDEN),  # empty grade: 400
    ("post", "/api/audit/assignments/{a}/skip/", OK, FORBIDDEN, FORBIDDEN),
    ("post", "/api/audit/entries/{e}/adjudicate/", FORBIDDEN, "bad", "bad"),  # empty grade: 400
    ("get", "/api/audit/grades/mine/", OK, OK, OK),
]


def outcome(status: int) -> str:
    return {200: OK, 201: OK, 204: OK, 302: LOGIN, 400: "bad", 401: LOGIN, 403: FORBIDDEN, 404: "missing"}.get(
        status, str(status)
    )


@pytest.fixture
def world():
    dataset = make_dataset(4)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    users = {"annotator": ann, "reviewer": make_user("rev", "reviewer"), "admin": make_user("adm", "admin")}
    campaign = make_campaign(dataset, [ann, bob], admin=users["admin"], control_share=0)
    return campaign, users


@pytest.mark.parametrize("row", MATRIX, ids=[f"{m} {t}" for m, t, *_ in MATRIX])
def test_role_matrix(world, row):
    method, template, *expected = row
    campaign, users = world
    from audit.assignment import next_assignment

    for role, want in zip(("annotator", "reviewer", "admin"), expected):
        lease = next_assignment(campaign, users["annotator"], exclude=[])
        url = template.format(c=campaign.pk, a=lease.pk, e=lease.entry_id)
        client = Client()
        client.force_login(users[role])
        response = getattr(client, method)(url, content_type="application/json")
        assert outcome(response.status_code) == want, f"{role} {method} {url}: {response.status_code}"
    anonymous = getattr(Client(), method)(template.format(c=campaign.pk, a=1, e=1))
    assert outcome(anonymous.status_code) in (LOGIN, FORBIDDEN)


def test_an_annotator_outside_the_campaign_is_forbidden_everywhere_in_it(world):
    campaign, _ = world
    client = Client()
    client.force_login(make_user("eve", "annotator"))
    assert client.get(f"/audit/campaigns/{campaign.pk}/grade/").status_code == 403
    assert client.post(f"/api/audit/campaigns/{campaign.pk}/next/").status_code == 403
    assert client.get("/api/audit/campaigns/").json() == []


def test_posts_without_a_csrf_token_are_refused(world):
    campaign, users = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["annotator"])
    assert client.post(f"/api/audit/campaigns/{campaign.pk}/next/").status_code == 403
    lease = next_assignment(campaign, users["annotator"])
    assert client.post(f"/api/audit/assignments/{lease.pk}/grade-next/", {"grade": "high"},
                       content_type="application/json").status_code == 403  # fmt: skip
    reviewer = Client(enforce_csrf_checks=True)
    reviewer.force_login(users["reviewer"])
    assert reviewer.post(f"/audit/campaigns/{campaign.pk}/adjudication/", {"entry": 1, "grade": "high"}).status_code == 403
