"""The study's one task: advance it, then look again in a few seconds until it is done.

It runs on the `default` queue and never waits on a job inside a task, so a single
worker with concurrency 1 (the embedded default) runs the study and its jobs in turn.
"""

from __future__ import annotations

from celery import shared_task

from jobs import lifecycle
from jobs.lifecycle import recover_at_worker_start

from .models import Study
from .pipeline import advance

POLL_SECONDS = 2.0


def resume_studies() -> list[int]:
    """A worker that starts picks up studies left queued or running: the countdown message
    of a stopped worker is gone (the filesystem broker never redelivers it). Two chains
    are harmless: each round claims the study first (pipeline.advance)."""
    studies = list(Study.objects.filter(state__in=[Study.State.QUEUED, Study.State.RUNNING]).values_list("pk", flat=True))
    for pk in studies:
        lifecycle.enqueue("study.tasks.advance_study", pk)
    return studies


def enqueue(study) -> None:
    """Start the study's chain of `advance_study` rounds once its row is committed."""
    lifecycle.enqueue("study.tasks.advance_study", study.pk)


recover_at_worker_start("studies", "study.tasks.resume_studies")


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def advance_study(study_id: int) -> None:
    study = Study.objects.get(pk=study_id)
    if not advance(study):
        advance_study.apply_async(args=[study_id], countdown=POLL_SECONDS)
