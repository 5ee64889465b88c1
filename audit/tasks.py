"""Celery tasks of the audit app: building export snapshots (audit/export/build.py)."""

from __future__ import annotations

from celery import shared_task

from jobs.lifecycle import look_again_later, recover_at_worker_start


@recover_at_worker_start("snapshot builds")
def _recover() -> list[int]:
    from .export.build import recover_stalled_builds

    return recover_stalled_builds()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_snapshot(snapshot_id: int) -> None:
    """Build one snapshot. The claim in run_build makes a message redelivered while the
    build still looks alive a no-op; it looks again once that build would be stale."""
    from .export.build import run_build

    snapshot = run_build(snapshot_id)
    if snapshot.state == snapshot.State.BUILDING:
        look_again_later(build_snapshot, [snapshot_id], queue="default")
