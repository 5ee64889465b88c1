"""REST API v1: datasets, items, translations, filter rules, snapshots (build, status, download).

Reads are for reviewers and admins (audit/access.py); rules and snapshots are made by
admins. Every 4xx body is `{"detail": ..., "field": ...}` naming what was wrong (a
FieldError, rendered by api/handler.py). Big tables page with cursors (api/pages.py);
every view is throttled per user (api/throttles.py). Snapshot files stream from disk
with HTTP Range (exports/download.py), never through memory.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import READERS, require_role
from accounts.roles import ADMIN
from api.handler import ERRORS, Error
from api.pages import PAGE_PARAMS, page, page_schema
from api.query import filters
from api.throttles import ApiThrottle, BuildThrottle
from audit.models import Entry, FinalGrade
from catalog.models import Dataset, Item
from config.inputs import error, first_error, id_field, parse_id

from .build import create_rule, request_snapshot
from .download import snapshot_download
from .models import FilterRule, Snapshot
from .rules import GRADES, TASK_TYPES


def _final(field: str) -> Subquery:
    """A translation's latest final grade from a regular (never a control) entry."""
    return Subquery(
        FinalGrade.objects.filter(entry__translation=OuterRef("pk"), entry__is_control=False)
        .order_by("-decided_at", "-id")
        .values(field)[:1]
    )


# --- datasets --------------------------------------------------------------------------


class DatasetOut(serializers.ModelSerializer):
    item_count = serializers.IntegerField()

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "source_format", "language", "image_root", "item_count", "created_at"]


def _datasets() -> QuerySet:
    return Dataset.objects.annotate(item_count=Count("items")).order_by("name")


@extend_schema(responses={200: DatasetOut(many=True), 403: Error})
@api_view(["GET"])
def datasets(request: Request) -> Response:
    require_role(request.user, *READERS)
    return Response(DatasetOut(_datasets(), many=True).data)


@extend_schema(responses={200: DatasetOut, **ERRORS})
@api_view(["GET"])
def dataset(request: Request, dataset_id: int) -> Response:
    require_role(request.user, *READERS)
    found = _datasets().filter(pk=dataset_id).first()
    if found is None:
        return error(404, f"no dataset {dataset_id}", "dataset_id")
    return Response(DatasetOut(found).data)


# --- items and translations --------------------------------------------------------------


