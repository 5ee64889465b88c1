"""REST API v1: assessments (one annotator's grade of one entry), read-only, as the audit roles allow.

- annotators see only their own assessments (asking for someone else's is a 403 that says so);
- reviewers and admins see everyone's.

Grading itself (grade, skip, undo, adjudicate) stays in the grading API, audit/api.py.
Lists page with cursors in id order, like every big table of API v1 (api/pages.py).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import READERS, require_role
from accounts.roles import ANNOTATOR
from api.handler import ERRORS
from api.pages import PAGE_PARAMS, page, page_schema
from api.query import filters
from audit.models import Assessment
from audit.simulated import simulated_flag
from config.inputs import error, parse_id

from .rules import GRADES


class AssessmentOut(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="entry.campaign_id")
    translation = serializers.IntegerField(source="entry.translation_id")
    item = serializers.IntegerField(source="entry.translation.item_id")
    annotator_name = serializers.CharField(source="annotator.username")
    is_control = serializers.SerializerMethodField()
    simulated = serializers.BooleanField(
        read_only=True, help_text="Given by a simulated annotator (a model grader, audit/simulated.py), not a person."
    )

    class Meta:
        model = Assessment
        fields = [
            "id", "campaign", "entry", "translation", "item", "annotator", "annotator_name", "grade", "categories",
            "post_edit", "comment", "seconds", "created_at", "is_control", "simulated",
        ]  # fmt: skip

    def get_is_control(self, obj: Assessment) -> bool | None:
        # Control items must stay indistinguishable to the people they test, so only readers learn which were.
        return obj.entry.is_control if self.context.get("reader") else None


FILTERS: dict[str, tuple[str, ...] | None] = {"campaign": None, "translation": None, "annotator": None, "grade": GRADES}


def _visible(user: User) -> tuple[object, bool]:
    """The assessments this user may read, and whether they read as a reviewer/admin."""
    role = require_role(user, ANNOTATOR, *READERS)
    queryset = Assessment.objects.select_related("entry__translation", "annotator").annotate(simulated=simulated_flag())
    if role == ANNOTATOR:
        return queryset.filter(annotator=user), False
    return queryset, True


@extend_schema(
    parameters=[
        OpenApiParameter("campaign", int, description="Only this campaign's assessments."),
        OpenApiParameter("translation", int, description="Only assessments of this translation."),
        OpenApiParameter("annotator", int, description="Only this annotator's (user id); annotators: only their own."),
        OpenApiParameter("grade", str, enum=GRADES),
        *PAGE_PARAMS,
    ],
    responses={200: page_schema("AssessmentPage", AssessmentOut), **ERRORS},
    operation_id="v1_assessments_list",
)
@api_view(["GET"])
def assessments(request: Request) -> Response:
    """Assessments you may see, filtered; cursor pages in id order."""
    queryset, reader = _visible(request.user)
    query = filters(request, FILTERS)
    ids = {key: parse_id(key, query[key]) for key in ("campaign", "translation", "annotator") if key in query}
    if not reader and ids.get("annotator", request.user.pk) != request.user.pk:
        return error(403, "annotators see only their own assessments; leave out annotator or use your own id",
                      "annotator")  # fmt: skip
    if "campaign" in ids:
        queryset = queryset.filter(entry__campaign_id=ids["campaign"])
    if "translation" in ids:
        queryset = queryset.filter(entry__translation_id=ids["translation"])
    if "annotator" in ids:
        queryset = queryset.filter(annotator_id=ids["annotator"])
    if "grade" in query:
        queryset = queryset.filter(grade=query["grade"])
    return page(request, queryset, AssessmentOut, context={"reader": reader})


@extend_schema(responses={200: AssessmentOut, **ERRORS})
@api_view(["GET"])
def assessment(request: Request, assessment_id: int) -> Response:
    """One assessment; someone else's is a 404 to an annotator (its existence is not theirs to know)."""
    queryset, reader = _visible(request.user)
    found = queryset.filter(pk=assessment_id).first()
    if found is None:
        return error(404, f"no assessment {assessment_id} among those you may see", "assessment_id")
    return Response(AssessmentOut(found, context={"reader": reader}).data)
