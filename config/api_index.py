"""/api/ and /api/v1/: what the API has, as JSON (instead of a bare 404, or with DEBUG on,
Django's debug page listing the whole URLconf). Public: it names addresses, nothing more;
every endpoint it lists asks for a session or a token itself."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET


def _links(request: HttpRequest, names: dict[str, str]) -> dict[str, str]:
    return {key: request.build_absolute_uri(reverse(name)) for key, name in names.items()}


DOCS = {"schema": "export:api_schema", "docs": "export:api_docs"}

V1 = {
    "datasets": "export:api_datasets",
    "items": "export:api_items",
    "translations": "export:api_translations",
    "assessments": "export:api_assessments",
    "rules": "export:api_rules",
    "snapshots": "export:api_snapshots",
    "translation_jobs": "translation:api_jobs",
    "training_jobs": "training:api_training_job-list",
    "evaluations": "evaluation:api_evaluations",
    "results": "evaluation:api_results",
}

AUDIT = {
    "campaigns": "audit:api_campaigns",
    "my_grades": "audit:api_my_grades",
}


@require_GET
def api_root(request: HttpRequest) -> JsonResponse:
    return JsonResponse({
        "versions": {"v1": request.build_absolute_uri(reverse("api_v1_root"))},
        "audit": _links(request, AUDIT),
        **_links(request, DOCS),
        "authentication": "a session (log in at /accounts/login/) or a header 'Authorization: Token <key>'",
    })  # fmt: skip


@require_GET
def api_v1_root(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"endpoints": _links(request, V1), **_links(request, DOCS)})
