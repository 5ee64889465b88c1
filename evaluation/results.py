"""The comparison of adaptation variants: rows of models, columns of benchmark x language.

Read-only queries over done EvaluationRuns, shared by the results page, its CSV and
the API (one place decides what a cell shows). A model's row is its variant: the
training job's template with the rule of its French data, "translation-only" for the
study's variant 1, else the run's name or checkpoint path. A cell is the latest done
run's reference metric (POPE: F1, as LLaVA reports; ScienceQA and TextVQA: accuracy)
with its 95% CI, the French-aware number beside it, and the run's diagnostic flags
(those of the parser the cell reports, never two contradicting ones).

Pages and the CSV show every number in percent with one decimal (`percent`); the API
keeps the fractions. The translation-only row's French columns are its own runs; its
English columns are the same model's direct English runs (answering in English needs
no translation), or empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from audit import agreement
from audit.models import Assessment, Campaign
from exports.build import snapshot_path
from exports.models import Snapshot
from training.models import JobState, LossPoint, TrainingJob
from translation.models import Translation

from .benchmark_prompts import POPE_SPLITS
from .models import EvaluationRun

COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (key, language)
    for key in (*(f"pope/{split}" for split in POPE_SPLITS), "scienceqa", "textvqa")
    for language in ("en", "fr")
)
HEADLINE = {"pope": "f1", "scienceqa": "accuracy", "textvqa": "accuracy"}


def column_groups(columns: Iterable[tuple[str, str]] = COLUMNS) -> list[dict[str, Any]]:
    """The two-row header: one group per benchmark (its title and metric), its languages below."""
    groups: dict[str, dict[str, Any]] = {}
    for key, language in columns:
        benchmark, _, split = key.partition("/")
        title = f"POPE {split}" if split else {"scienceqa": "ScienceQA", "textvqa": "TextVQA"}.get(key, key)
        group = groups.setdefault(key, {"key": key, "title": title, "metric": HEADLINE[benchmark], "languages": []})
        group["languages"].append(language)
    return list(groups.values())


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


def percent(value: float | None) -> str:
    """0.5234 -> "52.3"; None -> "" (the one unit of every page and of the CSV)."""
    return "" if value is None else f"{100 * float(value):.1f}"


_OPPOSITE = {"pope_yes_bias": "pope_no_bias", "pope_no_bias": "pope_yes_bias"}


def cell_flags(diagnostics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flags a cell shows: the reference parser's first (the cell reports its number),
    then other parsers' flags unless they contradict one already kept. LLaVA's parser reads
    a French "Non." as yes while the French-aware one reads no: the run page lists both
    with their parsers; a table cell must not say yes-bias and no-bias at once."""
    ordered = sorted(diagnostics, key=lambda flag: "reference" not in flag.get("parsers", ["reference"]))
    kept: list[dict[str, Any]] = []
    for flag in ordered:
        if not any(k["code"] in (flag["code"], _OPPOSITE.get(flag["code"])) for k in kept):
            kept.append(flag)
    return kept


def cell(run: EvaluationRun) -> dict[str, Any]:
    metric = HEADLINE[run.benchmark]
    reference, french = run.metrics.get("reference", {}), run.metrics.get("french", {})
    ci = reference.get("ci95", {}).get(metric) or [None, None]
    return {
        "run_id": run.pk, "metric": metric, "value": reference.get(metric), "ci_low": ci[0], "ci_high": ci[1],
        "french": french.get(metric), "n": reference.get("n"), "flags": cell_flags(run.diagnostics or []),
        "english": run.metrics.get("english", {}).get(metric), "pipeline": run.pipeline,
    }  # fmt: skip


def _model_of(run: EvaluationRun) -> tuple[int | None, str]:
    return (run.training_job_id, "" if run.training_job_id else run.model_path)


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
    direct_english: dict[tuple[Any, str], EvaluationRun] = {}  # (model, column) -> latest direct EN run
    translation_only: list[tuple[Row, EvaluationRun]] = []
    for run in runs:
        row = rows.setdefault(label(run), Row(label(run)))
        key = f"{column_key(run)}:{run.language}"
        if run.pipeline == EvaluationRun.Pipeline.DIRECT and run.language == "en":
            direct_english.setdefault((_model_of(run), column_key(run)), run)
        if key in row.cells:
            continue
        if run.pipeline == EvaluationRun.Pipeline.TRANSLATION_ONLY:
            translation_only.append((row, run))
        row.cells[key] = cell(run)
        if run.training_job is not None and run.training_job not in row.jobs:
            row.jobs.append(run.training_job)
        if run.benchmark == "pope":
            reference = run.metrics.get("reference", {})
            row.pope[key] = {m: reference.get(m) for m in ("accuracy", "precision", "recall", "f1", "yes_ratio")}
        if run.benchmark == "scienceqa" and "groups" in run.metrics.get("reference", {}):
            row.scienceqa_groups[run.language] = run.metrics["reference"]["groups"]
    for row, run in translation_only:  # its English columns: the same model asked in English, directly
        english = direct_english.get((_model_of(run), column_key(run)))
        key = f"{column_key(run)}:en"
        if english is not None and key not in row.cells:
            row.cells[key] = {**cell(english), "shared": "the model's direct English run (no translation needed)"}
    ordered = sorted(rows.values(), key=lambda row: row.variant)
    mark_best(ordered)
    return ordered


def mark_best(rows: list[Row]) -> None:
    """`best` on the highest value of each column (ties all marked) when two models or more have one."""
    for key, language in COLUMNS:
        cells = [c for row in rows if (c := row.cells.get(f"{key}:{language}")) and c["value"] is not None]
        top = max((c["value"] for c in cells), default=None)
        for c in cells:
            c["best"] = len(cells) > 1 and c["value"] == top


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
    """The table as CSV rows; every number in percent with one decimal, as the header says."""
    header = ["variant"]
    for key, language in COLUMNS:
        header += [f"{key} {language} (%)", f"{key} {language} ci95 low (%)", f"{key} {language} ci95 high (%)",
                   f"{key} {language} french-aware (%)", f"{key} {language} flags"]  # fmt: skip
    out: list[list[Any]] = [header]
    for row in rows:
        line: list[Any] = [row.variant]
        for key, language in COLUMNS:
            c = row.cells.get(f"{key}:{language}")
            numbers = [percent(c[name]) for name in ("value", "ci_low", "ci_high", "french")] if c else [""] * 4
            line += [*numbers, " ".join(f["code"] for f in c["flags"]) if c else ""]
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
    """Plotly traces: one per (job, stage), read straight from LossPoint. A job behind several
    rows (the English base also answers for translation-only) is drawn once, named by them all."""
    variants: dict[int, list[str]] = {}
    jobs: dict[int, TrainingJob] = {}
    for row in rows:
        for job in (j for r in row.jobs for j in job_chain(r)):
            jobs.setdefault(job.pk, job)
            if row.variant not in variants.setdefault(job.pk, []):
                variants[job.pk].append(row.variant)
    traces = []
    for pk, job in jobs.items():
        points = LossPoint.objects.filter(job=job).values_list("stage_index", "step", "loss")
        stages: dict[int, tuple[list[int], list[float]]] = {}
        for stage, step, loss in points:
            stages.setdefault(stage, ([], []))[0].append(step)
            stages[stage][1].append(loss)
        for stage, (steps, losses) in stages.items():
            traces.append({"x": steps, "y": losses, "mode": "lines", "type": "scatter",
                           "name": f"{' / '.join(variants[pk])}: job {pk} stage {stage + 1}"})  # fmt: skip
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
