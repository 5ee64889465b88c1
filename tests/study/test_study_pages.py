"""The study pages: reviewers and admins read them, only admins start a study, annotators
are refused; starting twice gives the same study, and an unknown world size is refused."""

from __future__ import annotations

import re

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


def test_the_translation_only_row_shows_the_english_base_in_english_and_its_own_runs_in_french(client):
    from evaluation_world import done_job
    from results_world import scored_run

    base = done_job("base-model")
    en = scored_run(base, "scienceqa", "test", "en", 0.55, name="study-small-english_base")
    fr = scored_run(base, "scienceqa", "test", "fr", 0.30, name="study-small-english_base")
    translated = scored_run(base, "scienceqa", "test", "fr", 0.45, pipeline="translation_only", english=0.52)
    Study.objects.create(name="study-small", world_size="small",
                         objects_made={"english_base": base.pk,
                                       "evaluations": {"english_base": [en.pk, fr.pk], "translation_only": [translated.pk]}})  # fmt: skip
    client.force_login(make_user("rev", "reviewer"))
    page = client.get("/study/study-small/").content.decode()
    row = page.split('<tr data-row="translation_only">')[1].split("</tr>")[0]
    runs = re.findall(r'data-run="(\d+)"', row)
    assert runs == [str(en.pk), str(translated.pk)]  # ScienceQA EN, then ScienceQA FR
    en_cell, fr_cell = [c for c in row.split("<td") if "data-run" in c]
    assert "55.0" in en_cell and "52.0" not in en_cell and "45.0" in fr_cell  # not its intermediate English answers
    assert str(fr.pk) not in runs  # the base model's direct French run stays in its own row
    base_row = page.split('<tr data-row="english_base">')[1].split("</tr>")[0]
    assert re.findall(r'data-run="(\d+)"', base_row) == [str(en.pk), str(fr.pk)]
    assert '<th scope="colgroup" colspan="2" class="group">ScienceQA' in page
