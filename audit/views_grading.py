"""The annotator's pages: the grading page, their own past grades, and item images.

The grading page is a shell: static/audit/grade.js fetches items and posts grades
through the REST API (audit/api.py; grades go to its lean twin audit/api_grade_next.py,
the hot path), so the page and the API follow one set of rules.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.access import READERS
from accounts.roles import role_of

from .access import campaign_for_annotator
from .grading import UNDO_SECONDS
from .models import Assessment, Assignment, Entry
from .payloads import item_label


@require_GET
@login_required
def grade_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = campaign_for_annotator(request.user, campaign_id)
    urls = {
        "next": reverse("audit:api_next", args=[campaign.pk]),
        "grade": reverse("audit:api_grade_next", args=[0]),  # the lean twin of api_grade: same rules and shapes
        "skip": reverse("audit:api_skip", args=[0]),
        "undo": reverse("audit:api_undo", args=[campaign.pk]),
        "tally": reverse("audit:api_tally", args=[campaign.pk]),
    }
    # Error categories toggle with the number row after the grades: 4, 5, ... (physical keys, as the grades).
    categories = [(value, label, str(n), f"Digit{n}")
                  for n, (value, label) in enumerate(Assessment.Category.choices, start=4)]  # fmt: skip
    context = {
        "campaign": campaign,
        "categories": categories,
        "grades": [("1", "high", "High"), ("2", "moderate", "Moderate"), ("3", "low", "Low")],
        "config": {"urls": urls, "undoSeconds": UNDO_SECONDS},
        "role": role_of(request.user),
    }
    return render(request, "audit/grade.html", context)


@require_GET
@login_required
def my_grades_page(request: HttpRequest) -> HttpResponse:
    mine = Assessment.objects.filter(annotator=request.user).select_related("entry__campaign")
    grades = list(mine.order_by("-created_at")[:200])
    for grade in grades:  # the id the grading page showed: a control's own, never its original's
        grade.label = item_label(grade.entry_id)
    return render(request, "audit/my_grades.html", {"grades": grades, "role": role_of(request.user)})


@require_GET
@login_required
def entry_image(request: HttpRequest, entry_id: int) -> FileResponse:
    """An item's image, to reviewers and to annotators who hold or graded the entry."""
    entry = get_object_or_404(Entry.objects.select_related("translation__item__dataset"), pk=entry_id)
    if role_of(request.user) not in READERS and not Assignment.objects.filter(
        entry=entry, annotator=request.user
    ).exists():
        raise PermissionDenied("this item is not in your queue")
    item = entry.translation.item
    root = Path(item.dataset.image_root or ".").resolve()
    path = (root / item.image).resolve()
    if not item.image or root not in path.parents or not path.is_file():
        raise Http404(f"image {item.image!r} not found under the dataset's image root")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
