"""The Cancel / Requeue buttons of the job pages (audit/job_actions.py): a queued job is
cancelled; cancelling a finished one or requeueing a queued one is refused with a message
naming the job and its state, and nothing changes."""

from __future__ import annotations

import pytest
from campaign_world import make_dataset, make_user

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
