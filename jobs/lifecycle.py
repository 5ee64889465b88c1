"""A job's life, the same for every kind: claim, heartbeat, staleness, cancel, requeue,
enqueue on commit, redelivery, recovery at worker start.

Every kind of job (translation jobs, training jobs, evaluation runs, snapshot builds,
studies) keeps its state in its own row. Translation jobs, training jobs and evaluation
runs are `jobs.models.Job` rows, and their modules' claim, cancel and requeue are thin
calls into this one:

- `claim(...)`: a conditional update that takes a queued row, or a running row whose
  heartbeat is older than JOB_STALE_SECONDS (its worker died), and counts the attempt:
  two workers never both win, and the loser's writes (`this_attempt`) match nothing;
- `cancel(...)`: a queued or stalled job stops at once; a running one is asked
  (`cancel_requested`) and its runner stops at its next check;
- `requeue(...)`: a failed, cancelled or stalled job is queued again, and sent once the
  row is committed (`enqueue`).

Three things make a job whose worker died go on without a human:

- `heartbeat(...)`: while a job runs, a thread of its own writes `heartbeat_at` every
  JOB_HEARTBEAT_SECONDS, even through long single steps (loading a 7B model, one big
  engine batch), so JOB_STALE_SECONDS can be tens of seconds, not ten minutes;
- `look_again_later(...)`: a message redelivered while the row still looks alive (Celery
  redelivers a killed worker's message within a fraction of a second) is not dropped:
  the task is sent again to arrive just after the row would be stale, and claims it then;
- `recover_at_worker_start(...)`: each kind registers how to find and requeue its
  stalled rows; a worker that starts runs them all, and once more JOB_STALE_SECONDS
  later for a job whose worker died just before (its heartbeat still looked fresh).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Job, JobState

log = logging.getLogger(__name__)
_recoverers: dict[str, str] = {}


def stale_before(seconds: float | None = None) -> datetime:
    """A running job silent since then lost its worker (settings read at call time: tests lower it).
    A kind whose heartbeat comes less often (a study's, once a round) says after how long."""
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS if seconds is None else seconds)


def stalled(running: str = JobState.RUNNING, *, seconds: float | None = None) -> Q:
    """Rows a worker holds (`running`: a snapshot build says "building") but no longer beats for."""
    stale = stale_before(seconds)
    return Q(state=running) & (Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale))


def claimable(running: str = JobState.RUNNING) -> Q:
    """Rows a worker may take: queued, or held by a worker that died."""
    return Q(state=JobState.QUEUED) | stalled(running)


def claim(rows: QuerySet, pk: int, **fields: Any) -> tuple[bool, Any]:
    """Take a job for a new attempt (a conditional update: two workers never both win);
    `fields` are written with the claim. `started_at` is the first attempt's start unless
    a kind writes its own. Returns (claimed, the row as it is now, read from `rows`)."""
    now = timezone.now()
    claimed = rows.model.objects.filter(claimable(), pk=pk).update(
        state=JobState.RUNNING, heartbeat_at=now, attempts=F("attempts") + 1, message="", **fields
    )
    if claimed and "started_at" not in fields:
        rows.model.objects.filter(pk=pk, started_at=None).update(started_at=now)
    return bool(claimed), rows.get(pk=pk)


def this_attempt(job: Job) -> QuerySet:
    """The job's row while this attempt holds it: once another worker took it over (this
    one looked dead), or it was stopped, the attempt's writes match nothing."""
    return type(job).objects.filter(pk=job.pk, attempts=job.attempts, state=JobState.RUNNING)


def finish(job: Job, state: str, **fields: Any) -> int:
    """End this attempt in `state` (done, failed, cancelled), with `fields`."""
    now = timezone.now()
    return this_attempt(job).update(state=state, finished_at=now, heartbeat_at=now, **fields)


