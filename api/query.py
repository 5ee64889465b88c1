"""Query-parameter filters, checked: what a list endpoint accepts is declared once, as data."""

from __future__ import annotations

from rest_framework.request import Request

from config.inputs import check_query

from .errors import FieldError

PAGING = ("cursor", "page_size")
"""Read by the paginator (api/pages.py), never filters."""


def filters(request: Request, allowed: dict[str, tuple[str, ...] | None]) -> dict[str, str]:
    """The request's filters: name -> value, each name in ``allowed`` and each value among its choices
    (None: any text). An unknown name or value, or a control character, is a 400 naming the parameter."""
    values: dict[str, str] = {}
    for key, value in check_query(request).items():
        if key in PAGING:
            continue
        if key not in allowed:
            raise FieldError(f"unknown filter {key!r}; known filters: {', '.join(sorted(allowed))}", key)
        choices = allowed[key]
        if choices is not None and value not in choices:
            raise FieldError(f"unknown value {value!r} for {key}; expected one of: {', '.join(choices)}", key)
        values[key] = value
    return values
