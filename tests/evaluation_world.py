"""Helpers for the evaluation tests: world benchmarks imported, a tiny model on disk, a French snapshot.

The French benchmark is made the way a user makes it: apertium translates the imported
English benchmark (translation.services), a rule keeps what the automatic checks pass,
and exports.build writes the snapshot in the benchmark's own format.
"""

from __future__ import annotations

from pathlib import Path

from catalog.models import Dataset
from catalog.services import import_dataset
from exports.build import create_rule, request_snapshot, run_build
from exports.models import Snapshot
from training.models import JobState, TrainingJob
from translation.services import create_job, run_job

BENCHMARK_FILES = {
    "scienceqa": ("world-scienceqa", "scienceqa/scienceqa_img_test.json", "scienceqa"),
    "textvqa": ("world-textvqa", "textvqa/TextVQA_0.5.1_val.json", "textvqa"),
    "pope": ("world-pope", "pope", "pope"),
}


def import_benchmarks(world: Path, *names: str) -> dict[str, Dataset]:
    out = {}
    for name in names or tuple(BENCHMARK_FILES):
        dataset, relative, fmt = BENCHMARK_FILES[name]
        out[name] = import_dataset(world / relative, format=fmt, name=dataset, images=world / "images").dataset
    return out


def done_job(output_model: str, *, template: str = "english_base", name: str = "") -> TrainingJob:
    """A finished training job whose output is `output_model` (relative to MODEL_ROOT)."""
    return TrainingJob.objects.create(name=name, template=template, stages=[], state=JobState.DONE,
                                      output_model=output_model)  # fmt: skip


def french_snapshot(dataset: Dataset, *, rule: str = "fr-bench", limit: int | None = None) -> Snapshot:
    """Translate the dataset with apertium and build a benchmark-format snapshot of it."""
    job = create_job(dataset, engine="apertium", round_trip=False, limit=limit)
    run_job(job.pk)
    spec = {"min_grade": "moderate", "unaudited": "automatic", "datasets": [dataset.name]}
    snapshot, _created = request_snapshot(create_rule(rule, spec), "benchmark", enqueue=False)
    return run_build(snapshot.pk)
