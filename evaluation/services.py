"""Evaluation runs: create (validated before anything is queued), cancel, requeue.

The one place that writes EvaluationRun rows; running and scoring live in
evaluation/runner.py (`run_evaluation`, which evaluation/tasks.py runs).

Where a run's questions come from:
- English: the imported benchmark Dataset of that benchmark and split (its own file,
  `source_path`; a POPE directory holds one file per split);
- French: a done snapshot in format "benchmark" whose items are that benchmark (and
  split), the latest unless one is named. Its items were translated from an English
  benchmark dataset, which the run records too: translation-only runs score the
  English answers against it, and images are found under its image root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from api.errors import FieldError
from catalog.models import Dataset, Item
from exports.build import snapshot_path
from exports.models import Snapshot
from jobs import lifecycle
from jobs.lifecycle import requeue_stalled
from training.models import JobState, TrainingJob

from .benchmark_prompts import (
    BENCHMARKS,
    DEFAULT_MAX_NEW_TOKENS,
    LANGUAGES,
    POPE_SPLITS,
    BenchItem,
    prompts_record,
    read_items,
)
from .metrics import parsers
from .metrics.benchmarks import BenchmarkFormatError
from .models import EvaluationRun

# Where each parser's metrics live in EvaluationRun.metrics.
PARSER_KEYS = {parsers.REFERENCE: "reference", parsers.LMMS_EVAL: "lmms_eval", parsers.FRENCH: "french"}


class EvaluationError(FieldError, ValueError):
    """A run cannot be made as asked; `field` names the form/API field at fault. str() is "field: message"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Source:
    """Where a run's questions, images and (translation-only) English references are."""

    path: Path
    dataset: Dataset
    snapshot: Snapshot | None
    image_root: Path


def model_root() -> Path:
    return Path(settings.MODEL_ROOT)


def model_directory(run: EvaluationRun) -> Path:
    """The checkpoint a run evaluates: its job's output, or its own path (relative to MODEL_ROOT)."""
    relative = run.training_job.output_model if run.training_job_id else run.model_path
    return model_root() / relative


# --- finding the benchmark ------------------------------------------------------------------


def _split_values(benchmark: str, split: str) -> list[str]:
    # ScienceQA-IMG test files often carry no split field: their items import with split "".
    return [split] if benchmark == "pope" else [split, ""]


def english_dataset(benchmark: str, split: str) -> Dataset | None:
    items = Item.objects.filter(task_type=benchmark, split__in=_split_values(benchmark, split))
    return Dataset.objects.filter(kind=Dataset.Kind.BENCHMARK, pk__in=items.values("dataset")).order_by("-created_at").first()


def english_file(dataset: Dataset, benchmark: str, split: str) -> Path:
    """The dataset's file; for a POPE directory, the split's file (coco_pope_<split>.json)."""
    path = Path(dataset.source_path)
    if benchmark == "pope" and path.is_dir():
        named = sorted(path.glob(f"*{split}*.json*"))
        if not named:
            raise EvaluationError("split", f"{path} has no POPE file for split {split!r} (coco_pope_{split}.json)")
        return named[0]
    return path


def snapshot_dataset(snapshot: Snapshot) -> Dataset | None:
    """The dataset the snapshot's items came from (the first line of its frozen item list)."""
    if not snapshot.items_file:
        return None
    with snapshot_path(snapshot.items_file).open() as ids:
        first = ids.readline().split("\t")[0].strip()
    item = Item.objects.select_related("dataset").filter(pk=int(first)).first() if first.isdigit() else None
    return item.dataset if item else None


def _is_benchmark_snapshot(snapshot: Snapshot, benchmark: str, split: str) -> bool:
    tasks = set((snapshot.counts or {}).get("task_type", {}))
    splits = (snapshot.rule_spec or {}).get("splits") or []
    return tasks == {benchmark} and (not splits or split in splits or (benchmark != "pope" and "" in splits))


def french_snapshots(benchmark: str, split: str) -> list[Snapshot]:
    done = Snapshot.objects.filter(format="benchmark", state=Snapshot.State.DONE).select_related("rule")
    return [s for s in done.order_by("-created_at") if _is_benchmark_snapshot(s, benchmark, split)]


