"""Celery tasks of the training app, on the `gpu` queue (settings.CELERY_TASK_ROUTES).

Thin by design: each task hands the row's id to its runner, which claims the row, so
a message redelivered after a worker died resumes the job instead of starting it twice.
"""

from __future__ import annotations

import logging

from celery import shared_task

from jobs.lifecycle import look_again_later, recover_at_worker_start

log = logging.getLogger(__name__)


@recover_at_worker_start("training jobs")
def _recover_training_jobs() -> list[int]:
    from .jobs import recover_stalled_jobs

    return recover_stalled_jobs()


@recover_at_worker_start("evaluation runs")
def _recover_evaluation_runs() -> list[int]:
    from .evaluation import recover_stalled_runs

    return recover_stalled_runs()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_job(job_id: int) -> None:
    from .jobs import run_job

    job = run_job(job_id)
    if job.state == job.State.RUNNING:  # a redelivered message while the row still looks alive
        look_again_later(run_training_job, [job_id], queue=job.queue)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_node(self, job_id: int, index: int) -> None:
    """One machine of a multi-node job (training/nodes.py)."""
    from .nodes import run_node

    run_node(job_id, index, worker=self.request.hostname or "")


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_evaluation(run_id: int) -> None:
    from .evaluation import run_evaluation as run

    done = run(run_id)
    if done.state == done.State.RUNNING:  # a redelivered message while the row still looks alive
        look_again_later(run_evaluation, [run_id], queue=done.queue)
