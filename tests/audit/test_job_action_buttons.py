"""The Cancel / Requeue buttons of the job pages (jobs/actions.py, templates/jobs/_actions.html): a queued job is
cancelled; cancelling a finished one or requeueing a queued one is refused with a message
naming the job and its state, and nothing changes."""

from __future__ import annotations

import pytest
from campaign_world import make_dataset, make_user

from evaluation.models import EvaluationRun
from jobs import lifecycle
from training.models import TrainingJob
from translation.models import TranslationJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("boss", "admin"))
    return client


def test_cancel_then_refusals_on_the_translation_job_page(admin_client, tmp_path):
    job = TranslationJob.objects.create(dataset=make_dataset(2, image_root=tmp_path), engine="apertium")
    page = admin_client.post(f"/translation/jobs/{job.pk}/cancel/", follow=True)
    job.refresh_from_db()
    assert job.state == "cancelled" and page.status_code == 200
    again = admin_client.post(f"/translation/jobs/{job.pk}/cancel/", follow=True)
    assert f"Job {job.pk} is cancelled; only queued or running jobs can be cancelled." in again.content.decode()
    TranslationJob.objects.filter(pk=job.pk).update(state="queued")
    refused = admin_client.post(f"/translation/jobs/{job.pk}/requeue/", follow=True)
    assert "only failed, cancelled or stalled jobs can be requeued" in refused.content.decode()
    job.refresh_from_db()
    assert job.state == "queued"


def test_a_reviewer_cannot_press_the_buttons(client, tmp_path):
    job = TranslationJob.objects.create(dataset=make_dataset(2, image_root=tmp_path), engine="apertium")
    client.force_login(make_user("rita", "reviewer"))
    assert client.post(f"/translation/jobs/{job.pk}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.state == "queued"


PAGES = {
    "translation job": (lambda tmp_path: TranslationJob.objects.create(dataset=make_dataset(2, image_root=tmp_path),
                                                                       engine="apertium"), "/translation/jobs/{}/"),
    "training job": (lambda tmp_path: TrainingJob.objects.create(template="english_base", stages=[]), "/training/jobs/{}/"),
    "evaluation run": (lambda tmp_path: EvaluationRun.objects.create(model_path="tiny", benchmark="pope", split="random"),
                       "/evaluations/{}/"),
}  # fmt: skip


@pytest.mark.parametrize("kind", PAGES)
def test_every_job_page_has_the_same_buttons_and_messages(admin_client, tmp_path, kind):
    make, url = PAGES[kind]
    job = make(tmp_path)
    page = url.format(job.pk)
    assert '<button type="submit">Cancel</button>' in admin_client.get(page).content.decode()

    lifecycle.claim(type(job).objects.all(), job.pk)  # a worker runs it: Cancel asks, the runner stops it
    shown = admin_client.post(page + "cancel/", follow=True).content.decode()
    assert f"Cancelling: the worker stops this {job.noun} at its next check." in shown and "Cancel</button>" not in shown

    type(job).objects.filter(pk=job.pk).update(state="done")
    refused = admin_client.post(page + "requeue/", follow=True).content.decode()
    assert f"{job.noun} {job.pk} is done; only failed, cancelled or stalled {job.noun}s can be requeued" in refused
    assert "Requeue</button>" not in refused and "Cancel</button>" not in refused
    type(job).objects.filter(pk=job.pk).update(state="failed")
    assert '<button type="submit">Requeue</button>' in admin_client.get(page).content.decode()
