"""Building snapshots: the one place that writes FilterRule and Snapshot rows and export files.

`request_snapshot` stores a queued snapshot (one per rule and format at a time: the
partial unique constraint `snapshot_one_active_build` turns a second concurrent
request into the first one's job) and sends the Celery task on commit. `run_build`
claims it with a conditional update, has writing.py stream the rule's rows into the
file and the frozen item list (constant memory; on PostgreSQL through COPY, with the
records written by the database, query.py), and records the sha256, counts and
balance report. A built snapshot is never written again.

A build writes `heartbeat_at` every few seconds from a thread of its own (jobs/lifecycle.py).
One whose heartbeat is older than settings.JOB_STALE_SECONDS lost its worker: a redelivered
task message (sent again once the row is stale) or a starting worker builds it again, and
the next request for its rule marks it failed (saying so) and queues a new build, so a
killed worker never blocks a rule for good.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.errors import FieldError
from jobs import lifecycle
from jobs.lifecycle import heartbeat

from .formats import FORMATS, FormatError
from .grades_behind import grades_behind, injected_kept
from .models import FilterRule, Snapshot
from .query import candidate_sql, selects_any
from .rules import RuleError, RuleSpec, parse_rule
from .writing import write_export

__all__ = ["ExportError", "candidate_sql", "create_rule", "request_snapshot", "rule_spec", "run_build", "snapshot_path"]


class ExportError(FieldError, ValueError):
    """A snapshot cannot be built as asked; `field` names the request field at fault, if any."""


# --- rules -------------------------------------------------------------------------------


@transaction.atomic
def create_rule(name: str, spec: Any, *, created_by=None) -> FilterRule:
    """Validate and store a rule; RuleError names the bad field, ExportError a taken name."""
    parsed = parse_rule(spec)
    if FilterRule.objects.filter(name=name).exists():
        raise ExportError(f"a rule named {name!r} exists already; rules are immutable, pick another name", "name")
    return FilterRule.objects.create(name=name, spec=parsed.as_dict(), digest=parsed.digest, created_by=created_by)


def rule_spec(rule: FilterRule) -> RuleSpec:
    return parse_rule(rule.spec)


# --- snapshots -----------------------------------------------------------------------------


def request_snapshot(rule: FilterRule, format: str, *, created_by=None, enqueue: bool = True) -> tuple[Snapshot, bool]:
    """A queued snapshot of the rule, or the one already queued/building (created=False)."""
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r}; expected one of: {', '.join(FORMATS)}", "format")
    spec = rule_spec(rule)
    recover_stalled(rule, format)
    active = Snapshot.objects.filter(rule=rule, format=format, state__in=Snapshot.ACTIVE_STATES).first()
    if active is not None:
        return active, False
    found, seen = selects_any(spec)
    if not found:
        scope = f"{seen} translation(s) in its scope" if seen else "no translation in its scope (datasets, splits, task types, engine)"
        raise ExportError(
            f"rule {rule.name!r} selects nothing: {scope}"
            + (f", none reaches min_grade={spec.min_grade} with unaudited={spec.unaudited}" if seen else "")
            + "; no snapshot was made",
            "rule",
            status=422,
        )
    try:
        with transaction.atomic():
            snapshot = Snapshot.objects.create(rule=rule, rule_spec=rule.spec, format=format, created_by=created_by)
            if enqueue:
                _enqueue(snapshot)
    except IntegrityError:
        # Another request queued this rule and format between our check and our insert.
        active = Snapshot.objects.filter(rule=rule, format=format, state__in=Snapshot.ACTIVE_STATES).first()
        if active is None:
            raise
        return active, False
    return snapshot, True


def recover_stalled(rule: FilterRule, format: str) -> int:
    """Mark the rule's builds whose worker stopped as failed, so a new build may start."""
    return Snapshot.objects.filter(lifecycle.stalled(Snapshot.State.BUILDING), rule=rule, format=format).update(
        state=Snapshot.State.FAILED, finished_at=timezone.now(),
        message=f"the build stalled: no heartbeat from its worker for over {settings.JOB_STALE_SECONDS} s "
                "(the worker was stopped or lost); a new request builds it again",
    )  # fmt: skip


