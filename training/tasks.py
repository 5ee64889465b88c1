"""Celery tasks of the training app, on the `gpu` queue (settings.CELERY_TASK_ROUTES).

Thin by design: each task hands the row's id to its runner, which claims the row, so
a message redelivered after a worker died resumes the job instead of starting it twice.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

log = logging.getLogger(__name__)


@worker_ready.connect
def recover_stalled_training_jobs(**_kwargs) -> None:
    """Requeue training jobs orphaned by a dead worker as soon as a worker is up: the
    broker would redeliver their messages only after its visibility timeout (an hour).

    A job whose worker died just before this one started still looks alive (its last
    progress is younger than JOB_STALE_SECONDS), so a second look is queued for when it
    would be stale: a worker restarted at once after a crash recovers the job too.
    """
    from django.conf import settings
    from django.db import connections

    try:
        recover_training_jobs()
        recover_training_jobs.apply_async(countdown=settings.JOB_STALE_SECONDS + 1)
    finally:
        connections.close_all()  # the pool's processes must not share this connection


@shared_task(ignore_result=True)
def recover_training_jobs() -> None:
    from .jobs import recover_stalled_jobs

    recovered = recover_stalled_jobs()
    if recovered:
        log.warning("requeued stalled training jobs %s", recovered)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_job(job_id: int) -> None:
    from .jobs import run_job

    run_job(job_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_node(self, job_id: int, index: int) -> None:
    """One machine of a multi-node job (training/nodes.py)."""
    from .nodes import run_node

    run_node(job_id, index, worker=self.request.hostname or "")


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_evaluation(run_id: int) -> None:
    from .evaluation import run_evaluation as run

    run(run_id)
