"""Celery tasks of the exports app: building snapshots (exports/build.py)."""

from __future__ import annotations

from celery import shared_task

from jobs.lifecycle import recover_at_worker_start, run_or_look_again

from .build import run_build
from .models import Snapshot

recover_at_worker_start("snapshot builds", "exports.build.recover_stalled_builds")


# Sent under the name it had in audit, so a build queued by a web process of the previous
# layout still runs on a new worker (and one queued by a new web process on an old worker).
@shared_task(name="audit.tasks.build_snapshot", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_snapshot(snapshot_id: int) -> None:
    """Build one snapshot. The claim in run_build makes a message redelivered while the
    build still looks alive a no-op; it looks again once that build would be stale."""
    run_or_look_again(build_snapshot, run_build, snapshot_id, running=Snapshot.State.BUILDING, queue="default")
