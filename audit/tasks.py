"""Celery tasks of the audit app: building export snapshots (audit/export/build.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_snapshot(snapshot_id: int) -> None:
    """Build one snapshot; the claim in run_build makes a redelivered message a no-op."""
    from .export.build import run_build

    run_build(snapshot_id)
