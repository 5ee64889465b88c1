"""Cursor pages for big tables: stable under inserts, no COUNT, in id order."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response


class Pages(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


PAGE_PARAMS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from `next` / `previous`."),
    OpenApiParameter("page_size", int, description="Rows per page (at most 1000)."),
]
"""The paging query parameters, for ``extend_schema(parameters=...)``; api/query.py lets them through."""


def page(request: Request, queryset: QuerySet, serializer: type[serializers.Serializer],
         context: dict[str, Any] | None = None) -> Response:  # fmt: skip
    """The page of ``queryset`` the request's cursor points to: ``{"next", "previous", "results"}``."""
    paginator = Pages()
    rows = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response(serializer(rows, many=True, context=context or {}).data)


def page_schema(name: str, serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A page of ``serializer`` rows, for the schema (drf-spectacular)."""
    return type(name, (serializers.Serializer,), {
        "next": serializers.URLField(allow_null=True), "previous": serializers.URLField(allow_null=True),
        "results": serializer(many=True),
    })  # fmt: skip