def cancel(job: Job) -> bool:
    """Stop a job: a queued (or stalled) one at once; a running one when its runner next
    reads `cancel_requested`. False when there is nothing to stop."""
    rows = type(job).objects.filter(pk=job.pk)
    with transaction.atomic():
        at_once = rows.filter(claimable()).update(
            state=JobState.CANCELLED, cancel_requested=True, finished_at=timezone.now()
        )
        asked = rows.filter(state=JobState.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return bool(at_once or asked)


def requeue(job: Job, *, send: Callable[[Any], None], refuse: Callable[[str], Exception], **fields: Any) -> Any:
    """Queue a failed, cancelled or stalled job again (with `fields` changed) and `send` it
    once committed; it resumes where it stopped. Anything else raises `refuse(message)`."""
    stopped = Q(state__in=[JobState.FAILED, JobState.CANCELLED]) | stalled()
    with transaction.atomic():
        updated = type(job).objects.filter(stopped, pk=job.pk).update(
            state=JobState.QUEUED, cancel_requested=False, message="", finished_at=None, **fields
        )
        job.refresh_from_db()
        if not updated:
            raise refuse(f"{job.noun} {job.pk} is {job.state}; only failed, cancelled or stalled {job.noun}s can be requeued")
        send(job)
    return job


def enqueue(task: str, *args: Any, queue: str | None = None) -> None:
    """Send `task(*args)` to `queue` (else its route) once the current transaction commits
    (at once outside one): a worker never looks for a row that is not there yet.

    `task` is the Celery task's name, its dotted path (`translation.tasks.run_translation_job`),
    resolved when the message is sent: a kind's services module sends its task by name and
    never imports the tasks module, which imports it (docs/architecture.md, Layers)."""
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: import_string(task).apply_async(args=list(args), **options))


@contextmanager
def heartbeat(rows: Callable[[], Any], *, name: str) -> Iterator[None]:
    """Write `heartbeat_at` on `rows()` (a queryset: the job's row while it is still this
    attempt's) every JOB_HEARTBEAT_SECONDS, from a thread with its own database connection.

    The job's own thread may be inside a long query, an engine call or a model load; this
    one still beats, and dies with the process when a worker is killed."""
    stop = threading.Event()
    interval = min(settings.JOB_HEARTBEAT_SECONDS, max(0.2, settings.JOB_STALE_SECONDS / 4))

    def beat() -> None:
        try:
            while not stop.wait(interval):
                rows().update(heartbeat_at=timezone.now())
        except Exception:  # a beat that cannot write must not kill the job; staleness will tell
            log.exception("%s: heartbeat stopped", name)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=beat, name=f"{name}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def requeue_stalled(rows: Any, requeue: Callable[[Any], Any], still_alive: type[Exception]) -> list[int]:
    """Requeue the rows of `rows` (a queryset) that run with a stale heartbeat; their ids.

    `requeue` is the kind's own (it refuses, raising `still_alive`, a row that wrote a
    heartbeat between this query and its update: alive after all)."""
    recovered = []
    for row in rows.filter(stalled()):
        try:
            requeue(row)
        except still_alive:
            continue
        recovered.append(row.pk)
    return recovered


def look_again_later(task: Any, args: list[Any], *, queue: str | None = None) -> None:
    """Send `task` again to arrive just after a row that still looks alive would be stale."""
    task.apply_async(args=args, countdown=settings.JOB_STALE_SECONDS + 1, **({"queue": queue} if queue else {}))


def recover_at_worker_start(kind: str, recover: str) -> None:
    """Register how a kind of job finds and requeues its stalled rows: the dotted path of a
    function returning their ids, imported when it runs (a tasks module stays light)."""
    _recoverers[kind] = recover


def run_or_look_again(task: Any, run: Callable[[int], Any], job_id: int, *, running: str = "running",
                      queue: str | None = None) -> None:  # fmt: skip
    """A job task's body: `run` claims and runs the job. A message redelivered while the row
    still looks alive (its claim refused) is sent again for when the row would be stale."""
    job = run(job_id)
    if job.state == running:
        look_again_later(task, [job_id], queue=queue or job.queue)


@shared_task(ignore_result=True)
def recover_stalled_jobs() -> dict[str, list[int]]:
    recovered = {}
    for kind, recover in _recoverers.items():
        try:
            ids = import_string(recover)()
        except Exception:  # one kind's failure must not stop the others' recovery
            log.exception("recovering stalled %s failed", kind)
            continue
        if ids:
            log.warning("requeued stalled %s %s", kind, ids)
            recovered[kind] = ids
    return recovered


@worker_ready.connect
def _recover_when_a_worker_starts(**_kwargs: Any) -> None:
    """The broker would redeliver a dead worker's messages only after its visibility timeout
    (an hour on Redis; never on the filesystem broker): a starting worker recovers now, and
    looks again once a job whose worker died just before this start has gone stale."""
    try:
        recover_stalled_jobs()
        recover_stalled_jobs.apply_async(countdown=settings.JOB_STALE_SECONDS + 1)
    finally:
        connections.close_all()  # the pool's processes must not share this connection
