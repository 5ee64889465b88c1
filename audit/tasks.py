"""Celery tasks of the audit app: building export snapshots (audit/export/build.py)."""

from __future__ import annotations

from celery import shared_task

from jobs.lifecycle import recover_at_worker_start, run_or_look_again

from .export.build import run_build
from .models import Snapshot

recover_at_worker_start("snapshot builds", "audit.export.build.recover_stalled_builds")


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_snapshot(snapshot_id: int) -> None:
    """Build one snapshot. The claim in run_build makes a message redelivered while the
    build still looks alive a no-op; it looks again once that build would be stale."""
    run_or_look_again(build_snapshot, run_build, snapshot_id, running=Snapshot.State.BUILDING, queue="default")
