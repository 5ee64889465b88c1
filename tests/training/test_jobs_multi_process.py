"""A job asking for 2 GPUs runs under torchrun as two processes (gloo on CPUs here; NCCL on
GPUs): each trains half of every batch with gradients averaged, rank 0 alone writes the
row, so the job ends done with one loss point per logged step and a loadable model."""

from __future__ import annotations

import pytest
from child_processes import database_url
from jobs_world import english_dataset
from training.job_runner import run_job
from training.jobs import create_training_job, model_path
from training.presets import load_model

pytestmark = pytest.mark.django_db(transaction=True)  # the torchrun processes read the committed row


def test_a_two_process_job_trains_and_reports_once(tmp_path, settings, monkeypatch):
    settings.MODEL_ROOT = tmp_path / "models"
    monkeypatch.setenv("MODEL_ROOT", str(settings.MODEL_ROOT))
    monkeypatch.setenv("TRAINING_DISTRIBUTED_CPU", "1")
    monkeypatch.setenv("TRAINING_THREADS", "1")
    monkeypatch.setenv("DATABASE_URL", database_url())  # the processes must see this test's database
    english = english_dataset(tmp_path / "data")
    job = create_training_job(
        template="english_base", data={"en_pretrain": english, "en_finetune": english}, gpus_per_node=2, log_every=1,
        overrides={"max_steps": 3, "batch_size": 4}, enqueue=False,
    )  # fmt: skip
    job = run_job(job.pk)
    assert job.state == "done", job.message
    steps = list(job.loss_points.values_list("stage_index", "step"))
    assert steps == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]
    assert job.attempts == 1 and len(job.stage_models) == 2
    model, processor = load_model(model_path(job.output_model))
    assert processor.tokenizer is not None and sum(p.numel() for p in model.parameters()) > 0
