"""The one place an API error becomes a response: REST_FRAMEWORK["EXCEPTION_HANDLER"].

A FieldError (api/errors.py) raised anywhere under a DRF view, by the view or by a service
it calls (config/inputs.py's BadInput included: a refused id, integer or query parameter), is
answered ``{"detail", "field"}`` with the error's status. Anything
else is DRF's (authentication, permissions, throttling, serializer errors raised with
``raise_exception=True``), unchanged.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .errors import FieldError


class Error(serializers.Serializer):
    """The error body, for the schema (drf-spectacular)."""

    detail = serializers.CharField()
    field = serializers.CharField(required=False, allow_null=True)


ERRORS = {400: Error, 403: Error, 404: Error}
"""The refusals most endpoints may answer, for ``extend_schema(responses=...)``."""


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, FieldError):
        set_rollback()  # as DRF does for its own errors: nothing the request wrote is kept
        return Response(exc.as_body(), status=exc.status)
    return drf_exception_handler(exc, context)