def _how_to_translate(benchmark: str, split: str) -> str:
    return (
        f"no French translation of {benchmark}/{split} yet: translate the English benchmark dataset "
        "(Translation page, or `manage.py translate --dataset NAME --engine apertium`), then build a "
        "snapshot in format 'benchmark' from a rule restricted to that dataset (Exports page, or "
        "`manage.py export_dataset`)"
    )


def find_source(
    benchmark: str, split: str, language: str, snapshot: Snapshot | None = None, dataset: Dataset | None = None
) -> Source:
    """The benchmark file a run reads, with its English dataset; EvaluationError if there is none.
    English runs read `dataset` when given, else the latest imported benchmark of that kind."""
    if language == "en":
        dataset = dataset or english_dataset(benchmark, split)
        if dataset is None:
            raise EvaluationError(
                "split", f"no English {benchmark} benchmark with split {split!r} is imported; "
                "import one with `manage.py import_dataset` (or `manage.py make_world`)",
            )  # fmt: skip
        return Source(english_file(dataset, benchmark, split), dataset, None, Path(dataset.image_root))
    if snapshot is None:
        found = french_snapshots(benchmark, split)
        if not found:
            raise EvaluationError("language", _how_to_translate(benchmark, split))
        snapshot = found[0]
    elif snapshot.state != Snapshot.State.DONE or snapshot.format != "benchmark":
        raise EvaluationError("snapshot", f"snapshot {snapshot.pk} is {snapshot.state} in format {snapshot.format!r}; "
                              "a French benchmark is a done snapshot in format 'benchmark'")  # fmt: skip
    elif not _is_benchmark_snapshot(snapshot, benchmark, split):
        raise EvaluationError("snapshot", f"snapshot {snapshot.pk} holds {', '.join(snapshot.counts.get('task_type', {}))} "
                              f"items, not {benchmark}/{split}")  # fmt: skip
    dataset = snapshot_dataset(snapshot)
    if dataset is None:
        raise EvaluationError("snapshot", f"snapshot {snapshot.pk}: cannot tell which dataset its items came from")
    return Source(snapshot_path(snapshot.file), dataset, snapshot, Path(dataset.image_root))


def load_items(benchmark: str, split: str, source: Source, limit: int | None = None) -> list[BenchItem]:
    """The run's questions (first `limit`), checked field by field; EvaluationError naming the record."""
    try:
        items = read_items(benchmark, source.path, split=split, image_root=source.image_root)
    except BenchmarkFormatError as exc:
        raise EvaluationError("benchmark", str(exc)) from None
    except FileNotFoundError:
        raise EvaluationError("benchmark", f"the benchmark file {source.path} does not exist") from None
    if not items:
        raise EvaluationError("split", f"{source.path} has no {benchmark} question of split {split!r}")
    return items[:limit] if limit else items


# --- creating, cancelling, requeueing -----------------------------------------------------------


