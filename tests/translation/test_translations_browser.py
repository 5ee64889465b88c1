"""The translations browser (reviewers and admins): filter by dataset, suggested grade, final grade,
a failed automatic check and engine; 50 a page; each row links to the translation (its item and
grades) and the job that made it; a bad filter is a 400 naming the field; annotators are refused."""

from __future__ import annotations

import re

import pytest
from campaign_world import make_campaign, make_dataset, make_user

from audit.assignment import next_assignment
from audit.grading import do_grade
from translation.models import Translation, TranslationJob

pytestmark = pytest.mark.django_db


def shown(response) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [int(pk) for pk in re.findall(r'<tr data-translation="(\d+)">', response.content.decode())]


@pytest.fixture
def reviewer(client):
    client.force_login(make_user("rev", "reviewer"))
    return client


def test_filters_by_dataset_suggested_grade_and_engine(reviewer):
    mini, other = make_dataset(8, name="mini"), make_dataset(4, name="other")
    Translation.objects.filter(item__dataset=other, item__source_index=0).update(engine="openai")
    in_mini = set(Translation.objects.filter(item__dataset=mini).values_list("pk", flat=True))
    assert set(shown(reviewer.get(f"/translation/translations/?dataset={mini.pk}"))) == in_mini
    high = shown(reviewer.get(f"/translation/translations/?dataset={mini.pk}&suggested=high"))
    assert len(high) == 2 and all(Translation.objects.get(pk=pk).suggested_grade == "high" for pk in high)
    assert shown(reviewer.get("/translation/translations/?engine=openai")) == [
        Translation.objects.get(engine="openai").pk
    ]


def test_filters_by_a_failed_check(reviewer):
    make_dataset(4)
    broken, english, fine = Translation.objects.order_by("pk")[:3]
    Translation.objects.filter(pk=broken.pk).update(checks={"structure_ok": False, "language": "fr"})
    Translation.objects.filter(pk=english.pk).update(checks={"structure_ok": True, "language": "en", "untranslated_share": 0.9})
    Translation.objects.filter(pk=fine.pk).update(checks={"structure_ok": True, "language": "fr", "length_ratio": 1.1})
    assert shown(reviewer.get("/translation/translations/?check=structure")) == [broken.pk]
    assert shown(reviewer.get("/translation/translations/?check=language")) == [english.pk]
    assert shown(reviewer.get("/translation/translations/?check=untranslated")) == [english.pk]


def test_filters_by_final_grade_and_links_each_row_to_its_grades_and_job(reviewer):
    dataset = make_dataset(4)
    job = TranslationJob.objects.create(dataset=dataset, engine="apertium", state="done")
    Translation.objects.update(created_at=job.created_at)  # the job made them
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    for user in (ann, bob):
        while (lease := next_assignment(campaign, user)) is not None:
            do_grade(lease.pk, {"grade": "high" if lease.entry.position % 2 else "low"}, annotator=user)
    graded_high = shown(reviewer.get("/translation/translations/?final=high"))
    assert len(graded_high) == 2
    assert len(shown(reviewer.get("/translation/translations/?final=low"))) == 2
    assert shown(reviewer.get("/translation/translations/?final=none")) == []
    page = reviewer.get("/translation/translations/?final=high").content.decode()
    first = graded_high[0]
    assert f'href="/translation/translations/{first}/#grades">2</a>' in page
    assert f'<a href="/translation/jobs/{job.pk}/">job #{job.pk}</a>' in page
    detail = reviewer.get(f"/translation/translations/{first}/").content.decode()
    assert "ann" in detail and "bob" in detail and '<strong data-testid="final">high</strong>' in detail
    assert "La forme" in detail and "Is shape" in detail  # the item's English beside the French


def test_pages_of_fifty_keep_the_filters(reviewer):
    make_dataset(120)
    first = reviewer.get("/translation/translations/?suggested=&engine=apertium")
    assert len(shown(first)) == 50 and "page 1 of 3" in first.content.decode()
    assert 'href="?suggested=&amp;engine=apertium&amp;page=2"' in first.content.decode()
    assert len(shown(reviewer.get("/translation/translations/?engine=apertium&page=3"))) == 20


def test_a_bad_filter_is_a_400_naming_the_field(reviewer):
    response = reviewer.get("/translation/translations/?check=spelling")
    assert response.status_code == 400
    assert 'data-field="check"' in response.content.decode() and "structure, source_language" in response.content.decode()
    assert reviewer.get("/translation/translations/?final=great").status_code == 400
    assert reviewer.get("/translation/translations/?dataset=abc").status_code == 400
    assert reviewer.get("/translation/translations/?dataset=%C2%B2").status_code == 400  # "²" used to be a 500
    nul = reviewer.get("/translation/translations/?engine=%00")  # a 500 on PostgreSQL before
    assert nul.status_code == 400 and 'data-field="engine"' in nul.content.decode()


def test_annotators_are_refused(client):
    client.force_login(make_user("ann", "annotator"))
    assert client.get("/translation/translations/").status_code == 403
