"""Evaluation and result pages: runs (admins start them), a live run page, the comparison table.

Reviewers and admins read everything; only admins start, cancel or requeue runs
(audit/access.py). Validation lives in evaluation/services.py; the table in results.py.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import READERS, require_role
from accounts.roles import ADMIN, role_of
from jobs.actions import apply_job_action
from training.models import TrainingJob

from . import results, services
from .benchmark_prompts import BENCHMARKS, LANGUAGES, POPE_SPLITS
from .models import EvaluationRun, JobState
from .services import PARSER_KEYS


def _form_context(request: HttpRequest, form: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    from translation.engines import ENGINES

    return {
        "runs": EvaluationRun.objects.select_related("training_job")[:200],
        "jobs": TrainingJob.objects.filter(state=JobState.DONE),
        "benchmarks": BENCHMARKS, "pope_splits": POPE_SPLITS, "languages": LANGUAGES,
        "pipelines": EvaluationRun.Pipeline.choices, "engines": sorted(ENGINES),
        "role": role_of(request.user), "form": form, "errors": errors,
    }  # fmt: skip


@login_required
def evaluation_list(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *READERS)
    form = {"language": "fr", "pipeline": "direct", "engine": "apertium", "split": "test", "benchmark": "scienceqa"}
    return render(request, "evaluation/evaluations.html", _form_context(request, form, {}))


def _int(form: Any, name: str) -> int | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise services.EvaluationError(name, f"expected a whole number, got {value!r}") from None


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_new(request: HttpRequest) -> HttpResponse:
    require_role(request.user, ADMIN)
    if request.method == "GET":  # a bookmarked or typed address: the form lives on the list page
        return redirect(reverse("evaluation:evaluations") + "#new-evaluation")
    form = request.POST
    try:
        job_id = _int(form, "training_job")
        job = TrainingJob.objects.filter(pk=job_id).first() if job_id else None
        if job_id and job is None:
            raise services.EvaluationError("training_job", f"no training job {job_id}")
        run = services.create_evaluation_run(
            training_job=job, model_path=form.get("model_path", ""), benchmark=form.get("benchmark", ""),
            split=form.get("split", "").strip(), language=form.get("language", ""), pipeline=form.get("pipeline", "direct"),
            engine=form.get("engine", "apertium"), limit=_int(form, "limit"), batch_size=_int(form, "batch_size") or 64,
            max_new_tokens=_int(form, "max_new_tokens"), name=form.get("name", "").strip(), created_by=request.user,
        )  # fmt: skip
    except services.EvaluationError as exc:
        context = _form_context(request, form.dict(), {exc.field: exc.message})
        return render(request, "evaluation/evaluations.html", context, status=400)
    return redirect("evaluation:evaluation", run_id=run.pk)


@login_required
def evaluation_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    require_role(request.user, *READERS)
    run = get_object_or_404(EvaluationRun.objects.select_related("training_job", "snapshot__rule", "dataset"), pk=run_id)
    context = {"run": run, "role": role_of(request.user), "parsers": PARSER_KEYS.values()}
    if request.htmx:
        return render(request, "evaluation/_evaluation_progress.html", context)
    snapshots = list(run.training_job.snapshots.select_related("rule")) if run.training_job else []
    if run.snapshot:
        snapshots.append(run.snapshot)
    context["variant"] = results.variant_name(run)
    context["jobs"] = results.job_chain(run.training_job) if run.training_job else []
    context["sources"] = [(s, results.provenance(s), results.audit_summary(s)) for s in snapshots]
    return render(request, "evaluation/evaluation.html", context)


@login_required
@require_POST
def evaluation_action(request: HttpRequest, run_id: int, action: str) -> HttpResponse:
    require_role(request.user, ADMIN)
    run = get_object_or_404(EvaluationRun, pk=run_id)
    apply_job_action(request, run, action, cancel=services.cancel, requeue=services.requeue)
    return redirect("evaluation:evaluation", run_id=run.pk)


def predictions_response(run: EvaluationRun) -> FileResponse:
    """The run's predictions JSONL, streamed from disk (FileResponse reads it in blocks)."""
    if run.state != JobState.DONE or not run.predictions_file:
        raise Http404(f"run {run.pk} is {run.state}; its predictions file is written when it is done")
    path = services.model_root() / run.predictions_file
    response = FileResponse(path.open("rb"), as_attachment=True, filename=f"evaluation-{run.pk}-predictions.jsonl")
    response["Content-Type"] = "application/jsonl"
    return response


@login_required
def evaluation_predictions(request: HttpRequest, run_id: int) -> FileResponse:
    require_role(request.user, *READERS)
    return predictions_response(get_object_or_404(EvaluationRun, pk=run_id))


@login_required
def results_page(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *READERS)
    rows = results.comparison()
    pope_keys = [f"pope/{split}:{lang}" for split in POPE_SPLITS for lang in LANGUAGES]
    snapshots = {s.pk: s for row in rows for job in row.jobs for s in job.snapshots.select_related("rule")}
    context = {
        "rows": rows, "columns": results.COLUMNS, "groups": results.column_groups(), "role": role_of(request.user),
        "table": [(row, [row.cells.get(f"{key}:{lang}") for key, lang in results.COLUMNS]) for row in rows],
        "pope_table": [(row, [row.pope.get(k) for k in pope_keys]) for row in rows if row.pope],
        "pope_groups": results.column_groups((f"pope/{split}", lang) for split in POPE_SPLITS for lang in LANGUAGES),
        # A list: json_script encodes it once (a json.dumps'd string would reach the page as a JSON string).
        "loss_traces": results.loss_curves(rows),
        "audits": [(s, results.audit_summary(s)) for s in snapshots.values()],
    }  # fmt: skip
    return render(request, "evaluation/results.html", context)


@login_required
def results_csv(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *READERS)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="results.csv"'
    csv.writer(response).writerows(results.csv_rows(results.comparison()))
    return response


