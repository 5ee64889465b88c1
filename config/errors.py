"""Error pages a user can live with: 403, 404, 405 and 500 inside the site's layout, saying what
happened and where to go; API paths and clients asking for JSON get JSON instead.

handler403/404/500 in config/urls.py point here (Django calls them when DEBUG is off);
MethodNotAllowedPage (settings.MIDDLEWARE) turns the empty 405 of `require_GET` /
`require_POST` into the page, on any DEBUG setting.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.template import loader

from accounts.roles import role_of

DETAIL = {
    403: "You do not have permission to do this.",
    404: "Not found.",
    405: "Method not allowed.",
    500: "Server error.",
}


def wants_json(request: HttpRequest) -> bool:
    """API paths always answer JSON; elsewhere, a client that asks for JSON and not HTML."""
    if request.path.startswith("/api/"):
        return True
    return "application/json" in request.headers.get("Accept", "") and not request.accepts("text/html")


def _page(request: HttpRequest, status: int, template: str, reason: str = "", **context) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": reason or DETAIL[status]}, status=status)
    context = {"reason": reason, "role": role_of(request.user) if hasattr(request, "user") else None, **context}
    return render(request, template, context, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # require_role's message says which role was needed and which the user has.
    return _page(request, 403, "403.html", str(exception or ""))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Http404's own message is for developers ("No Campaign matches the given query."); the page
    # names the path instead.
    return _page(request, 404, "404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request's context: no session, user or database read, which may be what failed."""
    if wants_json(request):
        return JsonResponse({"detail": DETAIL[500]}, status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)


class MethodNotAllowedPage:
    """The 405 page for a browser that GETs a form's POST address (or the reverse); on API
    paths a JSON body naming the allowed methods instead of require_GET/POST's empty one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
            reason = f"Method {request.method} not allowed here; this address answers {', '.join(allowed)}."
            page = _page(request, 405, "405.html", reason, allowed=allowed, method=request.method)
            page["Allow"] = response["Allow"]
            return page
        return response
