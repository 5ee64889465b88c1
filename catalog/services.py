"""Write operations on datasets and items, each in one transaction.

`import_dataset` is the only way items get into the database. It validates while it
writes and rolls everything back on the first bad record, so a failed run leaves the
database exactly as it was. On PostgreSQL new items stream in through COPY (the
import benchmark holds it to at least half the rate of a raw COPY); a re-import
compares content hashes and rewrites only records that changed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.database import is_postgresql
from config.pg_copy import copy_text, write_lines

from .importers import Context, ImageIndex, ImportFormatError, ItemRecord, Limits, get_importer
from .models import Dataset, Item

ITEM_COLUMNS = (
    "dataset_id", "external_id", "image", "conversations", "task_type", "split",
    "meta", "source_index", "content_hash", "created_at", "updated_at",
)  # fmt: skip


ANALYZE_AFTER = 10_000  # rows written


@dataclass
class ImportResult:
    dataset: Dataset
    created: int
    updated: int
    unchanged: int
    seconds: float

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class _Row:
    """An item ready to write: JSON already serialised once, for both the hash and COPY."""

    external_id: str
    image: str
    conversations: str
    task_type: str
    split: str
    meta: str
    source_index: int
    content_hash: str


def import_dataset(
    path: str | Path,
    *,
    format: str,
    name: str,
    images: str | Path | None = None,
    kind: str | None = None,
    split: str = "",
    progress: Callable[[Iterable[ItemRecord], int], Iterable[ItemRecord]] | None = None,
) -> ImportResult:
    """Import a file in one of the registered formats into dataset `name`.

    Raises ImportFormatError (file, record, field) on bad input; nothing is written then.
    """
    started = time.perf_counter()
    parse, default_kind = get_importer(format)
    source = Path(path)
    if not source.exists():
        raise ImportFormatError(source, "no such file or directory")
    if kind not in (None, *Dataset.Kind.values):
        raise ImportFormatError("--kind", f"unknown kind {kind!r}; expected one of {', '.join(Dataset.Kind.values)}")
    context = Context(images=ImageIndex(images) if images else None, split=split, limits=import_limits())
    records = parse(source, context)
    stream: Iterable[ItemRecord] = progress(records, records.total) if progress else records

    with transaction.atomic():
        dataset, _ = Dataset.objects.get_or_create(
            name=name,
            defaults={"kind": kind or default_kind, "source_format": format},
        )
        # Serialise imports into one dataset: the second waits instead of colliding on ids.
        dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
        dataset.kind = kind or dataset.kind
        dataset.source_format = format
        dataset.source_path = str(source.resolve())
        if context.images is not None:
            dataset.image_root = str(context.images.root)
        dataset.save()
        known = dict(Item.objects.filter(dataset=dataset).values_list("external_id", "content_hash"))
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        changed: list[_Row] = []

        def new_rows() -> Iterator[_Row]:
            seen: set[str] = set()
            for index, record in enumerate(stream):
                if record.external_id in seen:
                    raise ImportFormatError(
                        source, "duplicate id in this file", record=index, record_id=record.external_id, field="id"
                    )
                seen.add(record.external_id)
                row = _row(record, index)
                previous = known.get(row.external_id)
                if previous is None:
                    counts["created"] += 1
                    yield row
                elif previous != row.content_hash:
                    counts["updated"] += 1
                    changed.append(row)
                else:
                    counts["unchanged"] += 1

        if is_postgresql():
            _copy_new(dataset.pk, new_rows())
            _update_changed_pg(dataset.pk, changed)
        else:
            _bulk_new(dataset, new_rows())
            _update_changed_orm(dataset, changed)
    if is_postgresql() and counts["created"] + counts["updated"] > ANALYZE_AFTER:
        # Fresh statistics, so queries planned right after a big import use the indexes.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_item")
    return ImportResult(dataset, seconds=time.perf_counter() - started, **counts)


def import_limits() -> Limits:
    """The IMPORT_MAX_* settings; an id never longer than Item.external_id holds."""
    column = Item._meta.get_field("external_id").max_length or settings.IMPORT_MAX_ID_CHARS
    return Limits(
        turn_chars=settings.IMPORT_MAX_TURN_CHARS,
        record_bytes=settings.IMPORT_MAX_RECORD_BYTES,
        id_chars=min(settings.IMPORT_MAX_ID_CHARS, column),
    )


def _row(record: ItemRecord, index: int) -> _Row:
    conversations = orjson.dumps(record.conversations).decode()
    meta = orjson.dumps(record.meta, option=orjson.OPT_SORT_KEYS).decode() if record.meta else "{}"
    digest = hashlib.sha256(
        "\x1f".join((record.external_id, record.image, record.task_type, record.split, conversations, meta)).encode()
    ).hexdigest()
    return _Row(record.external_id, record.image, conversations, record.task_type, record.split, meta, index, digest)


def _copy_new(dataset_id: int, rows: Iterable[_Row]) -> None:
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        write_lines(
            cursor.cursor,
            f"COPY audit_item ({', '.join(ITEM_COLUMNS)}) FROM STDIN",
            (f"{dataset_id}\t{_copy_fields(r)}\t{now}\t{now}\n" for r in rows),
        )


def _copy_fields(r: _Row) -> str:
    return "\t".join((
        copy_text(r.external_id), copy_text(r.image), copy_text(r.conversations), copy_text(r.task_type),
        copy_text(r.split), copy_text(r.meta), str(r.source_index), r.content_hash,
    ))  # fmt: skip


def _update_changed_pg(dataset_id: int, rows: list[_Row]) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(
            "CREATE TEMP TABLE item_stage (external_id text, image text, conversations jsonb, task_type text,"
            " split text, meta jsonb, source_index integer, content_hash text) ON COMMIT DROP"
        )
        write_lines(raw, "COPY item_stage FROM STDIN", (_copy_fields(r) + "\n" for r in rows))
        raw.execute(
            "UPDATE audit_item AS i SET image = s.image, conversations = s.conversations, task_type = s.task_type,"
            " split = s.split, meta = s.meta, source_index = s.source_index, content_hash = s.content_hash,"
            " updated_at = now() FROM item_stage AS s WHERE i.dataset_id = %s AND i.external_id = s.external_id",
            (dataset_id,),
        )
        raw.execute("DROP TABLE item_stage")


def _bulk_new(dataset: Dataset, rows: Iterable[_Row], batch: int = 2000) -> None:
    pending: list[Item] = []
    for r in rows:
        pending.append(_item(dataset, r))
        if len(pending) >= batch:
            Item.objects.bulk_create(pending)
            pending.clear()
    Item.objects.bulk_create(pending)


def _update_changed_orm(dataset: Dataset, rows: list[_Row]) -> None:
    if not rows:
        return
    ids = dict(
        Item.objects.filter(dataset=dataset, external_id__in=[r.external_id for r in rows]).values_list(
            "external_id", "pk"
        )
    )
    items = []
    for r in rows:
        item = _item(dataset, r)
        item.pk = ids[r.external_id]
        items.append(item)
    fields = ["image", "conversations", "task_type", "split", "meta", "source_index", "content_hash", "updated_at"]
    Item.objects.bulk_update(items, fields, batch_size=1000)


def _item(dataset: Dataset, r: _Row) -> Item:
    return Item(
        dataset=dataset,
        external_id=r.external_id,
        image=r.image,
        conversations=orjson.loads(r.conversations),
        task_type=r.task_type,
        split=r.split,
        meta=orjson.loads(r.meta),
        source_index=r.source_index,
        content_hash=r.content_hash,
        updated_at=timezone.now(),
    )
