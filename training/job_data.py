"""Where a training job's data comes from: snapshots and English datasets as LLaVA records.

A data role maps to a built `llava` snapshot (translated, filtered by the audit) or
to an English dataset whose `source_path` is a LLaVA JSON file. Either way the
records' image paths are relative to the image root of the dataset they came from.
Used twice: by `jobs.create_training_job` to refuse bad data before anything is
queued, and by the runner to write one records file per stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.models import Dataset, Item
from exports.build import snapshot_path
from exports.models import Snapshot

MISSING_SHOWN = 3  # how many missing images an error names


class DataError(ValueError):
    """A data source a job cannot train on; the message names the source and the file."""


@dataclass(frozen=True)
class Source:
    """One data role's records, resolved: what to store on the job and where to read."""

    label: str  # "snapshot 12" / "dataset world-instruct", for messages
    stored: dict[str, Any]  # TrainingJob.data[role]
    records_file: Path
    image_root: str
    snapshot: Snapshot | None = None


def resolve(source: Snapshot | Dataset) -> Source:
    """A snapshot or dataset as a Source; DataError when it cannot be trained on."""
    if isinstance(source, Snapshot):
        label = f"snapshot {source.pk}"
        if source.state == Snapshot.State.FAILED:
            raise DataError(f"{label} has no examples: its build failed ({source.message})")
        if source.state != Snapshot.State.DONE:
            raise DataError(f"{label} is {source.state}, not built yet: wait for its build to finish")
        if source.format != "llava":
            raise DataError(f"{label} is in format {source.format!r}; training reads 'llava' snapshots")
        if source.item_count == 0:
            raise DataError(f"{label} has no examples (its rule kept nothing)")
        stored = {"snapshot": source.pk, "sha256": source.sha256}
        return Source(label, stored, snapshot_path(source.file), _snapshot_image_root(source), source)
    if isinstance(source, Dataset):
        label = f"dataset {source.name}"
        if source.source_format != "llava" or not source.source_path:
            raise DataError(f"{label} is not a LLaVA JSON file (format {source.source_format!r}); use a llava snapshot")
        return Source(label, {"dataset": source.pk}, Path(source.source_path), source.image_root)
    raise DataError(f"expected a snapshot or a dataset, got {type(source).__name__}")


def from_stored(stored: dict[str, Any]) -> Source:
    """The Source of a job's stored data entry (the runner's side of `resolve`)."""
    if "snapshot" in stored:
        snapshot = Snapshot.objects.get(pk=stored["snapshot"])
        if snapshot.sha256 != stored.get("sha256"):
            raise DataError(f"snapshot {snapshot.pk} changed since the job was created (sha256 differs)")
        return resolve(snapshot)
    return resolve(Dataset.objects.get(pk=stored["dataset"]))


def _snapshot_image_root(snapshot: Snapshot) -> str:
    """The image root of the datasets the snapshot's items come from (one, or an error)."""
    names = snapshot.rule_spec.get("datasets") or []
    if names:
        roots = set(Dataset.objects.filter(name__in=names).values_list("image_root", flat=True))
    else:
        item_ids = _frozen_item_ids(snapshot)
        roots = set()
        for start in range(0, len(item_ids), 10_000):
            chunk = item_ids[start : start + 10_000]
            roots |= set(Item.objects.filter(pk__in=chunk).values_list("dataset__image_root", flat=True).distinct())
    if len(roots) != 1:
        raise DataError(f"snapshot {snapshot.pk}: its items come from datasets with {len(roots)} image roots; expected one")
    return roots.pop()


def _frozen_item_ids(snapshot: Snapshot) -> list[int]:
    path = snapshot_path(snapshot.items_file)
    with open(path, encoding="utf-8") as lines:
        return [int(line.split("\t", 1)[0]) for line in lines if line.strip()]


def load_records(source: Source) -> list[dict[str, Any]]:
    try:
        records = json.loads(source.records_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"{source.label}: cannot read {source.records_file}: {error}") from error
    if not isinstance(records, list):
        raise DataError(f"{source.label}: {source.records_file} is not a JSON list of records")
    if not records:
        raise DataError(f"{source.label} has no examples ({source.records_file} is an empty list)")
    return records


def check_images(source: Source, records: list[dict[str, Any]]) -> None:
    """Every record's image exists under the image root; names the first missing ones."""
    root = Path(source.image_root)
    missing, seen = [], set()
    for record in records:
        image = record.get("image")
        if not image or image in seen:
            continue
        seen.add(image)
        if not (root / image).is_file():
            missing.append(f"{image!r} (record {record.get('id')!r})")
    if missing:
        shown = ", ".join(missing[:MISSING_SHOWN])
        more = f" and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
        raise DataError(
            f"{source.label}: {len(missing)} image(s) of {source.records_file} missing under {root}: {shown}{more}"
        )


def stage_records(sources: list[Source], target: Path) -> tuple[Path, Path]:
    """Concatenate the roles' records into one JSON file; all must share one image root."""
    roots = {source.image_root for source in sources}
    if len(roots) != 1:
        described = "; ".join(f"{s.label}: {s.image_root!r}" for s in sources)
        raise DataError(f"a stage's data roles must share one image root, got {described}")
    records: list[dict[str, Any]] = []
    for source in sources:
        records += load_records(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return target, Path(roots.pop())
