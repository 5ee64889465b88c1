"""Celery tasks of the translation app. The queue is chosen per job when it is sent
(`services.queue_for`: GPU engines go to `gpu`), so one task serves both queues."""

from __future__ import annotations

import gc

from celery import shared_task
from celery.signals import worker_process_init

from jobs.lifecycle import recover_at_worker_start, run_or_look_again

from .checks import detect_language
from .services import run_job


@worker_process_init.connect
def warm_up(**_kwargs) -> None:
    """Load the language identifier's model (seconds) when a worker starts, not in a job.
    What is loaded by then (Django, the model) lives as long as the worker: frozen, the
    cyclic collector's full passes no longer walk it."""
    detect_language("Une phrase pour charger le modèle.")
    gc.freeze()


recover_at_worker_start("translation jobs", "translation.services.recover_stalled_jobs")


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_translation_job(job_id: int) -> None:
    run_or_look_again(run_translation_job, run_job, job_id)
