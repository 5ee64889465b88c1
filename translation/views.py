"""Translation job pages: the list with a start form (admins), and a live job page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from audit.access import READERS, require_role
from audit.job_actions import apply_job_action
from audit.models import Dataset
from audit.roles import ADMIN, role_of

from . import services
from .engines import ENGINES
from .models import TranslationJob


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *READERS)
    jobs = TranslationJob.objects.select_related("dataset")[:100]
    context = {
        "jobs": jobs,
        "datasets": Dataset.objects.order_by("name"),
        "engines": sorted(ENGINES),
        "role": role_of(request.user),
        "form": {},
    }
    return render(request, "translation/jobs.html", context)


@login_required
@require_POST
def job_start(request: HttpRequest) -> HttpResponse:
    require_role(request.user, ADMIN)
    form = request.POST
    limit = form.get("limit", "").strip()
    try:
        job = services.create_job(
            form.get("dataset", ""),
            engine=form.get("engine", ""),
            model=form.get("model", "").strip(),
            limit=int(limit) if limit else None,
            round_trip=form.get("round_trip") == "on",
            created_by=request.user,
        )
    except (services.JobError, ValueError) as exc:
        messages.error(request, f"The job was not started: {exc}")
        return redirect("translation:jobs")
    services.enqueue(job)
    return redirect("translation:job", job_id=job.pk)


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    require_role(request.user, *READERS)
    job = get_object_or_404(TranslationJob.objects.select_related("dataset"), pk=job_id)
    template = "translation/_job_progress.html" if request.htmx else "translation/job.html"
    return render(request, template, {"job": job, "role": role_of(request.user)})


@login_required
@require_POST
def job_action(request: HttpRequest, job_id: int, action: str) -> HttpResponse:
    require_role(request.user, ADMIN)
    job = get_object_or_404(TranslationJob, pk=job_id)
    apply_job_action(request, job, action, cancel=services.cancel, requeue=services.requeue,
                     refusals=(services.JobError,), noun="job")  # fmt: skip
    return redirect("translation:job", job_id=job.pk)
