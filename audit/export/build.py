"""Building snapshots: the one place that writes FilterRule and Snapshot rows and export files.

`request_snapshot` stores a queued snapshot (one per rule and format at a time: the
partial unique constraint `snapshot_one_active_build` turns a second concurrent
request into the first one's job) and sends the Celery task on commit. `run_build`
claims it with a conditional update, streams the rule's candidates out of one query
(a server-side cursor on PostgreSQL, constant memory), decides each with the pure
`rules.decide`, writes the file and the frozen item list, and records the sha256,
counts and balance report. A built snapshot is never written again.

A build writes `heartbeat_at` every few seconds from a thread of its own. One whose
heartbeat is older than settings.JOB_STALE_SECONDS lost its worker: the next request
for its rule marks it failed (saying so) and queues a new build, and a redelivered
task message may claim it again, so a killed worker never blocks a rule for good.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import FilterRule, Snapshot
from .balance import BalanceCounter
from .formats import FORMATS, ExportRow, FormatError, writer_for
from .rules import RuleError, RuleSpec, decide, parse_rule


class ExportError(ValueError):
    """A snapshot cannot be built as asked; `field` names the request field at fault, if any."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


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


# --- the candidate query -------------------------------------------------------------------

# (translation id, item id, dataset, external id, image, task type, split, turns, item meta,
#  translation meta, engine, model, prompt version, suggested grade, final grade, final source,
#  final turns, an annotator's post-edit)
Candidate = tuple[Any, ...]


def _text(column: str) -> str:
    return f"{column}::text" if connection.vendor == "postgresql" else column


def candidate_sql(spec: RuleSpec, *, with_meta: bool, ordered: bool = True) -> tuple[str, list[Any]]:
    """Every translation in the rule's scope with its latest non-control final grade.

    Control entries are excluded here, so a control item's grade never counts as a
    translation's grade, and their corrupted turns (Entry.control_turns) are never read.
    """
    params: list[Any] = [False, spec.target_language]
    where = ["t.target_language = %s"]
    for column, values in (("d.name", spec.datasets), ("i.split", spec.splits), ("i.task_type", spec.task_types)):
        if values:
            where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params.extend(values)
    for column, value in (("t.engine", spec.engine), ("t.model", spec.model), ("t.prompt_version", spec.prompt_version)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    meta = f"{_text('i.meta')}, {_text('t.meta')}" if with_meta else "'', ''"
    post_edit = "NULL"
    if spec.use_post_edit and spec.post_edit_from_assessments:
        post_edit = (
            f"(SELECT {_text('a.post_edit')} FROM audit_assessment a WHERE a.entry_id = fg.entry_id"
            " AND a.post_edit IS NOT NULL ORDER BY a.id LIMIT 1)"
        )
    final_turns = _text("fg.final_turns") if spec.use_post_edit else "NULL"
    sql = f"""
        WITH fg AS (
            SELECT e.translation_id AS tid, f.grade, f.source, f.final_turns, f.entry_id,
                   ROW_NUMBER() OVER (PARTITION BY e.translation_id ORDER BY f.decided_at DESC, f.id DESC) AS rn
            FROM audit_finalgrade f JOIN audit_entry e ON e.id = f.entry_id
            WHERE e.is_control = %s
        )
        SELECT t.id, t.item_id, d.name, i.external_id, i.image, i.task_type, i.split, {_text('t.turns')}, {meta},
               t.engine, t.model, t.prompt_version, t.suggested_grade, fg.grade, fg.source, {final_turns}, {post_edit}
        FROM translation_translation t
        JOIN audit_item i ON i.id = t.item_id
        JOIN audit_dataset d ON d.id = i.dataset_id
        LEFT JOIN fg ON fg.tid = t.id AND fg.rn = 1
        WHERE {' AND '.join(where)}
    """
    if ordered:
        sql += " ORDER BY d.name, i.source_index, t.id"
    return sql, params


def candidates(spec: RuleSpec, *, with_meta: bool, ordered: bool = True, batch: int = 5000) -> Iterator[Candidate]:
    """Stream the candidate rows; on PostgreSQL through a server-side cursor (constant memory).

    Must run inside a transaction on PostgreSQL (named cursors live in one)."""
    sql, params = candidate_sql(spec, with_meta=with_meta, ordered=ordered)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor(name="export_candidates") as cursor:
            cursor.itersize = batch
            # The ordered scan sorts the rows once; in memory it takes seconds, on disk minutes.
            connection.connection.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(sql, params)
            yield from cursor
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows


def selects_any(spec: RuleSpec) -> tuple[bool, int]:
    """(whether the rule keeps at least one translation, candidates looked at)."""
    seen = 0
    with transaction.atomic():
        rows = candidates(spec, with_meta=False, ordered=False, batch=500)
        try:
            for row in rows:
                seen += 1
                if decide(spec, row[14], row[15], row[13]) is not None:
                    return True, seen
        finally:
            rows.close()  # closes the server-side cursor inside its transaction
    return False, seen


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


def _stale_before() -> datetime:
    """A build with no heartbeat since then lost its worker (read at call time: tests lower it)."""
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)


