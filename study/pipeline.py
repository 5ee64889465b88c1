"""Advance a study through its plan, one step at a time, never blocking on a job.

`advance(study)` does the quick steps itself (generate, import, create rows) and hands
the long ones to the jobs that already exist for them (translation jobs, snapshot
builds, training jobs, evaluation runs). When a step waits on jobs it returns, and the
Celery task calls it again a few seconds later, so one worker with concurrency 1 can
run the study and its jobs side by side. Everything a step makes has a deterministic
name (`study-<size>-...`): a second run finds finished objects and reuses them, and a
failed job is requeued rather than duplicated.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from audit.campaigns import CampaignSpec, create_campaign
from audit.export.build import create_rule, request_snapshot
from audit.models import Assessment, Campaign, Dataset, FilterRule, Snapshot
from audit.roles import ADMIN
from audit.simulated import ensure_simulated_annotators, grade_campaign
from audit.world_datasets import import_world
from jobs import lifecycle
from training.jobs import recover_stalled_jobs
from translation.models import TranslationJob
from translation.services import create_job as create_translation_job
from translation.services import enqueue as enqueue_translation
from translation.services import requeue as requeue_translation
from world.generator import generate_world

from . import plan
from .models import Study


# A running study whose advance task has not looked at it for this long lost its worker
# (a round writes the heartbeat once, and may run a long quick step: not JOB_STALE_SECONDS).
STALE_SECONDS = 120


class StudyFailed(RuntimeError):
    """A job the study depends on failed; the message names it and where to look."""


@dataclass
class Outcome:
    done: bool
    detail: str


def start_study(*, world_size: str = "full", preset: str = "tiny", engine: str = "apertium", name: str = "") -> Study:
    """The study of that size (created once). When it is (again) QUEUED, the caller
    enqueues `advance`; a done study stays done, a running one keeps its chain."""
    plan.budget(world_size)  # unknown sizes fail here, before anything is stored
    study, _ = Study.objects.get_or_create(
        name=name or f"study-{world_size}", defaults={"world_size": world_size, "preset": preset, "engine": engine}
    )
    stalled = Study.objects.filter(lifecycle.stalled(seconds=STALE_SECONDS), pk=study.pk).exists()
    if study.state == Study.State.FAILED or stalled:
        # Failed: retry (finished steps are kept). Stalled: its worker stopped; start a new chain.
        study.state, study.message, study.finished_at = Study.State.QUEUED, "", None
        study.save(update_fields=["state", "message", "finished_at"])
    return study


def advance(study: Study) -> bool:
    """Run every step that can finish now; True once the whole study is done (or failed)."""
    now = timezone.now()
    if study.state in (Study.State.DONE, Study.State.FAILED):
        return True
    # Claim this round: if another chain advanced the study since we read it, stop ours.
    if not Study.objects.filter(pk=study.pk, heartbeat_at=study.heartbeat_at).update(heartbeat_at=now):
        return True
    if study.state == Study.State.QUEUED:
        study.state, study.started_at = Study.State.RUNNING, now
    study.heartbeat_at = now
    recover_stalled_jobs()  # a job whose worker died mid-study is requeued, not waited on forever
    runner = _Runner(study)
    try:
        for step in plan.STEPS:
            if study.steps.get(step, {}).get("state") == "done":
                continue
            study.step = step
            entry = study.steps.setdefault(step, {})
            started = datetime.fromisoformat(entry.setdefault("started", timezone.now().isoformat()))
            outcome = runner.STEP_FUNCTIONS[step](runner)
            # Wall time since the step began, its jobs' time included (not only this task's).
            entry["seconds"] = round((timezone.now() - started).total_seconds(), 1)
            entry.update(state="done" if outcome.done else "running", detail=outcome.detail)
            if not outcome.done:
                study.save()
                return False
        study.state, study.finished_at = Study.State.DONE, timezone.now()
    except Exception as exc:  # the study page shows it; the worker lives on
        tail = "".join(traceback.format_exception(exc)[-3:])
        study.state, study.finished_at = Study.State.FAILED, timezone.now()
        study.message = f"{type(exc).__name__}: {exc}" + ("" if isinstance(exc, StudyFailed) else f"\n\n{tail}")
        study.steps.setdefault(study.step, {})["state"] = "failed"
    study.save()
    return True


class _Runner:
    def __init__(self, study: Study) -> None:
        self.study = study
        self.budget = plan.budget(study.world_size)
        self.prefix = f"{study.name}-"
        self.world_dir = settings.DATA_ROOT / f"world-{study.world_size}"

    def failed_before_this_run(self, job) -> bool:
        """A job that failed in an earlier run of the study is retried; one that failed in
        this run stops the study (its message says why), so nothing loops forever."""
        if job.state != "failed":
            return False
        if job.finished_at and self.study.started_at and job.finished_at < self.study.started_at:
            return True
        raise StudyFailed(f"{type(job).__name__} {job.pk} ({job}) failed: {(job.message or '').strip()[:500]}")

    def remember(self, key: str, value) -> None:
        self.study.objects_made[key] = value

    def dataset(self, world_name: str) -> Dataset:
        return Dataset.objects.get(name=self.prefix + world_name)

    # --- 1-2: world and import ---------------------------------------------------------

    def world(self) -> Outcome:
        if not (self.world_dir / "manifest.json").exists():
            generate_world(self.world_dir, seed=0, size=self.study.world_size)
        return Outcome(True, f"{self.world_dir}")

    def import_(self) -> Outcome:
        results = import_world(self.world_dir, prefix=self.prefix)
        self.remember("datasets", {r.dataset.name: r.dataset.pk for r in results})
        total = sum(r.created + r.updated + r.unchanged for r in results)
        return Outcome(True, f"{len(results)} datasets, {total:,} items")

    # --- 3: translation ----------------------------------------------------------------

    def translate(self) -> Outcome:
        limits = {
            plan.TRAINING_DATASETS["instruct"]: self.budget.instruct_translations,
            plan.TRAINING_DATASETS["captions"]: self.budget.caption_translations,
        }
        names = [*plan.TRAINING_DATASETS.values(), *dict.fromkeys(ds for _, _, ds in self.budget.benchmarks)]
        jobs = []
        for world_name in names:
            dataset = self.dataset(world_name)
            job = (
                TranslationJob.objects.filter(dataset=dataset, engine=self.study.engine)
                .exclude(state=TranslationJob.State.CANCELLED)
                .order_by("-created_at")
                .first()
            )
            if job is None:
                options = dict(plan.INJECTED_ERRORS) if world_name in plan.TRAINING_DATASETS.values() else {}
                job = create_translation_job(
                    dataset, engine=self.study.engine, limit=limits.get(world_name), options=options
                )
                enqueue_translation(job)
            elif self.failed_before_this_run(job):
                job = requeue_translation(job)
            jobs.append(job)
        self.remember("translation_jobs", [j.pk for j in jobs])
        return _wait(jobs, TranslationJob.State.DONE, "translation jobs", lambda j: f"{j.done:,}/{j.total:,}")

    # --- 4: the audit campaign ---------------------------------------------------------

    def campaign(self) -> Outcome:
        """Open the campaign for simulated annotators and let them grade it (through the
        grading services, as people do); a rerun grades only what is left."""
        name = f"{self.prefix}instruct"
        campaign = Campaign.objects.filter(name=name).first()
        if campaign is None:
            admin = User.objects.filter(is_superuser=True).order_by("pk").first() or User.objects.filter(
                groups__name=ADMIN
            ).first()
            if admin is None:  # a campaign names who opened it
                return Outcome(True, "no admin yet: no campaign, every grade in this study is automatic (suggested)")
            annotators = ensure_simulated_annotators(plan.SIMULATED_ANNOTATORS)
            spec = CampaignSpec(
                name=name, dataset=self.dataset(plan.TRAINING_DATASETS["instruct"]), annotators=annotators,
                overlap=len(annotators), sampling=Campaign.Sampling.STRATIFIED,
                sample_size=self.budget.campaign_sample, engine=self.study.engine,
            )  # fmt: skip
            campaign = create_campaign(spec, acting_user=admin)
        self.remember("campaign", campaign.pk)
        summary = grade_campaign(campaign, seed=0)
        graded = Assessment.objects.filter(entry__campaign=campaign).count()
        return Outcome(
            True, f"campaign {name}: {campaign.size} translations, {graded:,} grades by simulated annotators"
            f" ({summary.graded:,} in this run)"
        )

    # --- 5: snapshots ------------------------------------------------------------------

    def snapshot_specs(self) -> dict[str, tuple[dict, str]]:
        """Rule name -> (rule spec, export format): three cuts of each training set, and
        every translation of each benchmark split (benchmarks are not filtered)."""
        specs: dict[str, tuple[dict, str]] = {}
        for rule, min_grade in plan.RULES.items():
            for kind, world_name in plan.TRAINING_DATASETS.items():
                spec = {"min_grade": min_grade, "unaudited": "automatic", "datasets": [self.prefix + world_name]}
                specs[f"{self.prefix}{rule}-{kind}"] = ({**spec, "engine": self.study.engine}, "llava")
        for benchmark, split, world_name in self.budget.benchmarks:
            spec = {"min_grade": "low", "unaudited": "automatic", "datasets": [self.prefix + world_name]}
            if benchmark == "pope":
                spec["splits"] = [split]
            specs[self.bench_rule(benchmark, split)] = ({**spec, "engine": self.study.engine}, "benchmark")
        return specs

    def bench_rule(self, benchmark: str, split: str) -> str:
        return f"{self.prefix}bench-{benchmark}-{split}"

    def snapshots(self) -> Outcome:
        made = []
        for name, (spec, fmt) in self.snapshot_specs().items():
            rule = FilterRule.objects.filter(name=name).first() or create_rule(name, spec)
            snapshot = rule.snapshots.filter(format=fmt).order_by("-created_at").first()
            if snapshot is None or self.failed_before_this_run(snapshot):
                snapshot, _ = request_snapshot(rule, fmt)
            made.append(snapshot)
        self.remember("snapshots", {s.rule.name: s.pk for s in made})
        return _wait(made, Snapshot.State.DONE, "snapshots", lambda s: f"{s.item_count:,} items")

    def snapshot(self, rule_name: str) -> Snapshot:
        return Snapshot.objects.filter(rule__name=rule_name, state=Snapshot.State.DONE).latest("created_at")

    # --- 6-8: training and evaluation (study/training_steps.py) ------------------------

    def english_base(self) -> Outcome:
        from .training_steps import english_base

        return english_base(self)

    def variants(self) -> Outcome:
        from .training_steps import variants

        return variants(self)

    def evaluate(self) -> Outcome:
        from .training_steps import evaluate

        return evaluate(self)

    STEP_FUNCTIONS: dict[str, Callable[[_Runner], Outcome]] = {
        "world": world,
        "import": import_,
        "translate": translate,
        "campaign": campaign,
        "snapshots": snapshots,
        "english_base": english_base,
        "variants": variants,
        "evaluate": evaluate,
    }


def _wait(objects, done_state: str, what: str, describe: Callable) -> Outcome:
    finished = sum(o.state == done_state for o in objects)
    active = [o for o in objects if o.state != done_state]
    detail = f"{finished}/{len(objects)} {what} done"
    if active:
        detail += " · " + ", ".join(f"#{o.pk} {o.state} {describe(o)}" for o in active[:4])
    return Outcome(not active, detail)
