"""The home page: the one page that reads every app (datasets, campaigns, jobs, snapshots,
results, studies), so it sits above them all.

The home page depends on the role (accounts/roles.py): an annotator sees the campaigns they
grade in with their progress and a Grade button; a reviewer the latest results, every
campaign's progress and the datasets; an admin also the jobs running now, of every kind.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.roles import ADMIN, ANNOTATOR, REVIEWER, role_of
from audit.models import Campaign, Membership, PendingAdjudication
from catalog.models import Dataset, Item
from evaluation.models import EvaluationRun
from evaluation.results import HEADLINE, variant_name
from exports.models import Snapshot
from study.models import Study
from training.models import ACTIVE_STATES, JobState, TrainingJob
from translation.models import Translation, TranslationJob


def _count_per_dataset(queryset, dataset_field: str) -> Subquery:
    """A correlated COUNT, so item and translation counts do not multiply in one join."""
    counted = queryset.order_by().values(dataset_field).annotate(n=Count("pk")).values("n")
    return Subquery(counted, output_field=IntegerField())


def _grades_done(campaign_field: str) -> Subquery:
    """The campaign's regular grades, summed from the members' counters (audit/payloads.py `progress`)."""
    summed = (
        Membership.objects.filter(campaign_id=OuterRef(campaign_field)).order_by().values("campaign_id")
        .annotate(n=Sum("graded")).values("n")
    )  # fmt: skip
    return Subquery(summed, output_field=IntegerField())


def _progress(done: int | None, size: int, overlap: int) -> dict[str, Any]:
    total = size * overlap
    done = done or 0
    return {"done": done, "total": total, "percent": 100.0 * done / total if total else 100.0}


def datasets():
    return Dataset.objects.annotate(
        item_count=_count_per_dataset(Item.objects.filter(dataset_id=OuterRef("pk")), "dataset_id"),
        translation_count=_count_per_dataset(
            Translation.objects.filter(item__dataset_id=OuterRef("pk")), "item__dataset_id"
        ),
    )


def annotator_work(user) -> list[dict[str, Any]]:
    """The user's campaigns, those with grades left first: theirs graded, the campaign's progress,
    and whether they can still grade (one grade per translation each, k per translation in all)."""
    memberships = (
        Membership.objects.filter(annotator=user).select_related("campaign__dataset")
        .annotate(campaign_done=_grades_done("campaign_id")).order_by("-campaign__created_at")
    )  # fmt: skip
    work = []
    for m in memberships:
        campaign = m.campaign
        progress = _progress(m.campaign_done, campaign.size, campaign.overlap)
        open_to_me = progress["done"] < progress["total"] and m.graded < campaign.size
        work.append({"campaign": campaign, "mine": m.graded, "progress": progress, "open": open_to_me})
    return sorted(work, key=lambda w: not w["open"])


def campaign_overview() -> list[dict[str, Any]]:
    pending = PendingAdjudication.objects.filter(entry__campaign_id=OuterRef("pk")).order_by().values(
        "entry__campaign_id").annotate(n=Count("pk")).values("n")  # fmt: skip
    campaigns = Campaign.objects.select_related("dataset").annotate(
        done=_grades_done("pk"), pending=Subquery(pending, output_field=IntegerField())
    )[:20]
    return [{"campaign": c, "progress": _progress(c.done, c.size, c.overlap), "pending": c.pending or 0} for c in campaigns]


def latest_results(limit: int = 8) -> list[dict[str, Any]]:
    runs = (
        EvaluationRun.objects.filter(state=JobState.DONE).select_related("training_job")
        .prefetch_related("training_job__snapshots__rule").order_by("-finished_at", "-pk")[:limit]
    )  # fmt: skip
    return [
        {"run": run, "variant": variant_name(run), "metric": HEADLINE.get(run.benchmark, ""),
         "value": run.metrics.get("reference", {}).get(HEADLINE.get(run.benchmark, ""))}
        for run in runs
    ]  # fmt: skip


def running_jobs() -> list[dict[str, Any]]:
    """Every kind of job queued or running, each with its page and progress: what an admin watches."""
    def line(label: str, job, url: str, arg, done: int | None = None, total: int | None = None) -> dict[str, Any]:
        return {"label": label, "state": job.state, "href": reverse(url, args=[arg]), "done": done, "total": total}

    translations = TranslationJob.objects.filter(state__in=TranslationJob.ACTIVE_STATES).select_related("dataset")
    builds = Snapshot.objects.filter(state__in=Snapshot.ACTIVE_STATES).select_related("rule")
    studies = Study.objects.filter(state__in=(Study.State.QUEUED, Study.State.RUNNING))
    return [
        {"kind": "Translation", "list": reverse("translation:jobs"),
         "jobs": [line(f"#{j.pk} {j.dataset.name} ({j.engine})", j, "translation:job", j.pk, j.done, j.total) for j in translations]},
        {"kind": "Snapshot build", "list": reverse("export:snapshots"),
         "jobs": [line(f"#{s.pk} {s.rule.name} ({s.format})", s, "export:snapshot", s.pk) for s in builds]},
        {"kind": "Training", "list": reverse("training:jobs"),
         "jobs": [line(f"#{j.pk} {j}", j, "training:job", j.pk, j.step, j.total_steps) for j in TrainingJob.objects.filter(state__in=ACTIVE_STATES)]},
        {"kind": "Evaluation", "list": reverse("evaluation:evaluations"),
         "jobs": [line(f"#{r.pk} {r}", r, "evaluation:evaluation", r.pk, r.done, r.total)
                  for r in EvaluationRun.objects.filter(state__in=ACTIVE_STATES).select_related("training_job")]},
        {"kind": "Study", "list": reverse("study:studies"),
         "jobs": [line(f"{st.name} ({st.step})", st, "study:study", st.name) for st in studies]},
    ]  # fmt: skip


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    context: dict[str, Any] = {"role": role}
    if role == ANNOTATOR:
        context["work"] = annotator_work(request.user)
    if role in (REVIEWER, ADMIN):
        context["results"] = latest_results()
        context["campaigns"] = campaign_overview()
        context["datasets"] = datasets()
    if role == ADMIN:
        context["running"] = running_jobs()
    return render(request, "home/home.html", context)
