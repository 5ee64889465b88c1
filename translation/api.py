"""REST API for translation jobs (/api/v1/translation/jobs/): start, list, status, cancel, requeue.

Same authentication, roles, throttling and error bodies as exports/api.py: reviewers
and admins read, admins start and act; a 4xx body is `{"detail", "field"}` naming what
was wrong (api/).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import READERS, require_role
from accounts.roles import ADMIN
from api.handler import ERRORS, Error
from config.inputs import count_field, error, first_error

from . import services
from .engines import ENGINES
from .models import TranslationJob


class JobInput(serializers.Serializer):
    dataset = serializers.CharField(help_text="Dataset name.")
    engine = serializers.ChoiceField(choices=sorted(ENGINES))
    model = serializers.CharField(required=False, allow_blank=True, default="")
    options = serializers.DictField(required=False, default=dict, help_text="Engine options, e.g. base_url.")
    limit = count_field(required=False, allow_null=True, default=None)
    round_trip = serializers.BooleanField(required=False, default=True)
    batch_size = count_field(required=False, allow_null=True, default=None)


class JobOutput(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.name")
    items_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    percent = serializers.FloatField()

    class Meta:
        model = TranslationJob
        fields = [
            "id", "dataset", "engine", "model", "options", "target_language", "limit", "batch_size", "round_trip", "queue",
            "state", "total", "done", "errors", "error_log", "message", "percent", "items_per_second",
            "eta_seconds", "created_at", "started_at", "finished_at",
        ]  # fmt: skip


@extend_schema(methods=["GET"], responses={200: JobOutput(many=True), 403: Error})
@extend_schema(methods=["POST"], request=JobInput, responses={201: JobOutput, 400: Error, 403: Error})
@api_view(["GET", "POST"])
def jobs(request: Request) -> Response:
    """List translation jobs (reviewers, admins) or start one (admins)."""
    if request.method == "GET":
        require_role(request.user, *READERS)
        queryset = TranslationJob.objects.select_related("dataset")[:200]
        return Response(JobOutput(queryset, many=True).data)
    require_role(request.user, ADMIN)
    data = JobInput(data=request.data)
    if not data.is_valid():
        return first_error(data)
    job = services.create_job(**data.validated_data, created_by=request.user)  # a JobError: api/handler.py
    services.enqueue(job)
    return Response(JobOutput(job).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: JobOutput, **ERRORS})
@api_view(["GET"])
def job(request: Request, job_id: int) -> Response:
    require_role(request.user, *READERS)
    found = TranslationJob.objects.select_related("dataset").filter(pk=job_id).first()
    if found is None:
        return error(404, f"no translation job {job_id}", "job_id")
    return Response(JobOutput(found).data)


@extend_schema(request=None, responses={200: JobOutput, 409: Error, **ERRORS})
@api_view(["POST"])
def job_cancel(request: Request, job_id: int) -> Response:
    return _act(request, job_id, "cancel")


@extend_schema(request=None, responses={200: JobOutput, 409: Error, **ERRORS})
@api_view(["POST"])
def job_requeue(request: Request, job_id: int) -> Response:
    return _act(request, job_id, "requeue")


def _act(request: Request, job_id: int, action: str) -> Response:
    require_role(request.user, ADMIN)
    found = TranslationJob.objects.filter(pk=job_id).first()
    if found is None:
        return error(404, f"no translation job {job_id}", "job_id")
    if action == "cancel":
        if not services.cancel(found):
            return error(409, f"job {job_id} is {found.state}; nothing to cancel", "state")
    else:
        services.requeue(found)  # not requeueable: a JobError (409, "state")
    found.refresh_from_db()
    return Response(JobOutput(found).data)
