"""Celery tasks of the training app, on the `gpu` queue (settings.CELERY_TASK_ROUTES).

Thin by design: each task hands the row's id to its runner, which claims the row, so
a message redelivered after a worker died resumes the job instead of starting it twice.
"""

from __future__ import annotations

import logging

from celery import shared_task

from jobs.lifecycle import recover_at_worker_start, run_or_look_again

from .nodes import run_node

log = logging.getLogger(__name__)


recover_at_worker_start("training jobs", "training.jobs.recover_stalled_jobs")


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_job(job_id: int) -> None:
    # Imported here, not above: the runner pulls in torch, which a `default` worker (it
    # imports every tasks module) and the web process never load.
    from .job_runner import run_job

    run_or_look_again(run_training_job, run_job, job_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training_node(self, job_id: int, index: int) -> None:
    """One machine of a multi-node job (training/nodes.py)."""
    run_node(job_id, index, worker=self.request.hostname or "")
