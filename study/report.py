"""What the study page shows: the objects behind each step and the comparison table.

The table is evaluation.results' comparison (one place decides what a cell shows: the
reference metric with its 95% CI, the French-aware number, the diagnostics), limited to
the study's runs and labelled by the study's rows: English base, translation-only, and
each variant on each rule. The translation-only row's French columns are its own runs;
its English columns the English base's direct English runs (evaluation.results fills
them: answering an English question needs no translation).
"""

from __future__ import annotations

from typing import Any

from audit.models import Campaign
from evaluation.models import EvaluationRun
from evaluation.results import Row, column_groups, comparison
from exports.models import Snapshot
from training.models import TrainingJob
from translation.models import TranslationJob

from . import plan
from .models import Study


def columns(study: Study) -> list[tuple[str, str]]:
    """(column key, language), grouped by benchmark as on /results/: EN then FR."""
    return [
        ("pope/" + split if benchmark == "pope" else benchmark, language)
        for benchmark, split, _ in plan.budget(study.world_size).benchmarks
        for language in ("en", "fr")
    ]


def row_title(key: str) -> tuple[str, str]:
    """("2 · EN pretraining → French LoRA", "high") for "variant2-high"."""
    variant, _, rule = key.partition("-")
    return plan.VARIANT_TITLES.get(key, plan.VARIANT_TITLES.get(variant, key)), rule


def table(study: Study) -> list[tuple[Row, str, str]]:
    """(row, title, rule) in plan order: base, translation-only, then variants by rule."""
    row_of = {pk: key for key, pks in study.objects_made.get("evaluations", {}).items() for pk in pks}
    rows = {row.variant: row for row in comparison(row_of, label=lambda run: row_of[run.pk])}
    order = ["english_base", "translation_only"] + [f"{v}-{r}" for r in plan.RULES for v in plan.VARIANTS]
    return [(rows[key], *row_title(key)) for key in order if key in rows]


def study_report(study: Study) -> dict[str, Any]:
    made = study.objects_made
    job_ids = ([made["english_base"]] if "english_base" in made else []) + list(made.get("variants", {}).values())
    cols = columns(study)
    rows = table(study)
    jobs = {job.pk: job for job in TrainingJob.objects.filter(pk__in=job_ids)}
    return {
        "translation_jobs": TranslationJob.objects.filter(pk__in=made.get("translation_jobs", [])).select_related("dataset"),
        "campaign": Campaign.objects.filter(pk=made.get("campaign")).first() if made.get("campaign") else None,
        "snapshots": Snapshot.objects.filter(pk__in=made.get("snapshots", {}).values()).select_related("rule"),
        "training_jobs": [jobs[pk] for pk in job_ids if pk in jobs],
        "columns": cols,
        "groups": column_groups(cols),
        "grid": [
            {"key": row.variant, "title": title, "rule": rule, "job": row.jobs[0] if row.jobs else None,
             "cells": [row.cells.get(f"{key}:{language}") for key, language in cols]}
            for row, title, rule in rows
        ],  # fmt: skip
        "evaluations_done": EvaluationRun.objects.filter(pk__in=[pk for pks in made.get("evaluations", {}).values() for pk in pks], state="done").count(),
    }