def _check_choices(benchmark: str, split: str, language: str, pipeline: str) -> None:
    if benchmark not in BENCHMARKS:
        raise EvaluationError("benchmark", f"unknown benchmark {benchmark!r}; expected one of {', '.join(BENCHMARKS)}")
    if benchmark == "pope" and split not in POPE_SPLITS:
        raise EvaluationError("split", f"unknown POPE split {split!r}; expected one of {', '.join(POPE_SPLITS)}")
    if not split:
        raise EvaluationError("split", "a split is needed (ScienceQA: test; TextVQA: val)")
    if language not in LANGUAGES:
        raise EvaluationError("language", f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    if pipeline not in EvaluationRun.Pipeline.values:
        raise EvaluationError("pipeline", f"unknown pipeline {pipeline!r}; expected one of {', '.join(EvaluationRun.Pipeline.values)}")
    if pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY and language == "en":
        raise EvaluationError("language", "the translation-only pipeline answers a French benchmark; pick language fr")


def _check_model(training_job: TrainingJob | None, model_path: str) -> None:
    if (training_job is None) == (not model_path):
        raise EvaluationError("model", "name one model: a done training job, or a checkpoint path")
    if training_job is not None:
        if training_job.state != JobState.DONE or not training_job.output_model:
            raise EvaluationError("training_job", f"training job {training_job.pk} is {training_job.state}; only a done job has a model to evaluate")
        directory = model_root() / training_job.output_model
        field = "training_job"
    else:
        directory = model_root() / model_path
        field = "model_path"
    if not (directory / "config.json").is_file():
        raise EvaluationError(field, f"{directory} is not a model directory (no config.json)")


def _check_numbers(**values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value < 1:
            raise EvaluationError(name, f"{name} must be a positive number, got {value}")


def _check_images(items: list[BenchItem], source: Source) -> None:
    for item in items:
        if not (source.image_root / item.image).is_file():
            raise EvaluationError("benchmark", f"{source.path}: question {item.question_id!r}: no image "
                                  f"{item.image!r} under {source.image_root}")  # fmt: skip


def _check_english_pairs(benchmark: str, split: str, items: list[BenchItem], source: Source) -> None:
    """Translation-only scores English answers against the English benchmark: every id must be there."""
    english = load_items(benchmark, split, Source(english_file(source.dataset, benchmark, split), source.dataset, None, source.image_root))
    known = {item.question_id for item in english}
    unknown = [item.question_id for item in items if item.question_id not in known]
    if unknown:
        raise EvaluationError("snapshot", f"{len(unknown)} question id(s) of the French benchmark are not in the English "
                              f"one ({source.dataset.source_path}): {', '.join(unknown[:5])}")  # fmt: skip


def create_evaluation_run(
    *,
    training_job: TrainingJob | None = None,
    model_path: str = "",
    benchmark: str,
    split: str,
    language: str,
    pipeline: str = EvaluationRun.Pipeline.DIRECT,
    engine: str = "apertium",
    snapshot: Snapshot | None = None,
    dataset: Dataset | None = None,
    max_new_tokens: int | None = None,
    batch_size: int = 64,
    limit: int | None = None,
    name: str = "",
    created_by=None,
    enqueue: bool = True,
) -> EvaluationRun:
    """Validate everything a worker would trip on, then store (and queue) the run."""
    _check_choices(benchmark, split, language, pipeline)
    _check_model(training_job, model_path.strip())
    _check_numbers(max_new_tokens=max_new_tokens, batch_size=batch_size, limit=limit)
    translation_only = pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY
    if translation_only:
        from translation.engines import ENGINES

        if engine not in ENGINES:
            raise EvaluationError("engine", f"unknown translation engine {engine!r}; known engines: {', '.join(sorted(ENGINES))}")
    source = find_source(benchmark, split, language, snapshot, dataset)
    items = load_items(benchmark, split, source, limit)
    _check_images(items, source)
    if translation_only:
        _check_english_pairs(benchmark, split, items, source)
    prompts = prompts_record(benchmark, language)
    if translation_only:
        prompts = {**prompts_record(benchmark, "en"), "question_language": language, "answer_language": language}
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            name=name, training_job=training_job, model_path=model_path.strip(), benchmark=benchmark, split=split,
            language=language, pipeline=pipeline, engine=engine if translation_only else "", dataset=source.dataset,
            snapshot=source.snapshot, references=str(source.path), prompts=prompts,
            max_new_tokens=max_new_tokens or DEFAULT_MAX_NEW_TOKENS[benchmark], batch_size=batch_size, limit=limit,
            total=len(items), created_by=created_by,
        )  # fmt: skip
        if enqueue:
            enqueue_run(run)
    return run


def enqueue_run(run: EvaluationRun) -> None:
    """Send the run to its Celery queue once the row is committed (by the task's name:
    tasks.py imports the runner, which imports this module)."""
    lifecycle.enqueue("evaluation.tasks.run_evaluation", run.pk, queue=run.queue)


def cancel(run: EvaluationRun) -> bool:
    """Stop a run: a queued (or stalled) one at once, a running one between batches (jobs/lifecycle.py)."""
    return lifecycle.cancel(run)


def recover_stalled_runs() -> list[int]:
    """Requeue running runs whose worker died (jobs/lifecycle.py runs this when a worker starts)."""
    return requeue_stalled(EvaluationRun.objects.all(), requeue, EvaluationError)


def requeue(run: EvaluationRun) -> EvaluationRun:
    """Put a failed, cancelled or stalled run back in the queue; it skips the answers it has."""
    return lifecycle.requeue(run, send=enqueue_run, refuse=lambda message: EvaluationError("state", message))
