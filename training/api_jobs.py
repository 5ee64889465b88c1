"""REST API for training jobs (/api/v1/training/jobs/): list, retrieve, create, cancel,
requeue, loss points.

Same authentication (session or token), throttling and error shape as API v1
(exports/api.py, api/): reviewers read, admins create and act; a 4xx body is
`{"detail": ..., "field": ...}` naming what was wrong. Creation goes through
jobs.create_training_job, the same validation as the page.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.handler import ERRORS, Error
from accounts.access import READERS, require_role
from accounts.roles import ADMIN
from catalog.models import Dataset
from config.inputs import MAX_ID, MAX_INT, MAX_SMALL, check_query, count_field, error, first_error, id_field, parse_int
from exports.models import Snapshot

from . import jobs
from .models import LossPoint, TrainingJob
from .recipes import DATA_ROLES, PRESETS, TEMPLATES


class TrainingDataSource(serializers.Serializer):
    snapshot = id_field(required=False, help_text="A built llava snapshot's id.")
    dataset = id_field(required=False, help_text="An English dataset whose source file is LLaVA JSON.")


class TrainingJobInput(serializers.Serializer):
    template = serializers.ChoiceField(choices=TEMPLATES)
    preset = serializers.ChoiceField(choices=PRESETS, default="tiny")
    data = serializers.DictField(child=TrainingDataSource(), help_text=f"Data role ({', '.join(DATA_ROLES)}) -> source.")
    base_job = id_field(required=False, allow_null=True, default=None)
    base_path = serializers.CharField(required=False, allow_blank=True, default="")
    overrides = serializers.DictField(required=False, default=dict, help_text="Stage settings, e.g. {\"max_steps\": 100}.")
    name = serializers.CharField(required=False, allow_blank=True, default="")
    # Bounds are the columns' (training/models.py); jobs.create_training_job checks what makes sense.
    nodes = count_field(high=MAX_SMALL, low=-MAX_SMALL, required=False, default=1, help_text="Machines (one gpu worker each).")
    gpus_per_node = count_field(high=MAX_SMALL, low=-MAX_SMALL, required=False, default=1, help_text="Processes (GPUs) per machine.")
    log_every = count_field(low=-MAX_INT, required=False, default=10)
    checkpoint_every = count_field(low=-MAX_INT, required=False, default=100)


class RequeueInput(serializers.Serializer):
    nodes = count_field(high=MAX_SMALL, required=False, help_text="Run on this many machines now.")
    gpus_per_node = count_field(high=MAX_SMALL, required=False, help_text="With this many GPUs each.")


class TrainingJobOutput(serializers.ModelSerializer):
    percent = serializers.FloatField()
    eta_seconds = serializers.FloatField(allow_null=True)

    class Meta:
        model = TrainingJob
        fields = [
            "id", "name", "template", "preset", "base_job", "base_path", "stages", "overrides", "data", "nodes",
            "gpus_per_node", "rendezvous", "queue", "log_every", "checkpoint_every", "state", "cancel_requested", "message", "stage_index", "step",
            "total_steps", "percent", "samples_per_s", "eta_seconds", "checkpoint", "stage_models", "output_model",
            "attempts", "created_at", "started_at", "heartbeat_at", "finished_at",
        ]  # fmt: skip


class LossPointOutput(serializers.ModelSerializer):
    class Meta:
        model = LossPoint
        fields = ["id", "stage_index", "step", "loss", "lr"]


def _sources(data: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Role -> Snapshot/Dataset instance; an unknown id is a field error like any other."""
    sources: dict[str, Any] = {}
    for role, source in data.items():
        if len(source) != 1:
            raise jobs.JobValidationError(f"data.{role}", "give exactly one of 'snapshot' or 'dataset'")
        kind, pk = next(iter(source.items()))
        model = Snapshot if kind == "snapshot" else Dataset
        found = model.objects.filter(pk=pk).first()
        if found is None:
            raise jobs.JobValidationError(f"data.{role}", f"no {kind} with id {pk}")
        sources[role] = found
    return sources


