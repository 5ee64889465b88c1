"""POST api/audit/assignments/<id>/grade-next/: grade, and get the next item, without DRF.

The grading page's hot path (static/audit/grade.js) and the benchmark's
(bench/audit_bench.py). Same rules and shapes as the DRF endpoint api.grade
(audit/api.py), which stays the documented API contract; this one skips DRF's
request, parser, serializer and renderer layers, reads the token, the user and their
role in one prepared statement, and answers with orjson. Session requests (the page)
are checked for CSRF exactly as DRF's SessionAuthentication does; token requests need
no CSRF token, as in DRF.

Body: {"grade", "categories"?, "post_edit"?, "comment"?, "seconds"?, "next"?: bool,
"exclude"?: [assignment ids], "key"?: UUID}. Answers 201 {"assessment", "grade", "progress", "next"?},
or 4xx {"detail", "field"?}. A retry with the key of a grade already stored answers that grade (201).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from accounts.access import check_role
from accounts.roles import ANNOTATOR, role_from, role_of
from config.database import is_postgresql
from config.inputs import MAX_ID, BadInput, check_tree

from . import prepared
from .grade_next import grade_and_next
from .grading import GradingError

TOKEN_SQL = """
SELECT u.id, u.username, u.is_active, u.is_superuser,
       ARRAY(SELECT g.name FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id WHERE ug.user_id = u.id)
  FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id
 WHERE t.key = %(key)s
"""


def _json(status: int, body: dict[str, Any] | None) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def _refuse(status: int, detail: str, field: str | None = None) -> HttpResponse:
    return _json(status, {"detail": detail, **({"field": field} if field else {})})


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _user_and_role(request: HttpRequest) -> tuple[User, str | None]:
    """Token first (one query), else the session (with DRF's CSRF check); _Refused if neither."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme != "Token" or not key or " " in key:
            raise _Refused(_refuse(403, "Invalid token header."))
        if is_postgresql():
            row = prepared.run(TOKEN_SQL, {"key": key}).fetchone()
            if row is None or not row[2]:
                raise _Refused(_refuse(403, "Invalid token."))
            return User(pk=row[0], username=row[1], is_active=True, is_superuser=row[3]), role_from(row[3], row[4])
        token = Token.objects.select_related("user").filter(key=key).first()
        if token is None or not token.user.is_active:
            raise _Refused(_refuse(403, "Invalid token."))
        return token.user, role_of(token.user)
    user = request.user
    if not user.is_authenticated:
        raise _Refused(_refuse(403, "Authentication credentials were not provided."))
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason is not None:  # a 403 response: the page must send its CSRF token
        raise _Refused(_refuse(403, "CSRF Failed: the request carried no valid CSRF token."))
    return user, role_of(user)


def _input(raw: bytes) -> tuple[dict[str, Any], bool, set[int]]:
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise GradingError(400, f"the body is not JSON: {exc}", "body") from None
    if not isinstance(data, dict):
        raise GradingError(400, "the body must be a JSON object", "body")
    try:  # depth and control characters, as DRF's parser checks them (config/inputs.py)
        check_tree(data)
    except BadInput as bad:
        raise GradingError(400, bad.detail, bad.field) from None
    want_next = data.get("next", False)
    if not isinstance(want_next, bool):
        raise GradingError(400, "next must be true or false", "next")
    exclude = data.get("exclude") or []
    if not isinstance(exclude, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= MAX_ID for x in exclude
    ):
        raise GradingError(400, "exclude must be a list of assignment ids", "exclude")
    return data, want_next, set(exclude)


@csrf_exempt  # checked in _user_and_role for session requests only, as DRF does
@require_POST
def grade_next(request: HttpRequest, assignment_id: int) -> HttpResponse:
    try:
        user, role = _user_and_role(request)
        check_role(role, ANNOTATOR)
        data, want_next, exclude = _input(request.body)
        body = grade_and_next(assignment_id, data, annotator=user, want_next=want_next, exclude=exclude)
    except _Refused as refused:
        return refused.response
    except PermissionDenied as exc:
        return _refuse(403, str(exc))
    except GradingError as exc:  # the body api/handler.py gives any FieldError under DRF
        return _json(exc.status, exc.as_body())
    return _json(201, body)
