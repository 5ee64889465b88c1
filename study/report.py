"""What the study page shows: the objects behind each step and the comparison table.

Rows are the study's models (English base, translation-only, each variant on each
rule); columns are benchmark splits in French and English. A cell holds the reference
metric with its 95% bootstrap interval, the French-aware number beside it, and the
run's diagnostics; every cell links to its evaluation run (and from there to the
model, job, snapshot, rule and campaign).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit.models import Campaign, Snapshot
from training.models import EvaluationRun, TrainingJob
from translation.models import TranslationJob

from . import plan
from .models import Study


@dataclass
class Cell:
    run: EvaluationRun
    value: float | None
    low: float | None
    high: float | None
    french: float | None
    diagnostics: list[Any]


@dataclass
class Row:
    key: str
    title: str
    rule: str
    job: TrainingJob | None
    cells: dict[str, Cell] = field(default_factory=dict)


def columns(study: Study) -> list[dict[str, str]]:
    return [
        {"key": f"{benchmark}/{split}/{language}", "benchmark": benchmark, "split": split, "language": language}
        for language in ("fr", "en")
        for benchmark, split, _ in plan.budget(study.world_size).benchmarks
    ]


def _metric(metrics: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    if not metrics or "accuracy" not in metrics:
        return None, None, None
    low, high = (metrics.get("ci95", {}).get("accuracy") or (None, None))[:2]
    return metrics["accuracy"], low, high


def cell(run: EvaluationRun, language: str) -> Cell:
    metrics = run.metrics or {}
    if run.pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY and language == "en":
        value, low, high = _metric(metrics.get("english", {}))
        french = None
    else:
        value, low, high = _metric(metrics.get("reference", {}))
        french = _metric(metrics.get("french", {}))[0] if language == "fr" else None
    return Cell(run, value, low, high, french, list(run.diagnostics or []))


def _row_title(key: str) -> tuple[str, str]:
    if key in plan.VARIANT_TITLES:
        return plan.VARIANT_TITLES[key], ""
    variant, _, rule = key.partition("-")
    return plan.VARIANT_TITLES.get(variant, variant), rule


def table(study: Study) -> list[Row]:
    runs_by_row: dict[str, list[int]] = study.objects_made.get("evaluations", {})
    ids = [pk for pks in runs_by_row.values() for pk in pks]
    runs = EvaluationRun.objects.in_bulk(ids)
    rows = []
    for key, pks in runs_by_row.items():
        title, rule = _row_title(key)
        first = runs.get(pks[0]) if pks else None
        row = Row(key, title, rule, first.training_job if first else None)
        for pk in pks:
            run = runs.get(pk)
            if run is None or run.state != EvaluationRun.State.DONE:
                continue
            row.cells[f"{run.benchmark}/{run.split}/{run.language}"] = cell(run, run.language)
            if run.pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY:
                row.cells[f"{run.benchmark}/{run.split}/en"] = cell(run, "en")
        rows.append(row)
    return rows


def study_report(study: Study) -> dict[str, Any]:
    made = study.objects_made
    variant_ids = list(made.get("variants", {}).values())
    job_ids = ([made["english_base"]] if "english_base" in made else []) + variant_ids
    cols = columns(study)
    rows = table(study)
    return {
        "translation_jobs": TranslationJob.objects.filter(pk__in=made.get("translation_jobs", [])).select_related("dataset"),
        "campaign": Campaign.objects.filter(pk=made.get("campaign")).first() if made.get("campaign") else None,
        "snapshots": Snapshot.objects.filter(pk__in=made.get("snapshots", {}).values()).select_related("rule"),
        "training_jobs": TrainingJob.objects.filter(pk__in=job_ids).order_by("pk"),
        "columns": cols,
        "rows": rows,
        "grid": [(row, [row.cells.get(c["key"]) for c in cols]) for row in rows],
    }
