"""An admin launches a training job from the form; a real Celery worker trains it to the end."""

from __future__ import annotations

import pytest
from campaign_world import make_user
from jobs_world import english_dataset

from training.models import LossPoint, TrainingJob
from training.presets import load_model

pytestmark = pytest.mark.slow


def test_job_launched_from_the_form_runs_to_done_on_a_worker(
    client, tmp_path, settings, celery_worker_factory, wait_for
):
    settings.MODEL_ROOT = tmp_path / "models"
    dataset = english_dataset(tmp_path / "data")
    client.force_login(make_user("boss", "admin"))
    page = client.get("/training/jobs/new/")
    assert page.status_code == 200 and f"dataset:{dataset.pk}" in page.content.decode()

    response = client.post("/training/jobs/new/", {
        "template": "english_base", "preset": "tiny", "data_en_pretrain": f"dataset:{dataset.pk}",
        "data_en_finetune": f"dataset:{dataset.pk}", "max_steps": 6, "batch_size": 4,
        "nodes": 1, "gpus_per_node": 1, "log_every": 2, "checkpoint_every": 100,
    })  # fmt: skip
    job = TrainingJob.objects.get()
    assert response.status_code == 302 and response.url == f"/training/jobs/{job.pk}/"

    celery_worker_factory(env={"MODEL_ROOT": str(settings.MODEL_ROOT), "TRAINING_THREADS": "1"})
    wait_for(lambda: TrainingJob.objects.get().state not in ("queued", "running"), timeout=120, what="the job to end")
    job.refresh_from_db()
    assert job.state == "done", job.message
    assert (job.attempts, job.stage_index, job.step, job.total_steps) == (1, 2, 6, 6)
    points = list(LossPoint.objects.filter(job=job).values_list("stage_index", "step"))
    assert points == [(0, 2), (0, 4), (0, 6), (1, 2), (1, 4), (1, 6)]
    assert all(p.loss > 0 for p in LossPoint.objects.filter(job=job))
    model, processor = load_model(settings.MODEL_ROOT / job.output_model)
    assert job.output_model == job.stage_models[-1] and model.config.model_type == "llava"

    shown = client.get(f"/training/jobs/{job.pk}/").content.decode()
    assert "done" in shown and job.output_model in shown
    loss = client.get(f"/training/jobs/{job.pk}/loss/?after_id={LossPoint.objects.filter(job=job).first().pk}").json()
    assert len(loss["points"]) == 5 and loss["active"] is False
