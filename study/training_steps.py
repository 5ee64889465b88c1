"""The study's training and evaluation steps: the English base, variants 2-4 on each
rule's snapshots, and every evaluation, translation-only (variant 1) included.

Each step creates what is missing (by deterministic name), requeues what failed in an
earlier run, and reports how many of its jobs are done.
"""

from __future__ import annotations

from typing import Any

from evaluation.models import EvaluationRun
from evaluation.services import create_evaluation_run
from evaluation.services import requeue as requeue_run
from training.jobs import create_training_job
from training.jobs import requeue as requeue_job
from training.models import TrainingJob
from training.recipes import template

from . import plan
from .runner import Outcome, Runner


def _stage_overrides(runner: Runner, template_name: str, steps: dict[str, int],
                     batch_sizes: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:  # fmt: skip
    stages = template(template_name, runner.study.preset)
    batch = batch_sizes or {}
    return {s.name: {"max_steps": steps[s.name], "batch_size": batch.get(s.name, runner.budget.batch_size)}
            for s in stages}  # fmt: skip


def _job(runner: Runner, name: str, **kwargs: Any) -> TrainingJob:
    job = TrainingJob.objects.filter(name=name).order_by("-created_at").first()
    if job is None or job.state == TrainingJob.State.CANCELLED:
        return create_training_job(name=name, preset=runner.study.preset, **kwargs)
    if runner.failed_before_this_run(job):
        return requeue_job(job)
    return job


def _wait_jobs(jobs: list[TrainingJob]) -> Outcome:
    done = sum(job.state == TrainingJob.State.DONE for job in jobs)
    running = [j for j in jobs if j.state != TrainingJob.State.DONE]
    detail = f"{done}/{len(jobs)} training jobs done"
    if running:
        j = running[0]
        detail += f" · #{j.pk} {j.name} {j.state}, stage {j.stage_index + 1}, step {j.step}/{j.total_steps}"
    return Outcome(not running, detail)


def english_base(runner: Runner) -> Outcome:
    captions = runner.dataset(plan.TRAINING_DATASETS["captions"])
    instruct = runner.dataset(plan.TRAINING_DATASETS["instruct"])
    job = _job(
        runner, f"{runner.prefix}english-base", template="english_base",
        data={"en_pretrain": captions, "en_finetune": instruct},
        overrides={"stages": _stage_overrides(runner, "english_base", runner.budget.base_steps,
                                              runner.budget.base_batch_sizes)},
    )  # fmt: skip
    runner.remember("english_base", job.pk)
    return _wait_jobs([job])


def _variant_data(runner: Runner, variant: str, rule: str) -> dict[str, Any]:
    roles = {role for stage in template(variant, runner.study.preset) for role in stage.data}
    sources = {
        "en_pretrain": runner.dataset(plan.TRAINING_DATASETS["captions"]),
        "fr_pretrain": runner.snapshot(f"{runner.prefix}{rule}-captions"),
        "fr_finetune": runner.snapshot(f"{runner.prefix}{rule}-instruct"),
    }
    return {role: sources[role] for role in sorted(roles)}


def variants(runner: Runner) -> Outcome:
    base = TrainingJob.objects.get(pk=runner.study.objects_made["english_base"])
    jobs = []
    for rule in plan.RULES:
        for variant in plan.VARIANTS:
            jobs.append(
                _job(
                    runner, f"{runner.prefix}{variant}-{rule}", template=variant, base_job=base,
                    data=_variant_data(runner, variant, rule),
                    overrides={"stages": _stage_overrides(runner, variant, runner.budget.variant_steps)},
                )  # fmt: skip
            )
    runner.remember("variants", {job.name: job.pk for job in jobs})
    return _wait_jobs(jobs)


def _runs_wanted(runner: Runner) -> list[tuple[str, TrainingJob, str, str, str, str]]:
    """(row, model job, benchmark, split, language, pipeline) for every evaluation."""
    base = TrainingJob.objects.get(pk=runner.study.objects_made["english_base"])
    wanted = []
    for benchmark, split, _ in runner.budget.benchmarks:
        wanted += [
            ("english_base", base, benchmark, split, "en", "direct"),
            ("english_base", base, benchmark, split, "fr", "direct"),
            ("translation_only", base, benchmark, split, "fr", "translation_only"),
        ]
        for name, pk in runner.study.objects_made["variants"].items():
            job = TrainingJob.objects.get(pk=pk)
            row = name.removeprefix(runner.prefix)
            wanted += [(row, job, benchmark, split, "fr", "direct"), (row, job, benchmark, split, "en", "direct")]
    return wanted


def evaluate(runner: Runner) -> Outcome:
    runs: dict[str, list[int]] = {}
    objects = []
    datasets = {benchmark: world_name for benchmark, _, world_name in runner.budget.benchmarks}
    for row, job, benchmark, split, language, pipeline in _runs_wanted(runner):
        name = f"{runner.prefix}{row}"
        run = (
            EvaluationRun.objects.filter(
                training_job=job, benchmark=benchmark, split=split, language=language, pipeline=pipeline
            )
            .exclude(state=EvaluationRun.State.CANCELLED)
            .order_by("-created_at")
            .first()
        )
        if run is None:
            snapshot = runner.snapshot(runner.bench_rule(benchmark, split)) if language == "fr" else None
            run = create_evaluation_run(
                training_job=job, benchmark=benchmark, split=split, language=language, pipeline=pipeline,
                engine=runner.study.engine, snapshot=snapshot, dataset=runner.dataset(datasets[benchmark]),
                limit=runner.budget.eval_items, max_new_tokens=runner.budget.max_new_tokens, name=name,
            )  # fmt: skip
        elif runner.failed_before_this_run(run):
            run = requeue_run(run)
        runs.setdefault(row, []).append(run.pk)
        objects.append(run)
    runner.remember("evaluations", runs)
    done = sum(r.state == EvaluationRun.State.DONE for r in objects)
    waiting = [r for r in objects if r.state != EvaluationRun.State.DONE]
    detail = f"{done}/{len(objects)} evaluation runs done"
    if waiting:
        detail += f" · #{waiting[0].pk} {waiting[0]} {waiting[0].state} {waiting[0].done}/{waiting[0].total}"
    return Outcome(not waiting, detail)
