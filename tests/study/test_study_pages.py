"""The study pages: reviewers and admins read them, only admins start a study, annotators
are refused; starting twice gives the same study, and an unknown world size is refused."""

from __future__ import annotations

import pytest
from campaign_world import make_user

from study.models import Study

pytestmark = pytest.mark.django_db


def test_an_admin_starts_the_study_and_reads_its_page(client):
    client.force_login(make_user("boss", "admin"))
    response = client.post("/study/start/", {"world": "small"})
    assert response.status_code == 302 and response["Location"] == "/study/study-small/"
    client.post("/study/start/", {"world": "small"})
    assert Study.objects.count() == 1  # starting again reuses the study
    page = client.get("/study/study-small/")
    assert page.status_code == 200
    assert b"Generate the miniature world" in page.content and b"No evaluation has finished yet" in page.content
    assert b"study-small" in client.get("/study/").content


def test_an_unknown_world_size_is_refused_and_nothing_is_made(client):
    client.force_login(make_user("boss", "admin"))
    response = client.post("/study/start/", {"world": "huge"}, follow=True)
    assert b"unknown world size" in response.content and not Study.objects.exists()


@pytest.mark.parametrize(("role", "read", "start"), [("annotator", 403, 403), ("reviewer", 200, 403)])
def test_roles(client, role, read, start):
    client.force_login(make_user("someone", role))
    assert client.get("/study/").status_code == read
    assert client.post("/study/start/", {"world": "small"}).status_code == start
    assert not Study.objects.exists()
