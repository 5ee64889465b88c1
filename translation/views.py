"""Translation pages: the job list with a start form (admins), a live job page, and the
translations browser (reviewers and admins: filter by dataset, grades, a failed check,
engine; each row links to the translation, its grades and the job that made it)."""

from __future__ import annotations

from itertools import zip_longest

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import READERS, require_role
from accounts.roles import ADMIN, role_of
from audit.models import Assessment, FinalGrade
from catalog.models import Dataset
from config.inputs import BadInput, check_text, parse_id
from jobs.actions import apply_job_action

from . import checks, services
from .engines import ENGINES
from .models import Translation, TranslationJob


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
    apply_job_action(request, job, action, cancel=services.cancel, requeue=services.requeue)
    return redirect("translation:job", job_id=job.pk)


# --- The translations browser: every translation, filtered, with its grades and job. -----------

# A failed automatic check (translation/checks.py, thresholds in docs/translation-checks.md),
# as a filter on the stored report. Bands are those that lower the suggested grade.
FAILED_CHECKS: dict[str, tuple[str, Q]] = {
    "structure": ("structure broken", Q(checks__structure_ok=False)),
    "source_language": ("source not in the source language", Q(checks__source_language_ok=False)),
    "language": ("another language detected",
                 Q(checks__has_key="language") & ~Q(checks__language=None) & ~Q(checks__language="fr")),
    "length": ("length ratio off", Q(checks__length_ratio__lt=checks.LENGTH_RATIO_HIGH[0])
               | Q(checks__length_ratio__gt=checks.LENGTH_RATIO_HIGH[1])),
    "untranslated": ("words left untranslated", Q(checks__untranslated_share__gt=checks.UNTRANSLATED_HIGH)),
    "roundtrip": ("low round-trip chrF", Q(checks__roundtrip_chrf__lt=checks.ROUNDTRIP_HIGH)),
}  # fmt: skip
GRADES = [value for value, _ in Translation.Grade.choices]
PAGE_SIZE = 50


class FilterError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def filter_translations(query) -> tuple[QuerySet, dict[str, str]]:
    """The translations the query string asks for; FilterError names a bad field."""
    chosen = {name: query.get(name, "").strip() for name in ("dataset", "suggested", "final", "check", "engine")}
    translations = Translation.objects.all()
    try:
        for name, value in chosen.items():
            check_text(name, value)  # a NUL reaches PostgreSQL as an error, not a filter
        if chosen["dataset"]:
            translations = translations.filter(item__dataset_id=parse_id("dataset", chosen["dataset"]))
    except BadInput as error:
        raise FilterError(error.field, f"expected a dataset id, got {chosen['dataset']!r}"
                          if error.field == "dataset" else error.detail) from None
    if chosen["suggested"]:
        if chosen["suggested"] not in GRADES:
            raise FilterError("suggested", f"expected one of {', '.join(GRADES)}, got {chosen['suggested']!r}")
        translations = translations.filter(suggested_grade=chosen["suggested"])
    if chosen["final"]:
        finals = FinalGrade.objects.filter(entry__translation_id=OuterRef("pk"), entry__is_control=False)
        if chosen["final"] == "none":
            translations = translations.filter(~Exists(finals))
        elif chosen["final"] in GRADES:
            translations = translations.filter(Exists(finals.filter(grade=chosen["final"])))
        else:
            raise FilterError("final", f"expected one of {', '.join(GRADES)} or none, got {chosen['final']!r}")
    if chosen["check"]:
        if chosen["check"] not in FAILED_CHECKS:
            raise FilterError("check", f"expected one of {', '.join(FAILED_CHECKS)}, got {chosen['check']!r}")
        translations = translations.filter(FAILED_CHECKS[chosen["check"]][1])
    if chosen["engine"]:
        translations = translations.filter(engine=chosen["engine"])
    return translations, chosen


def _with_links(translations: QuerySet) -> QuerySet:
    """Each row's final grade, number of human grades, and the job that made it: the latest job of
    the same dataset, engine and model created before it (a Translation does not store its job)."""
    job = TranslationJob.objects.filter(
        dataset_id=OuterRef("item__dataset_id"), engine=OuterRef("engine"), model=OuterRef("model"),
        created_at__lte=OuterRef("created_at"),
    ).order_by("-created_at").values("pk")[:1]  # fmt: skip
    final = FinalGrade.objects.filter(entry__translation_id=OuterRef("pk"), entry__is_control=False).values("grade")[:1]
    grades = (
        Assessment.objects.filter(entry__translation_id=OuterRef("pk"), entry__is_control=False).order_by()
        .values("entry__translation_id").annotate(n=Count("pk")).values("n")
    )  # fmt: skip
    return translations.select_related("item__dataset").annotate(
        job_id=Subquery(job), final_grade=Subquery(final), grade_count=Subquery(grades, output_field=IntegerField()),
    )


@login_required
@require_GET
def translation_list(request: HttpRequest) -> HttpResponse:
    require_role(request.user, *READERS)
    try:
        translations, chosen = filter_translations(request.GET)
    except FilterError as exc:
        context = {"error": exc, "datasets": Dataset.objects.order_by("name"), "chosen": request.GET, "role": role_of(request.user),
                   "grades": GRADES, "checks": FAILED_CHECKS, "engines": _engines()}  # fmt: skip
        return render(request, "translation/translations.html", context, status=400)
    page = Paginator(_with_links(translations).order_by("-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page, "chosen": chosen, "query": query.urlencode(), "datasets": Dataset.objects.order_by("name"),
        "grades": GRADES, "checks": FAILED_CHECKS, "engines": _engines(), "role": role_of(request.user),
    }  # fmt: skip
    return render(request, "translation/translations.html", context)


def _engines() -> list[str]:
    return sorted(set(ENGINES) | set(TranslationJob.objects.values_list("engine", flat=True).distinct()))


@login_required
@require_GET
def translation_detail(request: HttpRequest, translation_id: int) -> HttpResponse:
    require_role(request.user, *READERS)
    translation = get_object_or_404(_with_links(Translation.objects.all()), pk=translation_id)
    assessments = (
        Assessment.objects.filter(entry__translation=translation).select_related("annotator", "entry__campaign")
        .order_by("entry__campaign_id", "annotator__username")
    )  # fmt: skip
    finals = FinalGrade.objects.filter(entry__translation=translation, entry__is_control=False).select_related("entry__campaign")
    turns = list(zip_longest(translation.item.conversations, translation.turns, fillvalue={}))
    context = {"t": translation, "item": translation.item, "turns": turns, "assessments": assessments,
               "finals": finals, "role": role_of(request.user)}  # fmt: skip
    return render(request, "translation/translation.html", context)
