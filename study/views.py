"""The study page: each step's progress, the jobs behind it, and the comparison table."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import READERS, require_role
from accounts.roles import ADMIN, role_of

from . import plan
from .models import Study
from .pipeline import start_study
from .report import study_report
from .tasks import enqueue


@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *READERS)
    context = {"studies": Study.objects.all(), "sizes": sorted(plan.BUDGETS), "role": role_of(request.user)}
    return render(request, "study/studies.html", context)


@login_required
@require_POST
def study_start(request: HttpRequest) -> HttpResponse:
    require_role(request.user, ADMIN)
    try:
        study = start_study(world_size=request.POST.get("world", "full"))
    except ValueError as exc:
        messages.error(request, f"The study was not started: {exc}")
        return redirect("study:studies")
    if study.state == Study.State.QUEUED:
        enqueue(study)
    return redirect("study:study", name=study.name)


@login_required
def study_detail(request: HttpRequest, name: str) -> HttpResponse:
    require_role(request.user, *READERS)
    study = get_object_or_404(Study, name=name)
    steps = [
        {"name": step, "title": plan.STEP_TITLES[step], **study.steps.get(step, {"state": "waiting"})}
        for step in plan.STEPS
    ]
    context = {"study": study, "steps": steps, "report": study_report(study), "role": role_of(request.user)}
    template = "study/_progress.html" if request.htmx else "study/study.html"
    return render(request, template, context)
