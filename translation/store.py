"""The job runner's reads and writes, made cheap: one query per batch, COPY for the rows.

On two cores apertium's pipeline keeps both busy, so every millisecond the job spends
per item beyond the engine is taken from it (docs/performance.md). The ORM cost ~0.6 ms
an item here (model instances, per-field preparation, JSON through the encoder); these
functions read plain tuples and write rows as COPY text formatted once, which is what
made the import fast too (catalog/services.py). Only `services` calls them, inside its
transactions.

Guarantees are those of `bulk_create(ignore_conflicts=True)`: a row that already exists
for the same (item, language, engine, model, prompt version), written by another job
since the batch was read, is skipped, never duplicated. COPY itself cannot skip rows,
so it runs in a savepoint and, in that rare race, the batch goes again through a staging
table and `INSERT ... ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import connection, transaction
from psycopg.errors import UniqueViolation

from config.database import is_postgresql
from config.pg_copy import copy_text, write_lines

from .models import Translation

# Everything one batch needs from an item; no model instance on the hot path.
_BATCH_SQL = """
SELECT i.id, i.source_index, i.external_id, i.conversations, i.meta, i.task_type,
       EXISTS (SELECT 1 FROM translation_translation t
               WHERE t.item_id = i.id AND t.target_language = %s AND t.engine = %s
                 AND t.model = %s AND t.prompt_version = %s) AS done
FROM audit_item i
WHERE i.dataset_id = %s AND i.source_index > %s
ORDER BY i.source_index
LIMIT %s
"""
# Constant columns first: their COPY text is formatted once per batch.
COLUMNS = (
    "target_language", "engine", "model", "prompt_version", "prompt_hash", "params", "seconds", "tokens",
    "created_at", "item_id", "turns", "meta", "checks", "suggested_grade", "injected_error",
)  # fmt: skip
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True, slots=True)
class PendingItem:
    """An item waiting for its translation, as read for one batch. `content_key` is the
    same string for items with the same conversations, meta and task type (repeats)."""

    pk: int
    source_index: int
    external_id: str
    conversations: list[dict[str, Any]]
    meta: dict[str, Any]
    task_type: str
    content_key: str


@dataclass(frozen=True, slots=True)
class Version:
    """What makes a translation row the same one again: the unique constraint's columns,
    plus what every row of a job shares."""

    target_language: str
    engine: str
    model: str
    prompt_version: str
    prompt_hash: str
    params: dict[str, Any]


@dataclass(slots=True)
class Content:
    """What a translation row holds beyond its item and version: turns, meta, checks.
    Repeats of an item share one, formatted for COPY once."""

    turns: list[dict[str, Any]]
    meta: dict[str, Any]
    checks: dict[str, Any]
    injected_error: str = ""  # translation/injection.py: an error put in on purpose
    _copy_columns: str | None = None

    def copy_columns(self) -> str:
        """The row's last columns (turns, meta, checks, suggested grade, injected error)
        in COPY's text format."""
        if self._copy_columns is None:
            self._copy_columns = "\t".join((
                _json_text(self.turns), _json_text(self.meta), _json_text(self.checks),
                copy_text(self.checks["suggested_grade"]), copy_text(self.injected_error),
            ))  # fmt: skip
        return self._copy_columns


@dataclass(frozen=True, slots=True)
class Row:
    """One translation to write: the item and what it translated to."""

    item_id: int
    content: Content


def next_batch(
    dataset_id: int, version: Version, after: int, size: int
) -> tuple[list[PendingItem], int]:
    """The next `size` items after file position `after` without a row of this version.

    One statement: the candidates in file order (the dataset/source_index index) with an
    EXISTS probe of the unique constraint's index per candidate, whatever the table
    statistics say (an anti-join planned on stale statistics took seconds per batch).
    Returns the items and the file position to continue after.
    """
    params = (version.target_language, version.engine, version.model, version.prompt_version)
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_BATCH_SQL, (*params, dataset_id, after, size))
            candidates = cursor.fetchall()
            if not candidates:
                return [], after
            after = candidates[-1][1]
            fresh = [
                PendingItem(
                    pk, index, external_id, _json(conversations), _json(meta), task_type,
                    _content_key(conversations, meta, task_type),
                )  # fmt: skip
                for pk, index, external_id, conversations, meta, task_type, done in candidates
                if not done
            ]
            if fresh:
                return fresh, after


def write_rows(version: Version, rows: Sequence[Row], seconds: float, tokens: int, now: datetime) -> None:
    """Store a batch's translations (each costing `seconds` and `tokens`); rows that exist
    already are skipped. Call inside the transaction that also records the progress."""
    if not rows:
        return
    if not is_postgresql():
        _bulk_create(version, rows, seconds, tokens, now)
        return
    constant = "\t".join((
        copy_text(version.target_language), copy_text(version.engine), copy_text(version.model),
        copy_text(version.prompt_version), copy_text(version.prompt_hash), _json_text(version.params),
        repr(float(seconds)), str(int(tokens)), now.isoformat(),
    ))  # fmt: skip
    lines = [f"{constant}\t{r.item_id}\t{r.content.copy_columns()}\n" for r in rows]
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        try:
            with transaction.atomic():  # a savepoint: a conflict undoes only this attempt
                write_lines(raw, f"COPY translation_translation ({columns}) FROM STDIN", lines)
        except UniqueViolation:
            raw.execute(
                "CREATE TEMP TABLE translation_stage ON COMMIT DROP AS"
                f" SELECT {columns} FROM translation_translation WITH NO DATA"
            )
            write_lines(raw, f"COPY translation_stage ({columns}) FROM STDIN", lines)
            raw.execute(
                f"INSERT INTO translation_translation ({columns}) SELECT {columns} FROM translation_stage"
                " ON CONFLICT DO NOTHING"
            )
            raw.execute("DROP TABLE translation_stage")


def _bulk_create(version: Version, rows: Sequence[Row], seconds: float, tokens: int, now: datetime) -> None:
    """The embedded SQLite default: the ORM, with the same skip-what-exists rule."""
    Translation.objects.bulk_create(
        [
            Translation(
                item_id=r.item_id, target_language=version.target_language, turns=r.content.turns,
                meta=r.content.meta, engine=version.engine, model=version.model,
                prompt_version=version.prompt_version, prompt_hash=version.prompt_hash, params=version.params,
                seconds=seconds, tokens=tokens, checks=r.content.checks,
                suggested_grade=r.content.checks["suggested_grade"], created_at=now,
                injected_error=r.content.injected_error,
            )  # fmt: skip
            for r in rows
        ],
        ignore_conflicts=True,
    )


def _json(value: Any) -> Any:
    """A JSON column as Django's cursor returns it: text (PostgreSQL, SQLite) or decoded."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _content_key(conversations: Any, meta: Any, task_type: str) -> str:
    """One string per distinct item content: the JSON columns' text as read (PostgreSQL's
    jsonb prints a value one way), or the values encoded with sorted keys."""
    texts = [
        value.decode() if isinstance(value, bytes) else value if isinstance(value, str)
        else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        for value in (conversations, meta)
    ]  # fmt: skip
    return "\x00".join((*texts, task_type))


def _json_text(value: Any) -> str:
    """`value` as JSON, one column of COPY's text format."""
    return copy_text(orjson.dumps(value, option=_JSON_OPTIONS).decode())