def _stalled() -> Q:
    stale = _stale_before()
    return Q(state=Snapshot.State.BUILDING) & (
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)
    )


def recover_stalled(rule: FilterRule, format: str) -> int:
    """Mark the rule's builds whose worker stopped as failed, so a new build may start."""
    return Snapshot.objects.filter(_stalled(), rule=rule, format=format).update(
        state=Snapshot.State.FAILED, finished_at=timezone.now(),
        message=f"the build stalled: no heartbeat from its worker for over {settings.JOB_STALE_SECONDS} s "
                "(the worker was stopped or lost); a new request builds it again",
    )  # fmt: skip


def _enqueue(snapshot: Snapshot) -> None:
    from ..tasks import build_snapshot

    transaction.on_commit(lambda: build_snapshot.apply_async(args=[snapshot.pk], queue="default"))


def snapshot_path(relative: str) -> Path:
    return Path(settings.EXPORT_ROOT) / relative


@dataclass
class BuildResult:
    item_count: int = 0
    sha256: str = ""
    size_bytes: int = 0
    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {"grade": Counter(), "task_type": Counter(), "source": Counter()}
    )
    balance: dict[str, Any] = field(default_factory=dict)
    skipped: int = 0


def run_build(snapshot_id: int) -> Snapshot:
    """Build a queued snapshot (inline, or in the Celery task). A second worker finds it taken."""
    now = timezone.now()
    # Queued, or building with a dead worker (a redelivered message after a kill).
    claimed = Snapshot.objects.filter(Q(state=Snapshot.State.QUEUED) | _stalled(), pk=snapshot_id).update(
        state=Snapshot.State.BUILDING, started_at=now, heartbeat_at=now
    )
    snapshot = Snapshot.objects.select_related("rule").get(pk=snapshot_id)
    if not claimed:
        return snapshot
    with _heartbeat(snapshot.pk):
        if settings.EXPORT_BUILD_DELAY_SECONDS:
            time.sleep(settings.EXPORT_BUILD_DELAY_SECONDS)
        return _build(snapshot)


