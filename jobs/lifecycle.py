"""The parts of a job's life every kind shares: heartbeat, staleness, redelivery, recovery at worker start.

Every kind of job (translation jobs, training jobs, evaluation runs, snapshot builds,
studies) keeps its state in its own row and is claimed by a conditional update that
also accepts a running row whose heartbeat is older than JOB_STALE_SECONDS: its worker
died. Three things make such a job go on without a human:

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
from django.db import connections
from django.utils import timezone

log = logging.getLogger(__name__)
_recoverers: dict[str, Callable[[], list[int]]] = {}


def stale_before() -> datetime:
    """A running job silent since then lost its worker (settings read at call time: tests lower it)."""
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)


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
    for row in rows.filter(state="running", heartbeat_at__lt=stale_before()):
        try:
            requeue(row)
        except still_alive:
            continue
        recovered.append(row.pk)
    return recovered


def look_again_later(task: Any, args: list[Any], *, queue: str | None = None) -> None:
    """Send `task` again to arrive just after a row that still looks alive would be stale."""
    task.apply_async(args=args, countdown=settings.JOB_STALE_SECONDS + 1, **({"queue": queue} if queue else {}))


def recover_at_worker_start(kind: str) -> Callable[[Callable[[], list[int]]], Callable[[], list[int]]]:
    """Register how a kind of job finds and requeues its stalled rows (returns their ids)."""

    def register(recover: Callable[[], list[int]]) -> Callable[[], list[int]]:
        _recoverers[kind] = recover
        return recover

    return register


@shared_task(ignore_result=True)
def recover_stalled_jobs() -> dict[str, list[int]]:
    recovered = {}
    for kind, recover in _recoverers.items():
        try:
            ids = recover()
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
