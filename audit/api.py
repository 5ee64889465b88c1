"""REST API of the audit: next item, grade, skip, undo, tally, my grades, campaigns, statistics, adjudication.

Same rules as the pages: the same access helpers (audit/access.py), the same write
functions (audit/grading.py, audit/campaigns.py), the same item shape (payloads.py).
A refusal (GradingError, a bad id) is answered `{"detail", "field"}` by api/handler.py;
throttled per user at the grading rate (api/throttles.py).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import status
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.fields import IntegerField
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import READERS, require_role
from accounts.roles import ADMIN, ANNOTATOR
from api.errors import FieldError
from api.throttles import GradingThrottle
from config.inputs import MAX_ID, check_query, parse_id

from . import serializers as s
from .access import campaign_for_annotator, campaign_for_reader, visible_campaigns
from .assignment import next_assignment
from .campaign_stats import campaign_statistics, pending_adjudications
from .campaigns import CampaignSpec, create_campaign
from .grade_next import grade_and_next
from .grading import do_adjudicate, do_skip, do_undo, tally
from .models import Assessment
from .payloads import item_payload, load_assignment, progress


def _valid(serializer_class, request: Request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _next_body(campaign, user, exclude) -> dict | None:
    assignment = next_assignment(campaign, user, exclude=exclude)
    return item_payload(load_assignment(assignment.pk)) if assignment else None


@extend_schema(request=s.NextItemInput, responses={200: dict, 204: None})
@api_view(["POST"])
@throttle_classes([GradingThrottle])
def next_item(request: Request, campaign_id: int) -> Response:
    """Lease and return the next item to grade (204 when nothing is left for you)."""
    campaign = campaign_for_annotator(request.user, campaign_id)
    data = _valid(s.NextItemInput, request)
    body = _next_body(campaign, request.user, data["exclude"])
    if body is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response({"item": body, "progress": progress(campaign, request.user.pk)})


@extend_schema(request=s.GradeInput, responses={201: dict})
@api_view(["POST"])
@throttle_classes([GradingThrottle])
def grade(request: Request, assignment_id: int) -> Response:
    """Grade a leased item; with "next": true the answer also carries the next item."""
    require_role(request.user, ANNOTATOR)
    data = _valid(s.GradeInput, request)
    # The same service as the lean endpoint the grading page uses (api_grade_next.py).
    body = grade_and_next(assignment_id, dict(data), annotator=request.user, want_next=data["next"],
                          exclude=set(data["exclude"]))  # fmt: skip
    return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(request=s.SkipInput, responses={200: dict})
@api_view(["POST"])
@throttle_classes([GradingThrottle])
def skip(request: Request, assignment_id: int) -> Response:
    """Pass on an item; "flag": true also reports it to reviewers."""
    require_role(request.user, ANNOTATOR)
    data = _valid(s.SkipInput, request)
    do_skip(assignment_id, annotator=request.user, flag=data["flag"], reason=data["reason"])
    return Response({"skipped": assignment_id, "flagged": data["flag"]})


@extend_schema(request=inline_serializer("UndoInput", {"assignment": IntegerField(required=False)}),
               responses={200: dict})
@api_view(["POST"])
@throttle_classes([GradingThrottle])
def undo(request: Request, campaign_id: int) -> Response:
    """Take back your last grade in the campaign (or that of "assignment"); the item is returned to you.

    Call it again to go one more step back. "undone" is the grade taken back (grade,
    categories, post_edit, comment), so the page can refill its form.
    """
    campaign = campaign_for_annotator(request.user, campaign_id)
    assignment = request.data.get("assignment") if isinstance(request.data, dict) else None
    if assignment is not None and (not isinstance(assignment, int) or isinstance(assignment, bool)
                                   or not 1 <= assignment <= MAX_ID):
        raise FieldError("assignment must be an assignment id", "assignment")
    undone = do_undo(campaign, annotator=request.user, assignment_id=assignment)
    return Response({"item": item_payload(load_assignment(undone.assignment.pk)), "undone": undone.old,
                     "progress": progress(campaign, request.user.pk)})  # fmt: skip


@extend_schema(responses={200: dict})
@api_view(["GET"])
@throttle_classes([GradingThrottle])
def my_tally(request: Request, campaign_id: int) -> Response:
    """Your own counts in the campaign: graded, skipped (not graded since), flagged (the grading page's end card)."""
    campaign = campaign_for_annotator(request.user, campaign_id)
    return Response({**tally(campaign, request.user), "progress": progress(campaign, request.user.pk)})


@extend_schema(responses=s.MyGrade(many=True))
@api_view(["GET"])
@throttle_classes([GradingThrottle])
def my_grades(request: Request) -> Response:
    """Your own current grades, newest first (everyone sees only their own here)."""
    grades = Assessment.objects.filter(annotator=request.user).select_related("entry__translation__item")
    campaign = check_query(request).get("campaign")
    if campaign:
        grades = grades.filter(entry__campaign_id=parse_id("campaign", campaign))
    grades = grades.order_by("-created_at")[:500]
    return Response(s.MyGrade(grades, many=True).data)


@extend_schema(request=s.CampaignInput, responses=s.CampaignSummary)
@api_view(["GET", "POST"])
@throttle_classes([GradingThrottle])
def campaigns(request: Request) -> Response:
    """GET: the campaigns you may see. POST (admins): create one."""
    if request.method == "GET":
        return Response(s.CampaignSummary(visible_campaigns(request.user), many=True).data)
    require_role(request.user, ADMIN)
    data = _valid(s.CampaignInput, request)
    try:
        campaign = create_campaign(CampaignSpec(**data), acting_user=request.user)
    except ValidationError as exc:
        raise DRFValidationError(exc.message_dict) from None
    return Response(s.CampaignSummary(campaign).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: dict})
@api_view(["GET"])
@throttle_classes([GradingThrottle])
def campaign_stats(request: Request, campaign_id: int) -> Response:
    """Progress, agreement, control reliability and estimates of a campaign (reviewers, admins)."""
    campaign = campaign_for_reader(request.user, campaign_id)
    return Response(campaign_statistics(campaign).as_json())


@extend_schema(responses={200: dict})
@api_view(["GET"])
@throttle_classes([GradingThrottle])
def adjudication_queue(request: Request, campaign_id: int) -> Response:
    campaign = campaign_for_reader(request.user, campaign_id)
    return Response(pending_adjudications(campaign, limit=100))


@extend_schema(request=s.AdjudicateInput, responses={200: dict})
@api_view(["POST"])
@throttle_classes([GradingThrottle])
def adjudicate(request: Request, entry_id: int) -> Response:
    require_role(request.user, *READERS)
    data = _valid(s.AdjudicateInput, request)
    final = do_adjudicate(entry_id, grade=data["grade"], reviewer=request.user, post_edit_of=data["post_edit_of"])
    return Response({"entry": entry_id, "grade": final.grade, "source": final.source})
