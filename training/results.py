"""The comparison of adaptation variants: rows of models, columns of benchmark x language.

Read-only queries over done EvaluationRuns, shared by the results page, its CSV and
the API (one place decides what a cell shows). A model's row is its variant: the
training job's template with the rule of its French data, "translation-only" for the
study's variant 1, else the run's name or checkpoint path. A cell is the latest done
run's reference metric (POPE: F1, as LLaVA reports; ScienceQA and TextVQA: accuracy)
with its 95% CI, the French-aware number beside it, and the run's diagnostic flags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from audit import agreement
from audit.export.build import snapshot_path
from audit.models import Assessment, Campaign, Snapshot
from translation.models import Translation

from .benchmark_prompts import POPE_SPLITS
from .models import EvaluationRun, JobState, LossPoint, TrainingJob

COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (key, language)
    for key in (*(f"pope/{split}" for split in POPE_SPLITS), "scienceqa", "textvqa")
    for language in ("en", "fr")
)
HEADLINE = {"pope": "f1", "scienceqa": "accuracy", "textvqa": "accuracy"}


def column_key(run: EvaluationRun) -> str:
    return f"pope/{run.split}" if run.benchmark == "pope" else run.benchmark


def variant_name(run: EvaluationRun) -> str:
    if run.pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY:
        return "translation-only"
    job = run.training_job
    if job is not None:
        rules = sorted({s.rule.name for s in job.snapshots.all()})
        return f"{job.template} · {', '.join(rules)}" if rules else job.template
    return run.name or run.model_path


@dataclass
class Row:
    variant: str
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: list[TrainingJob] = field(default_factory=list)
    pope: dict[str, dict[str, Any]] = field(default_factory=dict)
    scienceqa_groups: dict[str, Any] = field(default_factory=dict)


def cell(run: EvaluationRun) -> dict[str, Any]:
    metric = HEADLINE[run.benchmark]
    reference, french = run.metrics.get("reference", {}), run.metrics.get("french", {})
    ci = reference.get("ci95", {}).get(metric) or [None, None]
    return {
        "run_id": run.pk, "metric": metric, "value": reference.get(metric), "ci_low": ci[0], "ci_high": ci[1],
        "french": french.get(metric), "n": reference.get("n"), "flags": run.diagnostics,
        "english": run.metrics.get("english", {}).get(metric),
    }  # fmt: skip


def comparison(run_ids: Iterable[int] | None = None, label: Callable[[EvaluationRun], str] = variant_name) -> list[Row]:
    """One row per `label` (default: the variant); the latest done run fills each cell
    (runs come newest first). `run_ids` limits the table to some runs (a study's)."""
    runs = (
        EvaluationRun.objects.filter(state=JobState.DONE)
        .select_related("training_job__base_job")
        .prefetch_related("training_job__snapshots__rule")
        .order_by("-finished_at", "-pk")
    )
    if run_ids is not None:
        runs = runs.filter(pk__in=list(run_ids))
    rows: dict[str, Row] = {}
    for run in runs:
        row = rows.setdefault(label(run), Row(label(run)))
        key = f"{column_key(run)}:{run.language}"
        if key in row.cells:
            continue
        row.cells[key] = cell(run)
        if run.training_job is not None and run.training_job not in row.jobs:
            row.jobs.append(run.training_job)
        if run.benchmark == "pope":
            reference = run.metrics.get("reference", {})
            row.pope[key] = {m: reference.get(m) for m in ("accuracy", "precision", "recall", "f1", "yes_ratio")}
        if run.benchmark == "scienceqa" and "groups" in run.metrics.get("reference", {}):
            row.scienceqa_groups[run.language] = run.metrics["reference"]["groups"]
    return sorted(rows.values(), key=lambda row: row.variant)


def table_json(rows: list[Row]) -> dict[str, Any]:
    return {
        "columns": [{"key": f"{key}:{language}", "benchmark": key, "language": language} for key, language in COLUMNS],
        "rows": [
            {"variant": row.variant, "cells": row.cells, "jobs": [job.pk for job in row.jobs],
             "pope": row.pope, "scienceqa_groups": row.scienceqa_groups}
            for row in rows
        ],
    }  # fmt: skip


def csv_rows(rows: list[Row]) -> list[list[Any]]:
    header = ["variant"]
    for key, language in COLUMNS:
        header += [f"{key} {language}", f"{key} {language} ci95 low", f"{key} {language} ci95 high",
                   f"{key} {language} french-aware", f"{key} {language} flags"]  # fmt: skip
    out: list[list[Any]] = [header]
    for row in rows:
        line: list[Any] = [row.variant]
        for key, language in COLUMNS:
            c = row.cells.get(f"{key}:{language}")
            line += [c["value"], c["ci_low"], c["ci_high"], c["french"], " ".join(f["code"] for f in c["flags"])] if c else [""] * 5
        out.append(line)
    return out


def job_chain(job: TrainingJob) -> list[TrainingJob]:
    """The job and the jobs it started from (base_job), oldest first."""
    chain, seen = [], set()
    while job is not None and job.pk not in seen:
        chain.append(job)
        seen.add(job.pk)
        job = job.base_job
    return chain[::-1]


def loss_curves(rows: list[Row]) -> list[dict[str, Any]]:
    """Plotly traces: one per (variant, job, stage), read straight from LossPoint."""
    traces = []
    for row in rows:
        for job in {j.pk: j for r in row.jobs for j in job_chain(r)}.values():
            points = LossPoint.objects.filter(job=job).values_list("stage_index", "step", "loss")
            stages: dict[int, tuple[list[int], list[float]]] = {}
            for stage, step, loss in points:
                stages.setdefault(stage, ([], []))[0].append(step)
                stages[stage][1].append(loss)
            for stage, (steps, losses) in stages.items():
                traces.append({"x": steps, "y": losses, "mode": "lines", "type": "scatter",
                               "name": f"{row.variant}: job {job.pk} stage {stage + 1}"})  # fmt: skip
    return traces


def audit_summary(snapshot: Snapshot) -> dict[str, Any]:
    """Shares of the kept records by grade and by grade source (the snapshot's counts), and
    the annotators' agreement in the campaigns over the snapshot's datasets (controls left out)."""
    counts = snapshot.counts or {}
    total = snapshot.item_count or 1
    ratings = list(
        Assessment.objects.filter(entry__campaign__in=_campaigns(snapshot), entry__is_control=False).values_list(
            "entry_id", "annotator__username", "grade"
        )
    )
    return {
        "grades": {g: (counts.get("grade", {}).get(g, 0), counts.get("grade", {}).get(g, 0) / total)
                   for g in ("high", "moderate", "low")},
        "sources": counts.get("source", {}),
        "items": snapshot.item_count,
        "agreement": {"grades": len(ratings), "percent": agreement.percent_agreement(ratings).value,
                      "alpha": agreement.krippendorff_alpha(ratings).value},
    }  # fmt: skip


def _campaigns(snapshot: Snapshot):
    datasets = (snapshot.rule_spec or {}).get("datasets") or []
    return Campaign.objects.filter(dataset__name__in=datasets) if datasets else Campaign.objects.none()


def provenance(snapshot: Snapshot) -> dict[str, Any]:
    """rule <- campaigns <- translation engine + prompt version behind a snapshot."""
    campaigns = _campaigns(snapshot)
    engine = {"engine": snapshot.rule_spec.get("engine", ""), "prompt_version": snapshot.rule_spec.get("prompt_version", "")}
    if snapshot.items_file and not engine["engine"]:
        with snapshot_path(snapshot.items_file).open() as ids:
            parts = ids.readline().strip().split("\t")
        translation = Translation.objects.filter(pk=int(parts[1])).first() if len(parts) == 2 and parts[1].isdigit() else None
        if translation is not None:
            engine = {"engine": translation.engine, "model": translation.model, "prompt_version": translation.prompt_version}
    return {"rule": snapshot.rule, "campaigns": list(campaigns), "engine": engine}
