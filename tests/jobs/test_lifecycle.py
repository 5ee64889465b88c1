"""The one job lifecycle (jobs/lifecycle.py), the same for every kind of job row: a claim
that one worker wins and that takes over a stalled row, cancel, requeue, each through the
kind's own public functions, so a fix to any of them is made once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from campaign_world import make_dataset

from api.errors import FieldError
from evaluation import services as evaluation
from evaluation import tasks as evaluation_tasks
from evaluation.models import EvaluationRun
from jobs import lifecycle
from training import jobs
from training import tasks as training_tasks
from training.models import TrainingJob
from translation import services
from translation import tasks as translation_tasks
from translation.models import TranslationJob

pytestmark = pytest.mark.django_db


def translation_job(tmp_path):
    return TranslationJob.objects.create(dataset=make_dataset(2, image_root=tmp_path), engine="apertium")


def training_job(tmp_path):
    return TrainingJob.objects.create(template="english_base", stages=[])


def evaluation_run(tmp_path):
    return EvaluationRun.objects.create(model_path="tiny", benchmark="pope", split="random")


# Each kind: how to make a queued row, its module's cancel and requeue, and the task a requeue sends.
KINDS = {
    "translation job": (translation_job, services.cancel, services.requeue, translation_tasks.run_translation_job),
    "training job": (training_job, jobs.cancel, jobs.requeue, training_tasks.run_training_job),
    "evaluation run": (evaluation_run, evaluation.cancel, evaluation.requeue, evaluation_tasks.run_evaluation),
}


@pytest.fixture(params=list(KINDS))
def kind(request, tmp_path, monkeypatch):
    make, cancel, requeue, task = KINDS[request.param]
    sent: list[list] = []
    monkeypatch.setattr(task, "apply_async", lambda args, **options: sent.append(args))
    return make(tmp_path), cancel, requeue, sent


def stall(job) -> None:
    """The job's worker died a while ago: running, with a heartbeat older than JOB_STALE_SECONDS."""
    type(job).objects.filter(pk=job.pk).update(state="running", heartbeat_at=lifecycle.stale_before() - timedelta(seconds=1))
    job.refresh_from_db()


def test_two_workers_claim_a_queued_job_and_one_wins(kind):
    job, *_ = kind
    rows = type(job).objects.all()
    first, taken = lifecycle.claim(rows, job.pk)
    second, seen = lifecycle.claim(rows, job.pk)
    assert (first, second) == (True, False)
    assert seen.state == "running" and seen.attempts == 1 and seen.started_at is not None


def test_a_stalled_job_is_taken_over_and_the_dead_attempt_writes_nothing(kind):
    job, *_ = kind
    rows = type(job).objects.all()
    _, dead = lifecycle.claim(rows, job.pk)
    assert lifecycle.claim(rows, job.pk)[0] is False  # alive: its heartbeat is fresh
    stall(dead)
    claimed, alive = lifecycle.claim(rows, job.pk)
    assert claimed and alive.attempts == 2
    # The first worker comes back to life: its heartbeat and its end match nothing.
    assert lifecycle.this_attempt(dead).update(heartbeat_at=None) == 0
    assert lifecycle.finish(dead, "failed", message="late") == 0
    assert lifecycle.finish(alive, "done") == 1
    alive.refresh_from_db()
    assert alive.state == "done" and alive.message == "" and alive.finished_at is not None


def test_cancel_stops_a_queued_or_stalled_job_at_once_and_asks_a_running_one(kind):
    job, cancel, *_ = kind
    assert cancel(job) and job.state == "cancelled" and job.cancel_requested
    assert not cancel(job)  # nothing left to stop

    type(job).objects.filter(pk=job.pk).update(state="queued", cancel_requested=False)
    lifecycle.claim(type(job).objects.all(), job.pk)
    assert cancel(job) and job.state == "running" and job.cancel_requested  # its runner stops it

    stall(job)
    assert cancel(job) and job.state == "cancelled"


def test_requeue_sends_a_stopped_or_stalled_job_and_refuses_the_others_saying_why(kind, django_capture_on_commit_callbacks):
    job, _, requeue, sent = kind
    for state in ("queued", "done"):
        type(job).objects.filter(pk=job.pk).update(state=state)
        with pytest.raises(FieldError) as refused:
            requeue(job)
        assert refused.value.field == "state"
        noun = job.noun  # "job", or "run" for an evaluation
        assert f"{noun} {job.pk} is {state}; only failed, cancelled or stalled {noun}s can be requeued" in str(refused.value)
    type(job).objects.filter(pk=job.pk).update(state="queued")
    lifecycle.claim(type(job).objects.all(), job.pk)
    with pytest.raises(FieldError, match="is running"):
        requeue(job)  # alive
    assert sent == []

    for stop in ("failed", "cancelled", "stalled"):
        if stop == "stalled":
            stall(job)
        else:
            type(job).objects.filter(pk=job.pk).update(state=stop, cancel_requested=True, message="it broke")
        before = len(sent)
        with django_capture_on_commit_callbacks(execute=True):
            requeue(job)
            assert len(sent) == before  # sent once the row is committed, not before
        job.refresh_from_db()
        assert (job.state, job.cancel_requested, job.message, job.finished_at) == ("queued", False, "", None)
    assert sent == [[job.pk]] * 3
