"""Cancelling a running job through the API stops its training within a second or two and keeps a checkpoint."""

from __future__ import annotations

import time

import pytest
from campaign_world import make_user
from django.utils import timezone
from jobs_world import english_dataset
from rest_framework.authtoken.models import Token

from training.jobs import create_training_job
from training.models import LossPoint, TrainingJob

pytestmark = pytest.mark.slow


def test_cancel_through_the_api_stops_a_running_job(client, tmp_path, settings, celery_worker_factory, wait_for):
    settings.MODEL_ROOT = tmp_path / "models"
    dataset = english_dataset(tmp_path / "data")
    job = create_training_job(
        template="english_base", data={"en_pretrain": dataset, "en_finetune": dataset},
        overrides={"max_steps": 400, "batch_size": 4}, log_every=1, checkpoint_every=1000,
    )  # fmt: skip
    celery_worker_factory(env={"MODEL_ROOT": str(settings.MODEL_ROOT), "TRAINING_THREADS": "1"})
    wait_for(lambda: LossPoint.objects.filter(job=job, step__gte=3).exists(), timeout=150, what="three steps")

    token = Token.objects.create(user=make_user("boss", "admin")).key
    asked_at, asked_at_clock = time.monotonic(), timezone.now()
    response = client.post(f"/api/v1/training/jobs/{job.pk}/cancel/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True

    wait_for(lambda: TrainingJob.objects.get(pk=job.pk).state != "running", timeout=30, what="the job to stop")
    stopped_after = time.monotonic() - asked_at
    job.refresh_from_db()
    assert job.state == "cancelled" and job.finished_at is not None
    # The runner reads the flag once a second: no step is logged much later than that
    # (a step count would depend on the machine's speed).
    last_step = LossPoint.objects.filter(job=job).latest("created_at")
    trained_on = (last_step.created_at - asked_at_clock).total_seconds()
    assert stopped_after < 10 and trained_on < 2.5, (stopped_after, trained_on)
    assert last_step.step < 400
    assert job.checkpoint  # written at the stop: a requeue resumes from here
    assert (settings.MODEL_ROOT / job.checkpoint / "state.json").exists()
    assert not job.output_model
