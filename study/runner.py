"""The study's runner: what one round of `pipeline.advance` knows, the helpers its steps
share, and steps 1-5 (world, import, translation, audit campaign, snapshots).

Steps 6-8 (training and evaluation) live in training_steps.py, as functions of a Runner;
pipeline.py walks the plan's steps over both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User

from audit.campaigns import CampaignSpec, create_campaign
from audit.models import Assessment, Campaign
from accounts.roles import ADMIN
from audit.simulated import ensure_simulated_annotators, grade_campaign
from catalog.models import Dataset
from catalog.world_datasets import import_world
from exports.build import create_rule, request_snapshot
from exports.models import FilterRule, Snapshot
from translation.models import TranslationJob
from translation.services import create_job as create_translation_job
from translation.services import enqueue as enqueue_translation
from translation.services import requeue as requeue_translation
from world.generator import generate_world

from . import plan
from .models import Study


class StudyFailed(RuntimeError):
    """A job the study depends on failed; the message names it and where to look."""


@dataclass
class Outcome:
    done: bool
    detail: str


class Runner:
    """One round of a study: what it knows (the study, its budget, the prefix of every name it
    makes), the helpers every step uses, and steps 1-5. Steps 6-8 are training_steps.py's."""

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
        return wait(jobs, TranslationJob.State.DONE, "translation jobs", lambda j: f"{j.done:,}/{j.total:,}")

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
        return wait(made, Snapshot.State.DONE, "snapshots", lambda s: f"{s.item_count:,} items")

    def snapshot(self, rule_name: str) -> Snapshot:
        return Snapshot.objects.filter(rule__name=rule_name, state=Snapshot.State.DONE).latest("created_at")


def wait(objects, done_state: str, what: str, describe: Callable) -> Outcome:
    """Done once every object is in `done_state`; the detail counts them and names a few still running."""
    finished = sum(o.state == done_state for o in objects)
    active = [o for o in objects if o.state != done_state]
    detail = f"{finished}/{len(objects)} {what} done"
    if active:
        detail += " · " + ", ".join(f"#{o.pk} {o.state} {describe(o)}" for o in active[:4])
    return Outcome(not active, detail)
