"""The home page depends on the role: an annotator sees the campaigns they grade in, their own
count, the campaign's progress and a Grade button (gone once nothing is left for them); a reviewer
the latest results, every campaign with its adjudication queue and the datasets; an admin also the
jobs running now, of every kind; a user without a role is told so."""

from __future__ import annotations

import re

import pytest
from campaign_world import make_campaign, make_dataset, make_user
from evaluation_world import done_job
from results_world import scored_run

from audit.assignment import next_assignment
from audit.grading import do_grade
from evaluation.models import EvaluationRun
from training.models import JobState, TrainingJob
from translation.models import TranslationJob

pytestmark = pytest.mark.django_db


def grade(campaign, user, n: int, grade: str = "high") -> None:
    for _ in range(n):
        lease = next_assignment(campaign, user)
        do_grade(lease.pk, {"grade": grade}, annotator=user)


def row(page: str, campaign: str) -> str:
    match = re.search(rf'<tr data-campaign="{campaign}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {campaign}"
    return match.group(1)


def test_an_annotator_sees_their_campaigns_progress_and_a_grade_button(client):
    dataset = make_dataset(6)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    mine = make_campaign(dataset, [ann, bob], name="mine", overlap=2, control_share=0)
    make_campaign(dataset, [bob], name="not-mine", overlap=1, control_share=0)
    grade(mine, ann, 2)
    grade(mine, bob, 1)
    client.force_login(ann)
    page = client.get("/").content.decode()
    assert 'data-campaign="not-mine"' not in page and 'data-testid="datasets"' not in page
    mine_row = row(page, "mine")
    assert '<td class="num" data-testid="mine">2</td>' in mine_row
    assert "3 / 12 grades (25.0%)" in mine_row  # 6 translations x k=2
    assert f'href="/audit/campaigns/{mine.pk}/grade/" data-testid="grade">Grade</a>' in mine_row


def test_the_grade_button_goes_once_the_annotator_has_graded_everything(client):
    ann = make_user("ann", "annotator")
    campaign = make_campaign(make_dataset(3), [ann, make_user("bob", "annotator")], name="small", overlap=2, control_share=0)
    grade(campaign, ann, 3)
    client.force_login(ann)
    finished = row(client.get("/").content.decode(), "small")
    assert 'data-testid="grade"' not in finished and "finished" in finished


def test_an_annotator_in_no_campaign_is_told_how_they_get_one(client):
    client.force_login(make_user("ann", "annotator"))
    assert "You are in no campaign yet" in client.get("/").content.decode()


def test_a_reviewer_sees_latest_results_and_campaigns_with_their_adjudication_queue(client):
    dataset = make_dataset(4)
    ann, bob = make_user("ann", "annotator"), make_user("bob", "annotator")
    campaign = make_campaign(dataset, [ann, bob], name="camp", overlap=2, control_share=0)
    grade(campaign, ann, 4, "high")
    grade(campaign, bob, 4, "low")  # every entry disagrees: four to adjudicate
    run = scored_run(done_job("base-model"), "scienceqa", "test", "en", 0.6123)
    client.force_login(make_user("rev", "reviewer"))
    page = client.get("/").content.decode()
    assert f'<a href="/evaluations/{run.pk}/">61.2</a>' in page
    camp = row(page, "camp")
    assert "8 / 8 grades (100.0%)" in camp and '<td class="num">4</td>' in camp
    assert f'href="/audit/campaigns/{campaign.pk}/adjudication/">Adjudicate</a>' in camp
    assert 'data-testid="running"' not in page and "mini" in page.split('data-testid="datasets"')[1]


def test_an_admin_sees_running_jobs_of_each_kind_and_the_datasets(client):
    dataset = make_dataset(2, name="world-instruct")
    translating = TranslationJob.objects.create(dataset=dataset, engine="apertium", state="running", total=10, done=4)
    TranslationJob.objects.create(dataset=dataset, engine="apertium", state="done")
    training = TrainingJob.objects.create(name="v2", template="variant2", stages=[], state=JobState.QUEUED)
    evaluating = EvaluationRun.objects.create(model_path="tiny", benchmark="pope", split="random", language="en",
                                              state=JobState.RUNNING, total=30, done=3)  # fmt: skip
    client.force_login(make_user("boss", "admin"))
    page = client.get("/").content.decode()
    running = page.split('data-testid="running"')[1].split("</section>\n</div>")[0]
    assert f'href="/translation/jobs/{translating.pk}/"' in running and "4/10" in running
    assert f'href="/training/jobs/{training.pk}/"' in running
    assert f'href="/evaluations/{evaluating.pk}/"' in running and "3/30" in running
    assert running.count("Nothing queued or running.") == 2  # snapshot builds and studies
    assert "world-instruct" in page.split('data-testid="datasets"')[1]


def test_a_user_without_a_role_is_told_so(client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("nobody"))
    assert "Your account has no role yet" in client.get("/").content.decode()