@contextmanager
def _heartbeat(snapshot_id: int) -> Iterator[None]:
    """Write heartbeat_at every JOB_STALE_SECONDS / 4 from a thread with its own connection.

    The build itself holds its connection in one long query, so it cannot write; this
    thread can, and stops with the process when a worker is killed."""
    stop = threading.Event()
    interval = max(0.2, settings.JOB_STALE_SECONDS / 4)

    def beat() -> None:
        from django.db import connection as own  # per thread: not the build's connection

        try:
            while not stop.wait(interval):
                Snapshot.objects.filter(pk=snapshot_id, state=Snapshot.State.BUILDING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            own.close()

    thread = threading.Thread(target=beat, name=f"snapshot-{snapshot_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


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
    return _finish(
        snapshot, Snapshot.State.DONE, file=relative, items_file=str(Path(relative).with_suffix(".items")),
        sha256=result.sha256, size_bytes=result.size_bytes, item_count=result.item_count,
        counts={k: dict(sorted(v.items())) for k, v in result.counts.items()}, balance=result.balance,
    )  # fmt: skip


@transaction.atomic
def _finish(snapshot: Snapshot, state: str, **fields: Any) -> Snapshot:
    Snapshot.objects.filter(pk=snapshot.pk, state=Snapshot.State.BUILDING).update(
        state=state, finished_at=timezone.now(), **fields
    )
    snapshot.refresh_from_db()
    return snapshot


def write_export(spec: RuleSpec, format: str, target: Path, *, rule_digest: str) -> BuildResult:
    """Stream the rule's kept rows into `target` (and the frozen id list beside it)."""
    writer = writer_for(format, rule_digest)
    balance = BalanceCounter()
    result = BuildResult()
    digest = hashlib.sha256()
    partial = target.with_suffix(target.suffix + ".part")
    items_partial = target.with_suffix(".items.part")
    with transaction.atomic(), open(partial, "wb") as out, open(items_partial, "w") as ids:
        buffer: list[bytes] = [writer.begin()]
        last_item = None
        for row in candidates(spec, with_meta=True):
            tid, item_id = row[0], row[1]
            if item_id == last_item:
                continue  # an item with several kept translations: the first (lowest id) wins
            task_type = row[5]
            balance.candidate(task_type)
            source = decide(spec, row[14], row[15], row[13])
            if source is None:
                continue
            export_row = _export_row(row, source)
            data = writer.record(export_row)
            if data is None:
                result.skipped += 1
                continue
            last_item = item_id
            buffer.append(data)
            ids.write(f"{item_id}\t{tid}\n")
            result.item_count += 1
            result.counts["grade"][export_row.grade] += 1
            result.counts["task_type"][task_type] += 1
            result.counts["source"][source] += 1
            balance.keep(task_type, export_row.turns, export_row.post_edited, _letter(export_row))
            if len(buffer) >= 2000:
                _flush(buffer, out, digest)
        buffer.append(writer.end())
        _flush(buffer, out, digest)
    result.sha256 = digest.hexdigest()
    result.size_bytes = partial.stat().st_size
    result.balance = {**balance.report(), "skipped_malformed": result.skipped}
    os.replace(partial, target)
    os.replace(items_partial, target.with_suffix(".items"))
    return result


def _flush(buffer: list[bytes], out: Any, digest: Any) -> None:
    chunk = b"".join(buffer)
    out.write(chunk)
    digest.update(chunk)
    buffer.clear()


def _export_row(row: Candidate, source: str) -> ExportRow:
    turns_text = row[7]
    post_edited = False
    for edited in (row[16], row[17]):  # the final post-edit, else (rule option) an annotator's
        if edited:
            value = orjson.loads(edited)
            if value:
                turns_text, post_edited = edited, True
                break
    grade = row[14] if row[14] is not None else row[13]
    return ExportRow(
        dataset=row[2], external_id=row[3], image=row[4], task_type=row[5], split=row[6],
        turns=orjson.loads(turns_text), item_meta=row[8], translation_meta=row[9], grade=grade, source=source,
        post_edited=post_edited, engine=row[10], model=row[11], prompt_version=row[12],
        translation_id=row[0],
    )  # fmt: skip


def _letter(row: ExportRow) -> str | None:
    if row.task_type != "scienceqa" or not row.item_meta:
        return None
    answer = orjson.loads(row.item_meta).get("answer")
    return "ABCDEFGHIJ"[answer] if isinstance(answer, int) and 0 <= answer < 10 else None
