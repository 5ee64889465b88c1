"""The adjudication page: one pending disagreement at a time, with everything needed to settle it.

A reviewer sees the image, the turns, each annotator's grade, errors, comment and
post-edit (diffed against the translation), a counter, next/previous links and
filters; a plain form POST records the final grade and shows the next item.
"""

from __future__ import annotations

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from django.test import Client
from PIL import Image

from audit.assignment import next_assignment
from audit.grading import do_grade
from audit.models import AssessmentChange, Entry, FinalGrade, PendingAdjudication

pytestmark = pytest.mark.django_db


def bob_says(entry: Entry) -> dict:
    """ann grades every item high; bob low (with a post-edit) on a third, moderate on a third, agrees otherwise."""
    turns = [t["value"] for t in entry.translation.turns]
    kind = entry.position % 3
    if kind == 0:
        edited = [turns[0], turns[1].replace("bleue", "verte") if "bleue" in turns[1] else "Non"]
        return {"grade": "low", "categories": ["meaning"], "comment": f"bob: wrong colour {entry.pk}",
                "post_edit": edited}  # fmt: skip
    return {"grade": "moderate" if kind == 1 else "high"}


@pytest.fixture
def world(tmp_path):
    for i in range(3):
        Image.new("RGB", (8, 8), "red").save(tmp_path / f"img{i}.png")
    dataset = make_dataset(12, image_root=tmp_path)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], overlap=2, control_share=0)
    for user in (ann, bob):
        while (lease := next_assignment(campaign, user)) is not None:
            data = {"grade": "high", "comment": "ann: fine"} if user == ann else bob_says(lease.entry)
            do_grade(lease.pk, data, annotator=user)
    reviewer = Client()
    reviewer.force_login(make_user("rev", "reviewer"))
    return campaign, reviewer


def url(campaign, query: str = "") -> str:
    return f"/audit/campaigns/{campaign.pk}/adjudication/{query}"


def queue(campaign) -> list[int]:
    return list(
        PendingAdjudication.objects.filter(entry__campaign=campaign).order_by("created_at", "pk")
        .values_list("entry_id", flat=True)
    )  # fmt: skip


def test_the_page_shows_one_item_with_image_turns_grades_and_the_post_edit_diff(world):
    campaign, reviewer = world
    pending = queue(campaign)
    assert len(pending) == 8
    first = Entry.objects.select_related("translation__item").get(pk=pending[0])
    html = reviewer.get(url(campaign)).content.decode()
    assert html.count('name="entry"') == 1 and f'value="{first.pk}"' in html
    assert "<strong>1 of 8</strong> pending" in html
    assert f'src="/audit/entries/{first.pk}/image/"' in html
    item = first.translation.item
    assert item.conversations[0]["value"].split("\n")[1] in html  # English source
    assert first.translation.turns[0]["value"].split("\n")[1] in html  # French translation
    assert 'data-annotator="ann" data-grade="high"' in html and "ann: fine" in html
    assert 'data-grade="low"' in html or 'data-grade="moderate"' in html
    if Entry.objects.get(pk=first.pk).position % 3 == 0:
        assert "meaning changed" in html and f"bob: wrong colour {first.pk}" in html


def test_a_post_edit_is_shown_as_deletions_and_insertions(world):
    campaign, reviewer = world
    low = [e for e in queue(campaign) if Entry.objects.get(pk=e).position % 3 == 0]
    edited = next(e for e in low if "bleue" in Entry.objects.get(pk=e).translation.turns[1]["value"])
    html = reviewer.get(url(campaign, f"?entry={edited}")).content.decode()
    assert "<del>bleue.</del><ins>verte.</ins>" in html
    assert 'post-edit of bob' in html  # offered as the final text


def test_posting_a_grade_stores_it_and_shows_the_next_pending_item(world):
    campaign, reviewer = world
    first, second = queue(campaign)[:2]
    response = reviewer.post(url(campaign), {"entry": first, "grade": "moderate"})
    assert response.status_code == 302 and response["Location"] == url(campaign, f"?entry={second}")
    final = FinalGrade.objects.get(entry_id=first)
    assert (final.grade, final.source, final.decided_by.username) == ("moderate", "adjudication", "rev")
    assert AssessmentChange.objects.filter(action="adjudicate", entry_id=first).exists()
    html = reviewer.get(response["Location"]).content.decode()
    assert "Final grade set: moderate." in html and "<strong>1 of 7</strong> pending" in html
    assert f'name="entry" value="{second}"' in html


