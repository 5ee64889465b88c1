"""Grading stays fast: grading an item and getting the next one costs a small, fixed number of queries.

The number must not grow with the campaign or with the annotator's history (no COUNT
over slots, no query per held lease): issue 4's figure (150 graded items/s for 32
annotators over 1,000,000 translations, docs/performance.md) depends on it.
"""

from __future__ import annotations

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import Assessment

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgresql(reason="the budgets are the PostgreSQL hot path's (prepared statements, SKIP LOCKED claims); "
                           "SQLite runs the ORM reference path, whose results tests/audit/test_grading_lean_endpoint.py checks"),
]

GRADE_AND_NEXT_BUDGET = 15
"""Token, role, the locked lease, 4 writes, consensus (read + upsert), progress, and the
next item: membership lock, held leases, the one-statement claim, counters, payload."""
NEXT_BUDGET = 9
LEAN_BUDGET = 5
"""The grading page's endpoint (grade-next): token with user and role, the locked lease, every
write in one statement (the membership locked and read with its held leases and progress), the
claim with its item, and a second claim when a control was due but none is left."""


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL a request sent, without the savepoints the test's own transaction turns BEGIN/COMMIT into."""
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_grading_an_item_with_next_costs_at_most_fifteen_queries_however_far_the_annotator_got():
    dataset = make_dataset(40)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0.1)
    client, other = APIClient(), APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=ann).key}")
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}")
    with CaptureQueriesContext(connection) as first:
        item = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json").json()["item"]
    assert len(statements(first)) <= NEXT_BUDGET, statements(first)
    counts = []
    for n in range(12):  # controls, regular items, and bob completing entries so that consensus is settled
        bob_item = other.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json").json()["item"]
        other.post(f"/api/audit/assignments/{bob_item['assignment']}/grade/", {"grade": "high"}, format="json")
        with CaptureQueriesContext(connection) as queries:
            response = client.post(f"/api/audit/assignments/{item['assignment']}/grade/",
                                   {"grade": "high", "next": True}, format="json")  # fmt: skip
        assert response.status_code == 201, response.content
        item = response.json()["next"]
        counts.append(len(statements(queries)))
        assert counts[-1] <= GRADE_AND_NEXT_BUDGET, "\n".join(statements(queries))


def test_the_pages_grade_next_endpoint_costs_at_most_five_statements():
    dataset = make_dataset(40)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0.1)
    client, other = APIClient(), APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=ann).key}")
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}")
    item = client.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json").json()["item"]
    for n in range(12):  # controls, regular items, and bob completing entries so that consensus is settled
        bob_item = other.post(f"/api/audit/campaigns/{campaign.pk}/next/", {}, format="json").json()["item"]
        other.post(f"/api/audit/assignments/{bob_item['assignment']}/grade-next/", {"grade": "high"}, format="json")
        with CaptureQueriesContext(connection) as queries:
            response = client.post(f"/api/audit/assignments/{item['assignment']}/grade-next/",
                                   {"grade": "high", "next": True}, format="json")  # fmt: skip
        assert response.status_code == 201, response.content
        item = response.json()["next"]
        assert len(statements(queries)) <= LEAN_BUDGET, "\n".join(statements(queries))
    graded = Assessment.objects.filter(annotator=ann)
    regular = graded.filter(entry__is_control=False).count()
    assert graded.count() == 12 and response.json()["progress"]["mine"] == regular