def recover_stalled_builds() -> list[int]:
    """Send stalled builds to a worker again (jobs/lifecycle.py runs this when a worker starts):
    run_build claims a building row whose heartbeat stopped, and builds it from the start."""
    stalled = list(Snapshot.objects.filter(lifecycle.stalled(Snapshot.State.BUILDING)).values_list("pk", flat=True))
    for pk in stalled:
        _enqueue(Snapshot(pk=pk))
    return stalled


def _enqueue(snapshot: Snapshot) -> None:
    """By the task's name: exports/tasks.py imports this module, never the reverse."""
    lifecycle.enqueue("exports.tasks.build_snapshot", snapshot.pk, queue="default")


def snapshot_path(relative: str) -> Path:
    return Path(settings.EXPORT_ROOT) / relative


def run_build(snapshot_id: int) -> Snapshot:
    """Build a queued snapshot (inline, or in the Celery task). A second worker finds it taken."""
    now = timezone.now()
    # Queued, or building with a dead worker (a redelivered message after a kill). A build
    # starts from scratch, and a snapshot counts no attempts: not lifecycle.claim's update.
    claimed = Snapshot.objects.filter(lifecycle.claimable(Snapshot.State.BUILDING), pk=snapshot_id).update(
        state=Snapshot.State.BUILDING, started_at=now, heartbeat_at=now
    )
    snapshot = Snapshot.objects.select_related("rule").get(pk=snapshot_id)
    if not claimed:
        return snapshot
    mine = lambda: Snapshot.objects.filter(pk=snapshot_id, state=Snapshot.State.BUILDING)  # noqa: E731
    # The build holds its own connection in one long query; the heartbeat writes from a thread.
    with heartbeat(mine, name=f"snapshot-{snapshot_id}"):
        if settings.EXPORT_BUILD_DELAY_SECONDS:
            time.sleep(settings.EXPORT_BUILD_DELAY_SECONDS)
        return _build(snapshot)


def _build(snapshot: Snapshot) -> Snapshot:
    spec = parse_rule(snapshot.rule_spec)
    extension = "jsonl" if snapshot.format == "jsonl" else "json"
    relative = f"snapshots/snapshot-{snapshot.pk}.{extension}"
    target = snapshot_path(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = write_export(spec, snapshot.format, target, rule_digest=snapshot.rule.digest)
    except (FormatError, RuleError, ExportError) as exc:
        return _finish(snapshot, Snapshot.State.FAILED, message=str(exc))
    except Exception as exc:
        _finish(snapshot, Snapshot.State.FAILED, message=f"{type(exc).__name__}: {exc}")
        raise
    if result.item_count == 0:
        for path in (target, target.with_suffix(".items")):
            path.unlink(missing_ok=True)
        return _finish(snapshot, Snapshot.State.FAILED, message=f"rule {snapshot.rule.name!r} selects nothing; no snapshot was made")
    for path in (target, target.with_suffix(".items")):
        os.chmod(path, 0o444)  # frozen: the file a training job read stays the file it read
    counts = {k: dict(sorted(v.items())) for k, v in result.counts.items()}
    counts["grades"] = grades_behind(target.with_suffix(".items"), counts)  # people's and simulated
    counts["injected"] = injected_kept(target.with_suffix(".items"))  # errors put in on purpose, per kind
    return _finish(
        snapshot, Snapshot.State.DONE, file=relative, items_file=str(Path(relative).with_suffix(".items")),
        sha256=result.sha256, size_bytes=result.size_bytes, item_count=result.item_count,
        counts=counts, balance=result.balance,
    )  # fmt: skip


@transaction.atomic
def _finish(snapshot: Snapshot, state: str, **fields: Any) -> Snapshot:
    Snapshot.objects.filter(pk=snapshot.pk, state=Snapshot.State.BUILDING).update(
        state=state, finished_at=timezone.now(), **fields
    )
    snapshot.refresh_from_db()
    return snapshot


