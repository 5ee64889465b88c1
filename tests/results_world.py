"""Finished evaluation runs with given scores, for the result page tests (no model runs: the
tables only read a run's metrics and diagnostics, written here as the runner writes them)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from evaluation.models import EvaluationRun
from training.models import JobState, TrainingJob

METRIC = {"pope": "f1", "scienceqa": "accuracy", "textvqa": "accuracy"}


def scored_run(model: TrainingJob | str, benchmark: str, split: str, language: str, value: float, *,
               pipeline: str = "direct", english: float | None = None, french: float | None = None,
               flags: list[dict[str, Any]] | None = None, name: str = "") -> EvaluationRun:
    """A done run whose reference metric is `value` (CI ±0.05), French-aware `french`, and flags as stored."""
    metric = METRIC[benchmark]
    reference = {metric: value, "n": 40, "ci95": {metric: [value - 0.05, value + 0.05]}}
    if benchmark == "pope":
        reference.update(accuracy=value, precision=value, recall=value, yes_ratio=0.5)
    metrics: dict[str, Any] = {"reference": reference, "french": {metric: value if french is None else french}}
    if english is not None:
        metrics["english"] = {metric: english}
    job = model if isinstance(model, TrainingJob) else None
    return EvaluationRun.objects.create(
        training_job=job, model_path="" if job else model, name=name, benchmark=benchmark, split=split,
        language=language, pipeline=pipeline, state=JobState.DONE, finished_at=timezone.now(),
        metrics=metrics, diagnostics=flags or [], total=40, done=40,
    )  # fmt: skip
