"""A worker killed mid-job (SIGKILL, no goodbye): the next worker to start requeues the
stalled job, which resumes from its checkpoint and finishes with every loss point once."""

from __future__ import annotations

import os
import signal

import pytest
from jobs_world import english_dataset

from training.jobs import create_training_job
from training.models import LossPoint, TrainingJob

pytestmark = pytest.mark.slow
STEPS = 12


def test_killed_worker_job_resumes_from_its_checkpoint(tmp_path, settings, celery_worker_factory, wait_for):
    settings.MODEL_ROOT = tmp_path / "models"
    settings.JOB_STALE_SECONDS = 2
    env = {"MODEL_ROOT": str(settings.MODEL_ROOT), "TRAINING_THREADS": "1", "JOB_STALE_SECONDS": "2"}
    dataset = english_dataset(tmp_path / "data")
    job = create_training_job(
        template="english_base", data={"en_pretrain": dataset, "en_finetune": dataset},
        overrides={"max_steps": STEPS, "batch_size": 8}, log_every=1, checkpoint_every=4,
    )  # fmt: skip
    worker = celery_worker_factory(env=env)

    def past_a_checkpoint():
        row = TrainingJob.objects.get(pk=job.pk)
        if not row.checkpoint:
            return False
        saved = int(row.checkpoint.rsplit("step-", 1)[1])
        return LossPoint.objects.filter(job=row, stage_index=row.stage_index, step__gt=saved).exists()

    wait_for(past_a_checkpoint, timeout=150, interval=0.05, what="a loss point after a checkpoint")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    killed = TrainingJob.objects.get(pk=job.pk)
    assert killed.state == "running" and killed.attempts == 1

    # This worker is up before the job looks stale (2 s): its second look, queued at start, requeues it.
    celery_worker_factory(env=env)
    wait_for(lambda: TrainingJob.objects.get(pk=job.pk).state in ("done", "failed"), timeout=150, what="the resumed job")
    job.refresh_from_db()
    assert job.state == "done", job.message
    assert job.attempts == 2
    for stage in (0, 1):
        steps = list(LossPoint.objects.filter(job=job, stage_index=stage).order_by("id").values_list("step", flat=True))
        # Written in order, each step once: the points after the checkpoint were deleted and written again.
        assert sorted(steps) == list(range(1, STEPS + 1)), (stage, steps)
