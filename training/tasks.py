"""Celery tasks of the training app, on the `gpu` queue (settings.CELERY_TASK_ROUTES).

Thin by design: each task hands the row's id to its runner, which claims the row, so
a message redelivered after a worker died resumes the job instead of starting it twice.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_job(job_id: int) -> None:
    from .jobs import run_job

    run_job(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_evaluation(run_id: int) -> None:
    from .evaluation import run_evaluation as run

    run(run_id)