class ItemOut(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.name")

    class Meta:
        model = Item
        fields = ["id", "dataset", "external_id", "image", "task_type", "split", "conversations", "meta"]


ITEM_FILTERS: dict[str, tuple[str, ...] | None] = {
    "dataset": None, "task_type": TASK_TYPES, "split": None, "engine": None, "grade": GRADES,
    "status": ("graded", "ungraded"),
}  # fmt: skip


@extend_schema(
    parameters=[
        OpenApiParameter("dataset", str, description="Dataset name."),
        OpenApiParameter("task_type", str, enum=TASK_TYPES),
        OpenApiParameter("split", str),
        OpenApiParameter("engine", str, description="Has a translation by this engine."),
        OpenApiParameter("grade", str, enum=GRADES, description="Has a translation with this final grade."),
        OpenApiParameter("status", str, enum=("graded", "ungraded"), description="Has a final grade, or not."),
        *PAGE_PARAMS,
    ],
    responses={200: page_schema("ItemPage", ItemOut), **ERRORS},
    operation_id="v1_items_list",
)
@api_view(["GET"])
def items(request: Request) -> Response:
    """Items, filtered; cursor pages in id order."""
    require_role(request.user, *READERS)
    query = filters(request, ITEM_FILTERS)
    queryset = Item.objects.select_related("dataset")
    if "dataset" in query:
        queryset = queryset.filter(dataset__name=query["dataset"])
    for key in ("task_type", "split"):
        if key in query:
            queryset = queryset.filter(**{key: query[key]})
    if "engine" in query:
        queryset = queryset.filter(translations__engine=query["engine"]).distinct()
    finals = FinalGrade.objects.filter(entry__translation__item=OuterRef("pk"), entry__is_control=False)
    if "grade" in query:
        queryset = queryset.filter(Exists(finals.filter(grade=query["grade"])))
    if "status" in query:
        graded = Exists(finals)
        queryset = queryset.filter(graded if query["status"] == "graded" else ~graded)
    return page(request, queryset, ItemOut)


@extend_schema(responses={200: ItemOut, **ERRORS})
@api_view(["GET"])
def item(request: Request, item_id: int) -> Response:
    require_role(request.user, *READERS)
    found = Item.objects.select_related("dataset").filter(pk=item_id).first()
    if found is None:
        return error(404, f"no item {item_id}", "item_id")
    return Response(ItemOut(found).data)


class TranslationOut(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField(source="item_id")
    target_language = serializers.CharField()
    turns = serializers.JSONField()
    meta = serializers.JSONField()
    engine = serializers.CharField()
    model = serializers.CharField()
    prompt_version = serializers.CharField()
    suggested_grade = serializers.CharField()
    checks = serializers.JSONField()
    final_grade = serializers.CharField(allow_null=True)
    grade_source = serializers.CharField(allow_null=True)


TRANSLATION_FILTERS: dict[str, tuple[str, ...] | None] = {
    "item": None, "dataset": None, "engine": None, "task_type": TASK_TYPES, "grade": GRADES,
    "status": ("graded", "ungraded"),
}  # fmt: skip


def _translations() -> QuerySet:
    from translation.models import Translation

    return Translation.objects.annotate(final_grade=_final("grade"), grade_source=_final("source"))


@extend_schema(
    parameters=[
        OpenApiParameter("item", int), OpenApiParameter("dataset", str), OpenApiParameter("engine", str),
        OpenApiParameter("task_type", str, enum=TASK_TYPES), OpenApiParameter("grade", str, enum=GRADES),
        OpenApiParameter("status", str, enum=("graded", "ungraded")), *PAGE_PARAMS,
    ],
    responses={200: page_schema("TranslationPage", TranslationOut), **ERRORS},
    operation_id="v1_translations_list",
)  # fmt: skip
@api_view(["GET"])
def translations(request: Request) -> Response:
    """Translations with their final grade (from regular entries only), cursor pages in id order."""
    require_role(request.user, *READERS)
    query = filters(request, TRANSLATION_FILTERS)
    item_id = parse_id("item", query["item"]) if "item" in query else None
    queryset = _translations()
    if item_id is not None:
        queryset = queryset.filter(item_id=item_id)
    if "dataset" in query:
        queryset = queryset.filter(item__dataset__name=query["dataset"])
    if "engine" in query:
        queryset = queryset.filter(engine=query["engine"])
    if "task_type" in query:
        queryset = queryset.filter(item__task_type=query["task_type"])
    if "grade" in query:
        queryset = queryset.filter(final_grade=query["grade"])
    if "status" in query:
        graded = Exists(Entry.objects.filter(translation=OuterRef("pk"), is_control=False, final__isnull=False))
        queryset = queryset.filter(graded if query["status"] == "graded" else ~graded)
    return page(request, queryset, TranslationOut)


@extend_schema(responses={200: TranslationOut, **ERRORS})
@api_view(["GET"])
def translation(request: Request, translation_id: int) -> Response:
    require_role(request.user, *READERS)
    found = _translations().filter(pk=translation_id).first()
    if found is None:
        return error(404, f"no translation {translation_id}", "translation_id")
    return Response(TranslationOut(found).data)


# --- filter rules ------------------------------------------------------------------------


class RuleOut(serializers.ModelSerializer):
    class Meta:
        model = FilterRule
        fields = ["id", "name", "spec", "digest", "created_at"]


class RuleIn(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    spec = serializers.JSONField(help_text="min_grade, require_agreement, use_post_edit, post_edit_from_assessments, "
                                 "unaudited, datasets, splits, task_types, engine, model, prompt_version, target_language")  # fmt: skip


@extend_schema(methods=["GET"], responses={200: RuleOut(many=True), 403: Error})
@extend_schema(methods=["POST"], request=RuleIn, responses={201: RuleOut, 400: Error, 403: Error})
@api_view(["GET", "POST"])
def rules(request: Request) -> Response:
    """List filter rules (readers) or store one (admins); an unknown field or value is a 400 naming it."""
    if request.method == "GET":
        require_role(request.user, *READERS)
        return Response(RuleOut(FilterRule.objects.all(), many=True).data)
    require_role(request.user, ADMIN)
    data = RuleIn(data=request.data)
    if not data.is_valid():
        return first_error(data)
    # A RuleError (spec.<field>) or an ExportError (a taken name) is answered by api/handler.py.
    rule = create_rule(data.validated_data["name"], data.validated_data["spec"], created_by=request.user)
    return Response(RuleOut(rule).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: RuleOut, **ERRORS})
@api_view(["GET"])
def rule(request: Request, rule_id: int) -> Response:
    require_role(request.user, *READERS)
    found = FilterRule.objects.filter(pk=rule_id).first()
    if found is None:
        return error(404, f"no filter rule {rule_id}", "rule_id")
    return Response(RuleOut(found).data)


# --- snapshots ---------------------------------------------------------------------------


class SnapshotOut(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name")
    download = serializers.SerializerMethodField()

    class Meta:
        model = Snapshot
        fields = [
            "id", "rule", "rule_name", "rule_spec", "format", "state", "message", "sha256", "size_bytes", "item_count",
            "counts", "balance", "created_at", "started_at", "finished_at", "download",
        ]  # fmt: skip

    def get_download(self, obj: Snapshot) -> str | None:
        return f"/api/v1/snapshots/{obj.pk}/download/" if obj.state == Snapshot.State.DONE else None


class SnapshotIn(serializers.Serializer):
    rule = id_field()
    format = serializers.ChoiceField(choices=["llava", "jsonl", "benchmark"], default="llava")


@extend_schema(
    methods=["GET"],
    parameters=[OpenApiParameter("rule", int, description="Only this rule's snapshots.")],
    responses={200: SnapshotOut(many=True), 400: Error, 403: Error},
)
@extend_schema(
    methods=["POST"], request=SnapshotIn,
    responses={200: SnapshotOut, 202: SnapshotOut, 400: Error, 403: Error, 404: Error, 422: Error},
)
@api_view(["GET", "POST"])
@throttle_classes([ApiThrottle, BuildThrottle])
def snapshots(request: Request) -> Response:
    """List snapshots, or ask for one to be built (202; the same rule already building: 200, that job)."""
    if request.method == "GET":
        require_role(request.user, *READERS)
        query = filters(request, {"rule": None})
        rule_id = parse_id("rule", query["rule"]) if "rule" in query else None
        queryset = Snapshot.objects.select_related("rule")
        if rule_id is not None:
            queryset = queryset.filter(rule_id=rule_id)
        return Response(SnapshotOut(queryset[:500], many=True).data)
    require_role(request.user, ADMIN)
    data = SnapshotIn(data=request.data)
    if not data.is_valid():
        return first_error(data)
    found = FilterRule.objects.filter(pk=data.validated_data["rule"]).first()
    if found is None:
        return error(404, f"no filter rule {data.validated_data['rule']}", "rule")
    snapshot, created = request_snapshot(found, data.validated_data["format"], created_by=request.user)
    return Response(SnapshotOut(snapshot).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


@extend_schema(responses={200: SnapshotOut, **ERRORS})
@api_view(["GET"])
def snapshot(request: Request, snapshot_id: int) -> Response:
    """A snapshot's state, hash, counts and balance report."""
    require_role(request.user, *READERS)
    found = Snapshot.objects.select_related("rule").filter(pk=snapshot_id).first()
    if found is None:
        return error(404, f"no snapshot {snapshot_id}", "snapshot_id")
    return Response(SnapshotOut(found).data)


@extend_schema(
    responses={
        (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The whole file."),
        (206, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The asked byte range."),
        (409, "application/json"): OpenApiResponse(Error, description="Still building (or failed): its state."),
        (416, "application/json"): OpenApiResponse(
            Error, description="A bytes range that is malformed or lies outside the file (another unit is ignored)."
        ),
        **{(code, "application/json"): body for code, body in ERRORS.items()},
    }
)
@api_view(["GET"])
def snapshot_file(request: Request, snapshot_id: int):
    """The snapshot's file, streamed from disk; resumable with `Range: bytes=N-`."""
    require_role(request.user, *READERS)
    found = Snapshot.objects.filter(pk=snapshot_id).first()
    if found is None:
        return error(404, f"no snapshot {snapshot_id}", "snapshot_id")
    if found.state != Snapshot.State.DONE:
        return error(409, f"snapshot {snapshot_id} is {found.state}; its file is not ready", state=found.state,
                      message=found.message)  # fmt: skip
    return snapshot_download(request, found)
