"""A job on two "nodes": two Celery workers, one process each (gloo on CPUs), one torchrun rendezvous.

It trains to the end with one loss point per step and shows both nodes; with one
worker only, it fails naming the node that never joined; when one node dies mid-job,
it fails naming that node, and a requeue on the machine left resumes from the last
checkpoint (written by two ranks, read by one) and finishes.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from jobs_world import english_dataset

from training.jobs import create_training_job, requeue
from training.models import LossPoint, TrainingJob, TrainingNode

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
JOIN_TIMEOUT = 25


@pytest.fixture
def node_env(settings, tmp_path) -> dict[str, str]:
    settings.MODEL_ROOT = tmp_path / "models"
    return {
        "MODEL_ROOT": str(settings.MODEL_ROOT), "TRAINING_THREADS": "1", "TRAINING_DISTRIBUTED_CPU": "1",
        "TRAINING_RENDEZVOUS_HOST": "127.0.0.1", "TRAINING_RENDEZVOUS_TIMEOUT": str(JOIN_TIMEOUT),
    }  # fmt: skip


def two_node_job(tmp_path: Path, *, steps: int, checkpoint_every: int = 100) -> TrainingJob:
    english = english_dataset(tmp_path / "data")
    return create_training_job(
        template="english_base", data={"en_pretrain": english, "en_finetune": english}, nodes=2, gpus_per_node=1,
        overrides={"max_steps": steps, "batch_size": 4}, log_every=1, checkpoint_every=checkpoint_every,
    )  # fmt: skip


def state(job: TrainingJob) -> str:
    return TrainingJob.objects.get(pk=job.pk).state


def test_two_workers_train_one_job_as_two_nodes(tmp_path, node_env, celery_worker_factory, wait_for, client,
                                                django_user_model) -> None:  # fmt: skip
    job = two_node_job(tmp_path, steps=3)
    celery_worker_factory(env=node_env)
    celery_worker_factory(env=node_env)
    wait_for(lambda: state(job) not in ("queued", "running"), timeout=240, what="the two-node job to end")
    job.refresh_from_db()
    assert job.state == "done", job.message
    finished = TrainingNode.objects.filter(job=job, attempt=1, state="done")
    wait_for(lambda: finished.count() == 2, timeout=30, what="both nodes' tasks to see their processes end")
    nodes = list(TrainingNode.objects.filter(job=job, attempt=1))
    assert [(n.index, n.state) for n in nodes] == [(0, "done"), (1, "done")]
    assert len({n.worker for n in nodes}) == 2 and sorted(n.first_rank for n in nodes) == [0, 1]
    assert list(LossPoint.objects.filter(job=job).values_list("stage_index", "step")) == [
        (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]  # fmt: skip
    assert (Path(node_env["MODEL_ROOT"]) / job.output_model / "config.json").exists()
    admin = django_user_model.objects.create_superuser("boss", "b@example.org", "pw")
    client.force_login(admin)
    page = client.get(f"/training/jobs/{job.pk}/").content.decode()
    assert "2 nodes × 1 GPU" in page and 'data-node="1"' in page and "(2 ranks)" in page


def test_a_node_that_never_arrives_fails_the_job_naming_it(tmp_path, node_env, celery_worker_factory,
                                                          wait_for) -> None:  # fmt: skip
    job = two_node_job(tmp_path, steps=3)
    celery_worker_factory(env=node_env)  # one machine only
    wait_for(lambda: state(job) == "failed", timeout=JOIN_TIMEOUT + 120, what="the job to fail")
    job.refresh_from_db()
    assert f"node 1 of 2 never joined within {JOIN_TIMEOUT} s" in job.message
    assert "queue 'gpu'" in job.message


def training_processes(job: TrainingJob, node: int) -> list[int]:
    """PIDs of the training processes torchrun started for one node (they run in their own sessions)."""
    wanted = ["training.distributed", str(job.pk), str(job.attempts), str(node)]
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and argv[-5:-1] == wanted:
            found.append(int(entry.name))
    return found


def test_a_killed_node_fails_the_job_and_a_requeue_on_the_machine_left_resumes_it(
    tmp_path, node_env, celery_worker_factory, wait_for
) -> None:
    job = two_node_job(tmp_path, steps=60, checkpoint_every=4)
    workers = {f"test{i}": celery_worker_factory(env=node_env) for i in range(2)}
    wait_for(lambda: TrainingJob.objects.get(pk=job.pk).checkpoint, timeout=240, what="a first checkpoint")
    job.refresh_from_db()
    victim = TrainingNode.objects.get(job=job, attempt=job.attempts, index=1)
    worker = workers[victim.worker.split("@")[0]]
    # The machine dies: its worker, its torchrun agent and its training process.
    os.killpg(worker.pid, signal.SIGKILL)
    for pid in training_processes(job, 1):
        os.kill(pid, signal.SIGKILL)
    worker.wait()
    wait_for(lambda: state(job) == "failed", timeout=120, what="the job to fail")
    job.refresh_from_db()
    assert f"node 1 ({victim.worker}) stopped answering" in job.message, job.message
    kept_stage, kept = job.stage_index, int(job.checkpoint.rsplit("-", 1)[1])
    assert kept >= 4
    requeue(job, nodes=1)  # the machine left takes it alone: the 2-rank checkpoint is resharded to 1
    wait_for(lambda: state(job) not in ("queued", "running"), timeout=240, what="the resumed job to end")
    job.refresh_from_db()
    assert job.state == "done", job.message
    assert job.attempts == 2 and job.nodes == 1
    steps = list(LossPoint.objects.filter(job=job, stage_index=kept_stage).values_list("step", flat=True))
    assert steps == list(range(1, 61))  # none missing or doubled across the two attempts


def test_cancel_stops_every_node(tmp_path, node_env, celery_worker_factory, wait_for) -> None:
    from training.jobs import cancel

    job = two_node_job(tmp_path, steps=400)
    celery_worker_factory(env=node_env)
    celery_worker_factory(env=node_env)
    wait_for(lambda: TrainingJob.objects.get(pk=job.pk).step >= 2, timeout=240, what="the job to train")
    job.refresh_from_db()
    assert cancel(job)
    stopped = TrainingNode.objects.filter(job=job, attempt=1, state="cancelled")
    wait_for(lambda: stopped.count() == 2, timeout=60, what="both nodes to stop")
    job.refresh_from_db()
    assert job.state == "cancelled" and job.step < 400
    assert training_processes(job, 0) == training_processes(job, 1) == []
