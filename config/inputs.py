"""Checking what a request carries before it reaches the database: ids, integers, text, JSON depth.

Every API view that reads an id, a query parameter or text goes through here, so a bad
input is a 400 `{"detail", "field"}` naming the field, never a 500 from the database
(PostgreSQL refuses NUL in text and integers past its column width) or from Python
(`int("²")`, a RecursionError on JSON nested thousands deep). The rules:

- ids and integers: ASCII digits only (`"²".isdigit()` is true, `int("²")` fails), within
  stated bounds (ids 1..2^63-1, counts within their column);
- text: no C0 control character but tab, newline and carriage return (NUL above all);
- JSON bodies: at most MAX_DEPTH levels deep, every string and key checked as text.

The DRF parsers below are registered in settings.REST_FRAMEWORK, so every DRF body is
checked before a view sees it; audit/api_grade_next.py (orjson, no DRF) calls check_tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import FieldError

MAX_ID = 2**63 - 1
"""Ids are bigint-sized at most; a larger number is no id of ours."""
MAX_INT = 2**31 - 1
"""An integer column (PostgreSQL `integer`); PositiveSmallIntegerField columns need SMALL."""
MAX_SMALL = 2**15 - 1
MAX_DEPTH = 64
"""Deepest JSON a request body may nest; our deepest real body (a rule spec) has 3 levels."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class BadInput(FieldError, ValueError):
    """A request value we refuse: a 400 naming ``field`` (api/handler.py renders it)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, field)
        self.detail = detail


def error(code: int, detail: str, field: str | None = None, **extra: Any) -> Response:
    """The API's error body, `{"detail", "field"?, ...}`."""
    body: dict[str, Any] = {"detail": detail, **extra}
    if field:
        body["field"] = field
    return Response(body, status=code)


def first_error(serializer: serializers.Serializer) -> Response:
    """A 400 naming the first field a DRF serializer refused."""
    field, messages = next(iter(serializer.errors.items()))
    message = messages[0] if isinstance(messages, list) and messages else str(messages)
    return error(400, f"{field}: {message}", field)


def parse_int(field: str, value: str, *, low: int = 0, high: int = MAX_INT) -> int:
    """An integer written in ASCII digits (a leading minus only when ``low`` < 0), within [low, high]."""
    text = value[1:] if value.startswith("-") and low < 0 else value
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise BadInput(field, f"{field} must be a whole number between {low} and {high}, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise BadInput(field, f"{field} must be a whole number between {low} and {high}, got {value!r}")
    return number


def parse_id(field: str, value: str) -> int:
    """A row id: ASCII digits, 1..2^63-1."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or not 1 <= int(value) <= MAX_ID:
        raise BadInput(field, f"expected a positive integer id, got {value!r}")
    return int(value)


def check_text(field: str, value: str) -> str:
    """The text itself, unless it holds a C0 control character other than tab, newline, carriage return."""
    found = _CONTROL.search(value)
    if found:
        raise BadInput(field, f"{field} holds the control character U+{ord(found.group()):04X} at "
                              f"position {found.start()}; remove it")  # fmt: skip
    return value


def check_tree(data: Any, field: str = "body", *, max_depth: int = MAX_DEPTH) -> Any:
    """Parsed JSON, unless deeper than ``max_depth`` or holding a bad string or key (the field path named)."""
    stack: list[tuple[Any, str, int]] = [(data, field, 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            check_text(path, value)
        elif isinstance(value, (dict, list)):
            if depth > max_depth:
                raise BadInput(field, f"{field} nests deeper than {max_depth} levels")
            pairs: Iterable[tuple[Any, Any]] = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in pairs:
                child_path = f"{key}" if depth == 1 and field == "body" else f"{path}.{key}"
                if isinstance(key, str):
                    check_text(child_path, key)
                stack.append((child, child_path, depth + 1))
    return data


def check_query(request: Request, names: Iterable[str] | None = None) -> Mapping[str, str]:
    """The query parameters (all, or ``names``), each checked as text."""
    for key, values in request.query_params.lists():
        check_text("query parameter name", key)
        if names is None or key in names:
            for value in values:
                check_text(key, value)
    return request.query_params


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A serializer field for a row id."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def count_field(*, high: int = MAX_INT, low: int = 1, **kwargs: Any) -> serializers.IntegerField:
    """A serializer field for a count stored in an integer column (``high``: the column's limit)."""
    return serializers.IntegerField(min_value=low, max_value=high, **kwargs)


class InvalidBody(ParseError):
    """A refused body, with the API's error shape (DRF renders a dict detail as the body)."""

    def __init__(self, bad: BadInput) -> None:
        super().__init__({"detail": bad.detail, "field": bad.field})


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus the depth and text checks (a RecursionError would be a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidBody(BadInput("body", f"body nests deeper than {MAX_DEPTH} levels")) from None
        try:
            return check_tree(data)
        except BadInput as bad:
            raise InvalidBody(bad) from None


class _CheckedForm:
    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        parsed = super().parse(stream, media_type, parser_context)  # type: ignore[misc]
        data = getattr(parsed, "data", parsed)
        try:
            for key, values in data.lists():
                check_text("field name", key)
                for value in values:
                    check_text(key, value)
        except BadInput as bad:
            raise InvalidBody(bad) from None
        return parsed


class FormParser(_CheckedForm, parsers.FormParser):
    pass


class MultiPartParser(_CheckedForm, parsers.MultiPartParser):
    pass


