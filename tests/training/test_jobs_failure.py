"""A job that fails mid-way says why, with the traceback's tail, on its row and its page."""

from __future__ import annotations

import shutil

import pytest
from campaign_world import make_user
from jobs_world import english_dataset

from training.job_runner import run_job
from training.jobs import create_training_job

pytestmark = pytest.mark.django_db


def test_failure_message_and_traceback_are_shown(client, tmp_path, settings):
    settings.MODEL_ROOT = tmp_path / "models"
    settings.TRAINING_THREADS = 1
    dataset = english_dataset(tmp_path / "data")
    job = create_training_job(template="english_base", data={"en_pretrain": dataset, "en_finetune": dataset},
                              overrides={"max_steps": 2, "batch_size": 4}, enqueue=False)
    shutil.rmtree(tmp_path / "data")  # the data disappears after the job was accepted

    job = run_job(job.pk)
    assert job.state == "failed" and job.attempts == 1 and job.finished_at is not None
    first_line = job.message.splitlines()[0]
    assert first_line.startswith("DataError: dataset en-mini: cannot read") and "en-mini.json" in first_line
    assert "Traceback" in job.message and "job_runner.py" in job.message

    client.force_login(make_user("rev", "reviewer"))
    page = client.get(f"/training/jobs/{job.pk}/").content.decode()
    assert "DataError: dataset en-mini: cannot read" in page and "job_runner.py" in page
    assert "Requeue" not in page  # reviewers read; only admins act
