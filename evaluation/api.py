"""REST API of evaluation runs (/api/v1/evaluations/): list, create, status, cancel, metrics, predictions.

Same authentication, roles, throttling and error bodies as exports/api.py: reviewers
and admins read, admins create and cancel; a bad request is a 400 `{"detail", "field"}`
naming the field (evaluation/services.py validates before anything is queued and raises
an EvaluationError, a FieldError that api/handler.py answers).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import READERS, require_role
from accounts.roles import ADMIN
from api.handler import ERRORS, Error
from config.inputs import MAX_SMALL, count_field, error, first_error, id_field
from exports.models import Snapshot
from training.models import TrainingJob

from . import results, services
from .models import EvaluationRun
from .views import predictions_response


class RunOut(serializers.ModelSerializer):
    variant = serializers.SerializerMethodField()

    class Meta:
        model = EvaluationRun
        fields = [
            "id", "name", "variant", "training_job", "model_path", "benchmark", "split", "language", "pipeline",
            "engine", "dataset", "snapshot", "references", "prompts", "max_new_tokens", "batch_size", "limit",
            "state", "cancel_requested", "message", "total", "done", "items_per_s", "metrics", "diagnostics",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_variant(self, run: EvaluationRun) -> str:
        return results.variant_name(run)


class RunIn(serializers.Serializer):
    training_job = id_field(required=False)
    model_path = serializers.CharField(required=False, allow_blank=True, default="")
    benchmark = serializers.CharField()
    split = serializers.CharField()
    language = serializers.CharField(default="fr")
    pipeline = serializers.CharField(default="direct")
    engine = serializers.CharField(default="apertium")
    snapshot = id_field(required=False)
    # Bounds are the columns' (training/models.py); evaluation/services.py checks what makes sense.
    max_new_tokens = count_field(high=MAX_SMALL, low=-MAX_SMALL, required=False)
    batch_size = count_field(high=MAX_SMALL, low=-MAX_SMALL, default=64)
    limit = count_field(low=-MAX_SMALL, required=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")


def _run(run_id: int) -> EvaluationRun | None:
    return EvaluationRun.objects.select_related("training_job").filter(pk=run_id).first()


@extend_schema(methods=["GET"], responses={200: RunOut(many=True), 403: Error})
@extend_schema(methods=["POST"], request=RunIn, responses={202: RunOut, **ERRORS})
@api_view(["GET", "POST"])
def runs(request: Request) -> Response:
    """List evaluation runs (readers), or validate and queue one (admins; 202)."""
    if request.method == "GET":
        require_role(request.user, *READERS)
        return Response(RunOut(EvaluationRun.objects.select_related("training_job")[:500], many=True).data)
    require_role(request.user, ADMIN)
    data = RunIn(data=request.data)
    if not data.is_valid():
        return first_error(data)
    values: dict[str, Any] = dict(data.validated_data)
    if "training_job" in values:
        job = TrainingJob.objects.filter(pk=values["training_job"]).first()
        if job is None:
            return error(404, f"no training job {values['training_job']}", "training_job")
        values["training_job"] = job
    if "snapshot" in values:
        snapshot = Snapshot.objects.filter(pk=values["snapshot"]).first()
        if snapshot is None:
            return error(404, f"no snapshot {values['snapshot']}", "snapshot")
        values["snapshot"] = snapshot
    run = services.create_evaluation_run(**values, created_by=request.user)
    return Response(RunOut(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses={200: RunOut, **ERRORS})
@api_view(["GET"])
def run_detail(request: Request, run_id: int) -> Response:
    """A run's state, progress, metrics and diagnostics."""
    require_role(request.user, *READERS)
    run = _run(run_id)
    if run is None:
        return error(404, f"no evaluation run {run_id}", "run_id")
    return Response(RunOut(run).data)


@extend_schema(request=None, responses={200: RunOut, 409: Error, **ERRORS})
@api_view(["POST"])
def run_cancel(request: Request, run_id: int) -> Response:
    """Cancel a queued or running run (a running one stops after its batch)."""
    require_role(request.user, ADMIN)
    run = _run(run_id)
    if run is None:
        return error(404, f"no evaluation run {run_id}", "run_id")
    if not services.cancel(run):
        return error(409, f"run {run_id} is {run.state}; only queued or running runs can be cancelled", "state")
    return Response(RunOut(run).data)


class MetricsOut(serializers.Serializer):
    state = serializers.CharField()
    metrics = serializers.DictField()
    diagnostics = serializers.ListField(child=serializers.DictField())


@extend_schema(responses={200: MetricsOut, **ERRORS})
@api_view(["GET"])
def run_metrics(request: Request, run_id: int) -> Response:
    """Metrics per parser (reference, lmms_eval, french; english for translation-only) with 95% CIs."""
    require_role(request.user, *READERS)
    run = _run(run_id)
    if run is None:
        return error(404, f"no evaluation run {run_id}", "run_id")
    return Response({"state": run.state, "metrics": run.metrics, "diagnostics": run.diagnostics})


@extend_schema(
    responses={
        (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.BINARY, description="JSON lines {question_id, prediction, ...}."),
        (409, "application/json"): OpenApiResponse(Error, description="Not done yet."),
        **{(code, "application/json"): body for code, body in ERRORS.items()},
    }
)
@api_view(["GET"])
def run_predictions(request: Request, run_id: int):
    """The predictions file of a done run, streamed."""
    require_role(request.user, *READERS)
    run = _run(run_id)
    if run is None:
        return error(404, f"no evaluation run {run_id}", "run_id")
    if run.state != "done" or not run.predictions_file:
        return error(409, f"run {run_id} is {run.state}; its predictions file is written when it is done", "state")
    return predictions_response(run)


@extend_schema(responses={200: OpenApiTypes.OBJECT, 403: Error})
@api_view(["GET"])
def table(request: Request) -> Response:
    """The comparison table: one row per variant, cells per benchmark x language."""
    require_role(request.user, *READERS)
    return Response(results.table_json(results.comparison()))
