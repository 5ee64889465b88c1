"""Training job pages: the list, the launch form (admins), the live job page and its loss points.

Reviewers read; only admins launch, cancel and requeue (audit/access.py). The job page
polls its progress (htmx) and the loss points (JSON, only points after the last one
it has) every 2 s while the job is queued or running.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import READERS, require_role
from accounts.roles import ADMIN, role_of
from jobs.actions import apply_job_action

from . import jobs
from .forms import TrainingJobForm
from .models import LossPoint, TrainingJob, TrainingNode


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *READERS)
    context = {"jobs": TrainingJob.objects.all()[:200], "role": role_of(request.user)}
    return render(request, "training/jobs.html", context)


@login_required
def job_new(request: HttpRequest) -> HttpResponse:
    require_role(request.user, ADMIN)
    form = TrainingJobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = jobs.create_training_job(**form.job_arguments(), created_by=request.user)
        except jobs.JobValidationError as error:
            form.show(error)
        else:
            return redirect("training:job", job_id=job.pk)
    return render(request, "training/job_new.html", {"form": form, "role": role_of(request.user)})


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    require_role(request.user, *READERS)
    job = get_object_or_404(TrainingJob.objects.select_related("base_job"), pk=job_id)
    template = "training/_job_progress.html" if request.htmx else "training/job.html"
    context = {"job": job, "role": role_of(request.user), "data": _data_rows(job), **_node_rows(job)}
    return render(request, template, context)


def _node_rows(job: TrainingJob) -> dict:
    """A multi-node job's machines in its latest attempt, and those that have not joined yet."""
    if job.nodes == 1 and not job.nodes_run.exists():
        return {"nodes": [], "missing_nodes": []}
    nodes = list(TrainingNode.objects.filter(job=job, attempt=job.attempts))
    for node in nodes:
        node.ranks = node.rank_range(job.gpus_per_node)
    joined = {node.index for node in nodes}
    return {"nodes": nodes, "missing_nodes": [i for i in range(job.nodes) if i not in joined] if job.is_active else []}


def _data_rows(job: TrainingJob) -> list[dict]:
    return [{"role": role, **source} for role, source in sorted(job.data.items())]


@login_required
def job_loss(request: HttpRequest, job_id: int) -> JsonResponse:
    """Loss points after `after_id` (the chart appends only what is new)."""
    require_role(request.user, *READERS)
    job = get_object_or_404(TrainingJob, pk=job_id)
    after = request.GET.get("after_id", "0")
    points = LossPoint.objects.filter(job=job, id__gt=int(after) if after.isdigit() else 0).order_by("id")
    return JsonResponse({
        "active": job.is_active, "state": job.state,
        "stages": [stage["name"] for stage in job.stages],
        "points": list(points.values("id", "stage_index", "step", "loss", "lr")[:5000]),
    })  # fmt: skip


@login_required
@require_POST
def job_action(request: HttpRequest, job_id: int, action: str) -> HttpResponse:
    require_role(request.user, ADMIN)
    job = get_object_or_404(TrainingJob, pk=job_id)
    apply_job_action(request, job, action, cancel=jobs.cancel, requeue=jobs.requeue)
    return redirect("training:job", job_id=job.pk)