def test_the_reviewer_can_keep_an_annotators_post_edit_as_final_text(world):
    campaign, reviewer = world
    from audit.models import Assessment

    edit = Assessment.objects.filter(entry__campaign=campaign, post_edit__isnull=False).first()
    response = reviewer.post(url(campaign), {"entry": edit.entry_id, "grade": "high", "post_edit_of": edit.pk})
    assert response.status_code == 302
    assert FinalGrade.objects.get(entry_id=edit.entry_id).final_turns == edit.post_edit


def test_next_and_previous_walk_the_queue_and_keep_the_filters(world):
    campaign, reviewer = world
    spread_two = [e for e in queue(campaign) if Entry.objects.get(pk=e).position % 3 == 0]
    html = reviewer.get(url(campaign, f"?spread=2&entry={spread_two[1]}")).content.decode()
    assert "<strong>2 of 4</strong> pending under these filters (8 in all)" in html
    assert f'href="{url(campaign, f"?spread=2&amp;entry={spread_two[2]}")}"' in html  # next
    assert f'href="{url(campaign, f"?spread=2&amp;entry={spread_two[0]}")}"' in html  # previous
    response = reviewer.post(url(campaign, f"?spread=2&entry={spread_two[1]}"), {"entry": spread_two[1], "grade": "low"})
    assert response["Location"] == url(campaign, f"?spread=2&entry={spread_two[2]}")


def test_filters_by_kind_and_task_type(world):
    campaign, reviewer = world
    html = reviewer.get(url(campaign, "?kind=high/moderate")).content.decode()
    assert "<strong>1 of 4</strong> pending under these filters" in html and 'data-grade="moderate"' in html
    task = Entry.objects.get(pk=queue(campaign)[0]).stratum
    expected = sum(1 for e in queue(campaign) if Entry.objects.get(pk=e).stratum == task)
    html = reviewer.get(url(campaign, f"?task={task}")).content.decode()
    assert f"<strong>1 of {expected}</strong> pending" in html
    html = reviewer.get(url(campaign, "?task=pope")).content.decode()
    assert "No disagreement is waiting under these filters" in html


@pytest.mark.parametrize(
    ("query", "field"), [("?spread=3", "spread"), ("?kind=great", "kind"), ("?task=poems", "task"), ("?entry=x", "entry"),
     ("?entry=%C2%B2", "entry")]  # "²": a digit to str.isdigit, a ValueError (500) to int()
)
def test_a_bad_filter_is_a_400_naming_it(world, query, field):
    campaign, reviewer = world
    response = reviewer.get(url(campaign, query))
    assert response.status_code == 400 and response.content.decode().startswith(f"{field}:")


def test_bad_posts_are_refused_with_the_reason_and_change_nothing(world):
    campaign, reviewer = world
    first = queue(campaign)[0]
    assert reviewer.post(url(campaign), {"grade": "high"}).content.decode().startswith("entry:")
    response = reviewer.post(url(campaign), {"entry": first, "grade": "excellent"})
    assert response.status_code == 400 and "unknown grade &#x27;excellent&#x27;" in response.content.decode()
    other = make_campaign(make_dataset(4, name="other"), [make_user("cid", "annotator")], name="other", overlap=1)
    foreign = Entry.objects.filter(campaign=other).first()
    assert reviewer.post(url(campaign), {"entry": foreign.pk, "grade": "high"}).status_code == 404
    assert not FinalGrade.objects.filter(source="adjudication").exists() and len(queue(campaign)) == 8


def test_an_item_another_reviewer_settled_is_a_409_not_an_overwrite(world):
    campaign, reviewer = world
    first = queue(campaign)[0]
    other = Client()
    other.force_login(make_user("rita", "reviewer"))
    other.post(url(campaign), {"entry": first, "grade": "low"})
    response = reviewer.post(url(campaign), {"entry": first, "grade": "high"})
    assert response.status_code == 409 and "already settled (low by rita)" in response.content.decode()
    assert FinalGrade.objects.get(entry_id=first).grade == "low"


def test_annotators_cannot_see_or_post(world):
    campaign, _ = world
    annotator = Client()
    annotator.force_login(make_user("ann2", "annotator"))
    assert annotator.get(url(campaign)).status_code == 403
    assert annotator.post(url(campaign), {"entry": queue(campaign)[0], "grade": "high"}).status_code == 403


def test_an_empty_queue_says_so(world):
    campaign, reviewer = world
    PendingAdjudication.objects.all().delete()
    html = reviewer.get(url(campaign)).content.decode()
    assert "No disagreement is waiting." in html and 'name="entry"' not in html