class TrainingJobViewSet(viewsets.GenericViewSet):
    queryset = TrainingJob.objects.all()
    serializer_class = TrainingJobOutput
    lookup_url_kwarg = "job_id"
    lookup_value_regex = r"[0-9]+"  # anything else is a 404, never a 500 from the id lookup

    def _job(self, job_id: Any) -> TrainingJob | None:
        return TrainingJob.objects.filter(pk=job_id).first()

    @extend_schema(responses={200: TrainingJobOutput(many=True), **ERRORS})
    def list(self, request: Request) -> Response:
        """Training jobs, newest first (reviewers, admins)."""
        require_role(request.user, *READERS)
        return Response(TrainingJobOutput(TrainingJob.objects.all()[:200], many=True).data)

    @extend_schema(responses={200: TrainingJobOutput, **ERRORS})
    def retrieve(self, request: Request, job_id: str) -> Response:
        require_role(request.user, *READERS)
        job = self._job(job_id)
        if job is None:
            return error(404, f"no training job {job_id}")
        return Response(TrainingJobOutput(job).data)

    @extend_schema(request=TrainingJobInput, responses={201: TrainingJobOutput, **ERRORS})
    def create(self, request: Request) -> Response:
        """Validate and queue a job (admins); nothing is stored when a field is wrong."""
        require_role(request.user, ADMIN)
        given = TrainingJobInput(data=request.data)
        if not given.is_valid():
            return first_error(given)
        values = dict(given.validated_data)
        base_id = values.pop("base_job")
        base_job = self._job(base_id) if base_id is not None else None
        if base_id is not None and base_job is None:
            raise jobs.JobValidationError("base_job", f"no training job {base_id}")
        sources = _sources(values.pop("data"))
        job = jobs.create_training_job(**values, data=sources, base_job=base_job, created_by=request.user)
        return Response(TrainingJobOutput(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TrainingJobOutput, 409: Error, **ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, job_id: str) -> Response:
        """Stop a queued job at once, a running one within a step or two (admins)."""
        require_role(request.user, ADMIN)
        job = self._job(job_id)
        if job is None:
            return error(404, f"no training job {job_id}")
        if not jobs.cancel(job):
            return error(409, f"job {job.pk} is {job.state}; nothing to cancel", "state")
        return Response(TrainingJobOutput(job).data)

    @extend_schema(request=RequeueInput, responses={200: TrainingJobOutput, 409: Error, **ERRORS})
    @action(detail=True, methods=["post"])
    def requeue(self, request: Request, job_id: str) -> Response:
        """Queue a failed, cancelled or stalled job again; it resumes from its checkpoint, on the
        same machines or on `nodes` × `gpus_per_node` given here (admins)."""
        require_role(request.user, ADMIN)
        job = self._job(job_id)
        if job is None:
            return error(404, f"no training job {job_id}")
        given = RequeueInput(data=request.data)
        if not given.is_valid():
            return first_error(given)
        jobs.requeue(job, **given.validated_data)  # not requeueable: a JobValidationError (409, "state")
        return Response(TrainingJobOutput(job).data)

    @extend_schema(
        parameters=[OpenApiParameter("after_id", OpenApiTypes.INT, description="Only points with a larger id.")],
        responses={200: LossPointOutput(many=True), **ERRORS},
    )
    @action(detail=True, methods=["get"])
    def loss(self, request: Request, job_id: str) -> Response:
        """The job's loss points in the order they were written, after `after_id`."""
        require_role(request.user, *READERS)
        job = self._job(job_id)
        if job is None:
            return error(404, f"no training job {job_id}")
        after = parse_int("after_id", check_query(request).get("after_id", "0"), high=MAX_ID)
        points = LossPoint.objects.filter(job=job, id__gt=after).order_by("id")[:10_000]
        return Response(LossPointOutput(points, many=True).data)
